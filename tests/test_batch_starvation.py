"""Batch work does not starve the quick routes: a real `matcher serve --workers 2`, one worker
held by the issue's allocation (500 referrals x 20,000 bids, budgeted max_match) at a 5 s
limit, while a client on the *other* worker measures `/v1/shortlist` latency."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from benchmarks.batch import allocation_case
from matcher.service import Matcher, load_snapshot
from tests.test_http_helpers import shortlist_body, wait_until, write_registry
from tests.test_http_server import serve

pytestmark = pytest.mark.slow

LIMIT_S = 5.0
SLACK_S = 2.0  # HiGHS and the ranking look at the clock between units; upload and answer
P99_MS = 50.0


def workers(supervisor: psutil.Process) -> list[psutil.Process]:
    """The live spawned workers of a `matcher serve --workers N` supervisor."""
    found = []
    for child in supervisor.children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def owner(pool: list[psutil.Process], client_port: int) -> psutil.Process | None:
    """The worker holding the server end of the connection from `client_port`."""
    for worker in pool:
        for conn in worker.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == client_port:
                return worker
    return None


def the_issues_request() -> bytes:
    """500 residential referrals from five dense authorities, up to 40 bids each within 40
    miles (20,000 in all, on the embedded registry's listings), max_match within a budget
    that binds (about 0.8 x the greedy cheapest plan)."""
    req = allocation_case(Matcher(load_snapshot(None)), 500, 40, seed=500, radius_miles=40.0)
    update = {"objective": "max_match", "budget_gbp": "46000000.00"}
    return req.model_copy(update=update).model_dump_json(exclude_defaults=True).encode()


def test_shortlist_p99_on_the_other_worker_stays_under_50_ms_during_a_held_allocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The allocation answers within its limit (the best plan found, status time_limit, or
    503 time_limit_exceeded if ranking did not finish), and meanwhile a kept-alive
    connection on the other worker sees shortlist p99 < 50 ms."""
    body = the_issues_request()
    assert body.count(b'"bid_id"') == 20_000
    registry = tmp_path / "registry.json"
    write_registry(registry, 5000, seed=2019)  # the embedded registry, as a file
    monkeypatch.setenv("MATCHER_ALLOCATION_TIME_LIMIT_S", str(LIMIT_S))
    with serve(tmp_path, registry, "--workers", "2") as served:
        pool = wait_until(lambda: len(w := workers(psutil.Process(served.proc.pid))) == 2 and w,
                          timeout_s=60)  # fmt: skip
        host, port = "127.0.0.1", int(served.url.rsplit(":", 1)[1])
        shortlist = json.dumps(shortlist_body()).encode()
        headers = {"content-type": "application/json"}

        quick = http.client.HTTPConnection(host, port, timeout=10)  # warm both paths
        quick.request("POST", "/v1/shortlist", shortlist, headers)
        assert quick.getresponse().read() and quick.sock is not None
        quick.close()

        outcome: dict[str, Any] = {}
        busy = http.client.HTTPConnection(host, port, timeout=LIMIT_S + 30)
        busy.connect()
        assert busy.sock is not None
        busy_port = busy.sock.getsockname()[1]

        def allocate() -> None:
            started = time.monotonic()
            busy.request("POST", "/v1/allocate", body, headers)
            response = busy.getresponse()
            outcome.update(status=response.status, body=json.loads(response.read()),
                           seconds=time.monotonic() - started)  # fmt: skip

        thread = threading.Thread(target=allocate)
        thread.start()
        held = wait_until(lambda: owner(pool, busy_port), timeout_s=5)
        other = None
        for _ in range(40):  # connect until one lands on the other worker
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.connect()
            assert conn.sock is not None
            local = conn.sock.getsockname()[1]
            if wait_until(lambda: owner(pool, local), timeout_s=5).pid != held.pid:  # noqa: B023
                other = conn
                break
            conn.close()
        assert other is not None, "no connection landed on the free worker"

        latencies_ms: list[float] = []
        deadline = time.monotonic() + LIMIT_S + SLACK_S + 5
        while thread.is_alive() and time.monotonic() < deadline and len(latencies_ms) < 3000:
            started = time.perf_counter()
            other.request("POST", "/v1/shortlist", shortlist, headers)
            response = other.getresponse()
            response.read()
            latencies_ms.append((time.perf_counter() - started) * 1000)
            assert response.status == 200
        thread.join(timeout=30)
        other.close()
        busy.close()

    assert not thread.is_alive()
    assert outcome["seconds"] < LIMIT_S + SLACK_S, outcome["seconds"]
    if outcome["status"] == 200:
        solver = outcome["body"]["solver"]
        assert solver["time_limit_s"] == LIMIT_S
        if solver["status"] == "time_limit":
            assert solver["stopped_in"] is not None and "best found" in solver["guarantee"]
    else:
        assert outcome["status"] == 503, outcome
        assert outcome["body"]["error"]["code"] == "time_limit_exceeded"
        assert outcome["body"]["error"]["details"][0]["time_limit_s"] == LIMIT_S
    assert len(latencies_ms) >= 50, len(latencies_ms)
    ordered = sorted(latencies_ms)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(
        f"held allocation: {outcome['status']} in {outcome['seconds']:.2f} s; shortlist on the "
        f"other worker: {len(ordered)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {ordered[-1]:.1f} ms"
    )
    assert p99 < P99_MS, (p50, p99, ordered[-5:])
