"""Batch routes are bounded: past their wall-clock limit they stop between units of work and
say so (503 time_limit_exceeded, naming the limit); allocation answers carry the solver's
honest status; the metrics count allocations and never grow a series per odd request."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

import matcher.batch.deadline as deadline_module
from matcher.batch.deadline import Deadline
from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.sufficiency import analyse
from matcher.cli.main import main
from matcher.http.examples import ALLOCATE, SUFFICIENCY
from matcher.match.request import ShortlistRequest
from matcher.settings import Settings
from matcher.vocabulary.errors import TimeLimitExceededError
from tests.test_http_helpers import TestClient, client_for, small_snapshot

TINY_S = 1e-6  # already past when the work first looks at the clock


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every metric sample the app exposes: (name, labels) -> value."""
    text = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def assert_time_limit_body(body: dict[str, Any], limit_s: float, stage: str) -> None:
    error = body["error"]
    assert error["code"] == "time_limit_exceeded"
    assert f"time limit of {limit_s:g} s" in error["message"]
    assert error["details"][0]["time_limit_s"] == limit_s
    assert error["details"][0]["stage"] == stage


def test_sufficiency_past_its_limit_is_a_503_naming_the_limit() -> None:
    with client_for(sufficiency_time_limit_s=TINY_S) as client:
        r = client.post("/v1/sufficiency", json=SUFFICIENCY)
    assert r.status_code == 503
    assert_time_limit_body(r.json(), TINY_S, "resolving referrals")
    with client_for() as client:  # the default limit: answered
        assert client.post("/v1/sufficiency", json=SUFFICIENCY).status_code == 200


def test_sufficiency_looks_at_the_clock_between_units_of_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fake clock that advances 1 ms per reading: 1,200 referrals are resolved (three
    readings, every 500) and then the limit passes while the units are evaluated, each
    thread stopping at its next unit: the error names that stage."""
    ticks = itertools.count()
    monkeypatch.setattr(deadline_module.time, "monotonic", lambda: next(ticks) / 1000)
    requests = [ShortlistRequest.model_validate(b) for b in generate_referrals(1200, seed=5)]
    deadline = Deadline.start(0.02, "sufficiency")  # 20 readings
    with pytest.raises(TimeLimitExceededError) as info:
        analyse(small_snapshot().index, requests, [20.0, 50.0], 200.0, deadline=deadline)
    assert info.value.stage == "evaluating referrals"
    assert 20 <= next(ticks) < 60  # stopped soon after the limit, not after every unit


def test_allocation_not_ranked_in_time_is_a_503_over_http_and_in_the_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with client_for(allocation_time_limit_s=TINY_S) as client:
        r = client.post("/v1/allocate", json=ALLOCATE)
        assert r.status_code == 503
        assert_time_limit_body(r.json(), TINY_S, "ranking bids")
        assert "0 of 2 referrals ranked" in r.json()["error"]["message"]
        counted = samples(client)
    assert counted[("matcher_allocations_total", (("status", "time_limit_exceeded"),))] == 1
    monkeypatch.setenv("MATCHER_ALLOCATION_TIME_LIMIT_S", str(TINY_S))
    request = tmp_path / "allocate.json"
    request.write_text(json.dumps(ALLOCATE))
    assert main(["allocate", str(request)]) == 1
    assert_time_limit_body(json.loads(capsys.readouterr().err), TINY_S, "ranking bids")


def test_an_allocation_answer_states_its_status_and_is_counted() -> None:
    """Optimal within the default limit: the solver block says so stage by stage; the
    metrics count it and its solve time; Server-Timing splits ranking and solving."""
    with client_for() as client:
        r = client.post("/v1/allocate", json=ALLOCATE)
        assert r.status_code == 200, r.text
        solver = r.json()["solver"]
        counted = samples(client)
    assert solver["status"] == "optimal" and solver["time_limit_s"] == 10.0
    assert solver["stopped_in"] is None
    assert [s["measure"] for s in solver["stages"]] == [
        "children_placed", "total_cost_gbp", "total_score",
    ]  # fmt: skip
    assert all(s["status"] == "optimal" and s["gap"] == 0.0 for s in solver["stages"])
    assert solver["guarantee"].startswith("most children placed: proven (")
    timing = r.headers["server-timing"]
    assert "rank;dur=" in timing and "solve;dur=" in timing
    assert counted[("matcher_allocations_total", (("status", "optimal"),))] == 1
    assert counted[("matcher_allocations_total", (("status", "time_limit"),))] == 0
    solve_count = ("matcher_allocation_solve_seconds_count", (("status", "optimal"),))
    assert counted[solve_count] == 1


def test_time_limits_are_settings_validated_and_published() -> None:
    with pytest.raises(ValidationError):
        Settings(allocation_time_limit_s=0)
    with pytest.raises(ValidationError):
        Settings(sufficiency_time_limit_s=-1)
    with client_for(allocation_time_limit_s=4.5) as client:
        limits = client.get("/v1/catalogue").json()["limits"]
    assert limits["allocation_time_limit_s"] == 4.5
    assert limits["sufficiency_time_limit_s"] == 60.0


async def _flood(app: Any, requests: list[tuple[str, str]]) -> list[int]:
    """Send each (method, path) straight to the ASGI app (TestClient costs ~5 ms each)."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for method, path in requests:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": [(b"host", b"test")],
            "client": ("127.0.0.1", 50000), "server": ("test", 80),
        }  # fmt: skip
        await app(scope, receive, send)
    return statuses


def test_unknown_paths_and_random_methods_create_no_new_metric_series() -> None:
    """3,000 requests to random unknown paths with random method tokens (a tenth to a real
    route): the metric series after them are those after one of each kind."""
    rng = random.Random(19)

    def token(n: int) -> str:
        return "".join(rng.choices(string.ascii_uppercase, k=n))

    flood = [
        (token(rng.randint(3, 12)), f"/{token(6).lower()}/{i}" if i % 10 else "/v1/shortlist")
        for i in range(3000)
    ]
    with client_for() as client:
        client.request("BREW", "/no/such/path")
        client.request("BREW", "/v1/shortlist")
        client.get("/metrics")
        before = set(samples(client))
        statuses = asyncio.run(_flood(client.app, flood))
        after = samples(client)
    assert set(statuses) <= {404, 405} and len(statuses) == 3000
    assert set(after) == before
    unmatched = ("matcher_http_requests_total",
                 (("method", "other"), ("route", "<unmatched>"), ("status", "404")))  # fmt: skip
    assert after[unmatched] >= 2700
