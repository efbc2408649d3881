"""One error body for every failure of every route, limits (413, bids, radius), and 500s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from hypothesis import given
from hypothesis import strategies as st

from matcher.http.schemas import ErrorBody
from matcher.service import Matcher
from tests.test_http_helpers import (
    TestClient,
    captured_logs,
    client_for,
    rank_body,
    shortlist_body,
)

ADMIN = "admin-token-for-tests"
KEY = "client-key-for-tests"
KEYED = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """Every route registered: admin token and client keys both set."""
    with client_for(admin_token=ADMIN, api_keys=KEY, max_body_bytes=4096) as c:
        yield c


def assert_canonical(r: Any, status: int) -> dict[str, Any]:
    """The response is the canonical error body with `status`; returns its `error`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    ErrorBody.model_validate(body)  # exactly {"error": {"code", "message", "details"}}
    err: dict[str, Any] = body["error"]
    assert set(err) == {"code", "message", "details"}
    assert re.fullmatch(r"[a-z][a-z_]*", err["code"])
    assert err["message"]
    for d in err["details"]:
        assert isinstance(d["field"], str) and d["field"]
        assert isinstance(d["reason"], str) and d["reason"]
    if 400 <= status < 500:
        assert err["details"], "a 4xx names the offending field"
    return err


BAD = "{not json"

# (method, route template, request path, request kwargs, expected status, expected code)
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # matching: malformed JSON, a wrong field, a too-large body
    ("POST", "/v1/shortlist", "/v1/shortlist", {"content": BAD}, 422, "invalid_request"),
    ("POST", "/v1/rank", "/v1/rank", {"json": {"bids": []}}, 422, "invalid_request"),
    ("POST", "/v1/rank/compare", "/v1/rank/compare", {"json": []}, 422, "invalid_request"),
    # batch: no referrals, an unknown objective
    ("POST", "/v1/allocate", "/v1/allocate", {"json": {"referrals": []}}, 422, "invalid_request"),
    ("POST", "/v1/sufficiency", "/v1/sufficiency", {"json": {"referrals": [], "radii_miles": [0]}},
     422, "invalid_request"),
    ("POST", "/v1/feedback/market", "/v1/feedback/market", {"json": {"requests": []}}, 422,
     "invalid_request"),
    # geography: unknown names and codes
    ("GET", "/v1/authorities", "/v1/authorities?q=Nowhereshire", {}, 422, "unknown_authority"),
    ("GET", "/v1/authorities/{code}/boundary", "/v1/authorities/E0/boundary", {}, 404,
     "not_found"),
    ("GET", "/v1/locate", "/v1/locate?q=ZZ99", {}, 422, "unknown_location"),
    # reference and operations: a method the route does not have
    ("GET", "/v1/registry", "/v1/registry", {"method": "DELETE"}, 405, "method_not_allowed"),
    ("GET", "/v1/catalogue", "/v1/catalogue", {"method": "POST"}, 405, "method_not_allowed"),
    ("GET", "/healthz", "/healthz", {"method": "POST"}, 405, "method_not_allowed"),
    ("GET", "/readyz", "/readyz", {"method": "PUT"}, 405, "method_not_allowed"),
    ("GET", "/metrics", "/metrics", {"method": "POST"}, 405, "method_not_allowed"),
    # admin: no credentials
    ("POST", "/v1/admin/reload", "/v1/admin/reload", {"no_key": True}, 401, "unauthorized"),
]  # fmt: skip

DOC_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_route_has_a_bad_input_case(client: TestClient) -> None:
    """Adding a route without adding it to CASES fails here."""
    app: Any = client.app
    routes = {
        (sorted(r.methods or ())[0], r.path)
        for r in (rc.original_route for rc in iter_route_contexts(app.routes))
        if isinstance(r, APIRoute) and r.path not in DOC_ROUTES
    }
    assert routes == {(m, t) for m, t, *_ in CASES}


@pytest.mark.parametrize(("method", "template", "path", "kwargs", "status", "code"), CASES)
def test_every_route_answers_bad_input_with_the_canonical_body(
    client: TestClient,
    method: str,
    template: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    kwargs = dict(kwargs)
    verb = kwargs.pop("method", method)
    headers = {} if kwargs.pop("no_key", False) else dict(KEYED)
    r = client.request(verb, path, headers=headers, **kwargs)
    assert assert_canonical(r, status)["code"] == code


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"method": "GET", "url": "/no/such/route"}, 404, "not_found"),  # unknown path
        ({"method": "GET", "url": "/v1/locate"}, 422, "invalid_request"),  # q missing
        ({"method": "GET", "url": "/v1/locate?q=BT1"}, 422, "outside_coverage"),  # NI
        ({"method": "POST", "url": "/v1/shortlist", "content": b""}, 422, "invalid_request"),
        ({"method": "POST", "url": "/v1/shortlist", "content": b"x" * 5000}, 413,
         "payload_too_large"),  # by Content-Length
        ({"method": "POST", "url": "/v1/shortlist", "content": iter([b"x" * 3000] * 2)}, 413,
         "payload_too_large"),  # chunked: counted while streaming
        ({"method": "GET", "url": "/v1/catalogue", "headers": {"X-API-Key": "wrong"}}, 403,
         "forbidden"),
    ],
)  # fmt: skip
def test_other_failures_use_the_canonical_body(
    client: TestClient, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    kwargs = dict(request_kwargs)
    kwargs.setdefault("headers", KEYED)
    r = client.request(**kwargs)
    assert assert_canonical(r, status)["code"] == code


def test_validation_errors_name_each_field_and_never_echo_values(client: TestClient) -> None:
    body = shortlist_body(child={"age": "fourteen-ish", "gender": "boy", "needs": []})
    r = client.post("/v1/shortlist", json=body, headers=KEYED)
    err = assert_canonical(r, 422)
    fields = {d["field"] for d in err["details"]}
    assert {"child.age", "child.gender"} <= fields
    assert "fourteen-ish" not in r.text
    assert '"boy"' not in r.text and "'boy'" not in r.text


def test_too_many_bids_is_422_limit_exceeded() -> None:
    with client_for(max_bids=2) as c:
        r = c.post("/v1/rank", json=rank_body(c, count=3))
    err = assert_canonical(r, 422)
    assert err["code"] == "limit_exceeded"
    assert err["details"][0]["field"] == "bids"
    assert err["details"][0]["limit"] == 2


def test_radius_above_the_maximum_is_422_limit_exceeded() -> None:
    with client_for(max_radius_miles=25) as c:
        r = c.post("/v1/shortlist", json=shortlist_body(max_distance_miles=30))
    err = assert_canonical(r, 422)
    assert err["code"] == "limit_exceeded"
    assert err["details"][0]["field"] == "max_distance_miles"


def test_body_at_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    raw = json.dumps(shortlist_body()).encode()
    padded = raw[:-1] + b" " * (2048 - len(raw)) + b"}"
    assert len(padded) == 2048
    with client_for(max_body_bytes=2048) as c:
        assert c.post("/v1/shortlist", content=padded).status_code == 200
        assert c.post("/v1/shortlist", content=padded + b" ").status_code == 413


def test_batch_routes_take_bodies_above_the_request_limit_up_to_their_own() -> None:
    """A year of referrals is megabytes: /v1/sufficiency takes a body over
    `max_body_bytes` up to `max_batch_body_bytes`; single-referral routes keep the small
    limit; the 413 names the limit that applies."""
    one = shortlist_body(explain=False)
    referrals = [dict(one, referral_id=f"R-{i:05d}") for i in range(40)]
    raw = json.dumps({"referrals": referrals}).encode()
    assert 4096 < len(raw) < 32_768
    with client_for(max_body_bytes=4096, max_batch_body_bytes=32_768) as c:
        answer = c.post("/v1/sufficiency", content=raw)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["referrals"]) == 40
        too_big = json.dumps({"referrals": referrals * 20}).encode()
        err = assert_canonical(c.post("/v1/sufficiency", content=too_big), 413)
        assert err["details"][0]["limit"] == 32_768
        padded = json.dumps(one).encode()[:-1] + b" " * 5000 + b"}"
        err = assert_canonical(c.post("/v1/shortlist", content=padded), 413)
        assert err["details"][0]["limit"] == 4096
        limits = c.get("/v1/catalogue").json()["limits"]
        assert (limits["max_body_bytes"], limits["max_batch_body_bytes"]) == (4096, 32_768)


def test_not_ready_is_503_until_a_snapshot_loads(tmp_path: Any) -> None:
    """The configured file is refused at start: alive, not ready, matching answers 503."""
    bad = tmp_path / "broken.json"
    bad.write_text('{"schema_version": 1, "generated_at": "2026-01-01T00:00:00Z"')
    from matcher.http.app import create_app
    from matcher.settings import Settings
    from tests.test_http_helpers import wait_until

    with TestClient(create_app(Settings(registry_path=bad))) as c:
        holder = c.app.state.services.holder  # type: ignore[attr-defined]
        wait_until(lambda: holder.last_error is not None, timeout_s=10)
        assert c.get("/healthz").status_code == 200
        err = assert_canonical(c.get("/readyz"), 503)
        assert err["code"] == "not_ready"
        assert err["details"][0]["reason"] == "last load failed: invalid_snapshot"
        assert_canonical(c.post("/v1/shortlist", json=shortlist_body()), 503)
        assert_canonical(c.get("/v1/registry"), 503)


def test_unexpected_exception_is_a_generic_500_without_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(self: Matcher, req: Any) -> Any:
        raise RuntimeError("secret detail: child aged 13")

    monkeypatch.setattr(Matcher, "shortlist_answer", boom)  # what the route calls
    with captured_logs() as logs, client_for() as c:
        r = c.post("/v1/shortlist", json=shortlist_body())
    err = assert_canonical(r, 500)
    assert err == {"code": "internal_error", "message": "internal server error", "details": []}
    assert "secret" not in logs.getvalue()
    assert "Traceback" not in r.text
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    crash = next(x for x in lines if x["msg"] == "unhandled exception")
    assert crash["exc_type"] == "builtins.RuntimeError"
    assert crash["route"] == "/v1/shortlist"
    access = next(x for x in lines if x["msg"] == "request")
    assert access["status"] == 500


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@given(doc=JSON)
def test_no_json_document_crashes_the_shortlist(client: TestClient, doc: Any) -> None:
    """Any JSON at all: 200 or a canonical 4xx, never a 500."""
    r = client.post("/v1/shortlist", content=json.dumps(doc), headers=KEYED)
    assert r.status_code != 500
    if r.status_code != 200:
        assert_canonical(r, r.status_code)
