"""The HTTP API's endpoints: happy paths, CLI parity, docs, catalogue, CORS, metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from matcher.batch.models import AllocateRequest
from matcher.bids.request import CompareRequest, RankRequest
from matcher.bids.weights import COMPONENTS, PROFILES
from matcher.boundary import parse_body
from matcher.http.catalogue import CatalogueOut
from matcher.http.schemas import AuthorityOut, BoundaryOut, LocateOut, ReadyOut, RegistryOut
from matcher.match.request import ShortlistRequest
from matcher.service import Matcher
from matcher.vocabulary.catalogue import LOTS_BY_DPV, Need
from matcher.vocabulary.reasons import REASON_DESCRIPTIONS
from tests.test_http_helpers import (
    TestClient,
    client_for,
    rank_body,
    shortlist_body,
    small_snapshot,
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """A client over the small snapshot with default settings."""
    with client_for() as c:
        yield c


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The same snapshot answered in-process, as the CLI does."""
    return Matcher(small_snapshot())


def test_shortlist_answers_eligible_listings(client: TestClient) -> None:
    r = client.post("/v1/shortlist", json=shortlist_body())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["referral_id"] == "R-TEST-1"
    assert body["snapshot_version"] == small_snapshot().version
    assert body["eligible_count"] >= 3
    assert body["placing_authority"]["code"] == "E09000015"


def test_server_timing_header_carries_the_matching_time(client: TestClient) -> None:
    r = client.post("/v1/shortlist", json=shortlist_body())
    name, _, dur = r.headers["server-timing"].partition(";dur=")
    assert name == "match"
    assert 0 < float(dur) < 10_000


def test_every_answer_has_a_request_id_and_a_safe_incoming_one_is_kept(
    client: TestClient,
) -> None:
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"


@pytest.mark.parametrize(
    ("path", "model", "method"),
    [
        ("/v1/shortlist", ShortlistRequest, "shortlist"),  # referral -> listings
        ("/v1/rank", RankRequest, "rank"),  # referral + bids -> ranking
        ("/v1/rank/compare", CompareRequest, "compare"),  # two weight choices
    ],
)
def test_http_answer_is_byte_identical_to_the_cli(
    client: TestClient, matcher: Matcher, path: str, model: Any, method: str
) -> None:
    """The CLI prints `model_dump_json()`; HTTP returns the very same bytes."""
    body: dict[str, Any] = shortlist_body()
    if path != "/v1/shortlist":
        body = rank_body(client, order_by="best_match")
    if path == "/v1/rank/compare":
        body = {"request": body, "a": {"profile": "cost_focused"}, "b": {"profile": "balanced"}}
    raw = json.dumps(body).encode()
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    expected = getattr(matcher, method)(parse_body(model, raw)).model_dump_json().encode()
    assert r.content == expected


def test_rank_orders_valid_bids(client: TestClient) -> None:
    r = client.post("/v1/rank", json=rank_body(client))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [b["rank"] for b in body["ranked"]] == [1, 2, 3]
    assert body["rejected"] == []
    fees = [float(b["price"]["weekly_fee_gbp"]) for b in body["ranked"]]
    assert fees == sorted(fees)  # order_by defaults to price


def test_compare_reports_movements_and_tau(client: TestClient) -> None:
    req = {"request": rank_body(client), "a": {"profile": "cost_focused"}, "b": {}}
    r = client.post("/v1/rank/compare", json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["movements"]) == 3
    assert -1 <= body["kendall_tau"] <= 1


def test_authorities_lists_all_and_looks_one_up(client: TestClient) -> None:
    listed = client.get("/v1/authorities")
    assert listed.status_code == 200
    authorities = [AuthorityOut.model_validate(a) for a in listed.json()]
    assert len(authorities) > 100
    one = client.get("/v1/authorities", params={"q": "E09000015"})
    assert one.status_code == 200
    assert AuthorityOut.model_validate(one.json()).name == "Harrow"
    assert client.get("/v1/authorities", params={"q": "harrow"}).json()["code"] == "E09000015"


def test_unknown_authority_is_422_with_suggestions(client: TestClient) -> None:
    r = client.get("/v1/authorities", params={"q": "Harow"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "unknown_authority"
    assert err["details"][0]["field"] == "q"
    assert "Harrow" in err["details"][0]["suggestions"]


def test_boundary_is_a_geojson_feature(client: TestClient) -> None:
    r = client.get("/v1/authorities/E09000015/boundary")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    feature = BoundaryOut.model_validate(r.json())
    assert feature.type == "Feature"
    assert feature.geometry["type"] in {"Polygon", "MultiPolygon"}
    assert feature.properties["code"] == "E09000015"


def test_boundary_of_unknown_authority_is_404(client: TestClient) -> None:
    r = client.get("/v1/authorities/E99999999/boundary")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert r.json()["error"]["details"][0]["field"] == "code"


def test_locate_a_postcode_district(client: TestClient) -> None:
    r = client.get("/v1/locate", params={"q": "IG11"})
    assert r.status_code == 200
    located = LocateOut.model_validate(r.json())
    assert located.authority is not None
    assert located.authority.code == "E09000002"


def test_registry_summarises_the_serving_snapshot(client: TestClient) -> None:
    r = client.get("/v1/registry")
    assert r.status_code == 200
    summary = RegistryOut.model_validate(r.json())
    assert summary.listings == 1500
    assert summary.snapshot_version == small_snapshot().version
    assert summary.source == "test"
    assert summary.loaded_at.endswith("Z")


def test_catalogue_lists_every_code_a_form_needs(client: TestClient) -> None:
    r = client.get("/v1/catalogue")
    assert r.status_code == 200
    cat = CatalogueOut.model_validate(r.json())
    assert {d.code: [lot.code for lot in d.lots] for d in cat.dpvs} == {
        d.value: [lot.value for lot in lots] for d, lots in LOTS_BY_DPV.items()
    }
    assert [n.code for n in cat.needs] == [n.value for n in Need]
    assert {r.code for r in cat.reasons} == set(REASON_DESCRIPTIONS)
    assert [c.code for c in cat.weights.components] == list(COMPONENTS)
    assert [p.name for p in cat.weights.profiles] == list(PROFILES)
    assert cat.contract_terms_version == Matcher(small_snapshot()).terms.version
    fostering = next(d for d in cat.dpvs if d.code == "fostering")
    assert fostering.contract_terms["sibling_discount_percent"] == "5"
    assert cat.limits.max_bids == 200
    assert cat.request_defaults["max_distance_miles"] == 20.0


def test_catalogue_follows_the_settings() -> None:
    with client_for(max_bids=7, residential_long_placement_percent="5") as c:
        cat = c.get("/v1/catalogue").json()
    assert cat["limits"]["max_bids"] == 7
    residential = next(d for d in cat["dpvs"] if d["code"] == "residential")
    assert residential["contract_terms"]["long_placement_discount_percent"] == "5"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = ReadyOut.model_validate(client.get("/readyz").json())
    assert ready.status == "ready"
    assert ready.snapshot_version == small_snapshot().version


def test_metrics_parse_and_count_requests_by_route_template(client: TestClient) -> None:
    client.post("/v1/shortlist", json=shortlist_body())
    client.get("/v1/authorities/E09000015/boundary")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    routes = {s.labels["route"] for s in families["matcher_http_requests"].samples}
    assert {"/v1/shortlist", "/v1/authorities/{code}/boundary"} <= routes
    assert "/v1/authorities/E09000015/boundary" not in routes
    eligible = families["matcher_shortlist_eligible"]
    count = next(s for s in eligible.samples if s.name.endswith("_count"))
    assert count.value >= 1
    info = families["matcher_snapshot_info"].samples[0]
    assert info.labels["snapshot_version"] == small_snapshot().version
    age = families["matcher_snapshot_age_seconds"].samples[0].value
    assert age > 0


def test_two_apps_in_one_process_keep_separate_metrics() -> None:
    with client_for() as a, client_for() as b:
        a.get("/healthz")
        text = b.get("/metrics").text
    assert 'route="/healthz"' not in text


def test_openapi_documents_every_request_body_with_a_schema_and_examples(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path in ("/v1/shortlist", "/v1/rank", "/v1/rank/compare"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        ref = content["schema"]["$ref"].rsplit("/", 1)[1]
        assert ref in schemas
        assert content["examples"]
        responses = spec["paths"][path]["post"]["responses"]
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )
    assert "HTTPValidationError" not in schemas  # every 422 is documented as ErrorBody


def test_every_openapi_example_is_a_working_request(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    tried = 0
    for path, ops in spec["paths"].items():
        body = ops.get("post", {}).get("requestBody")
        if not body:
            continue
        for name, example in body["content"]["application/json"]["examples"].items():
            r = client.post(path, json=example["value"])
            assert r.status_code == 200, (path, name, r.text)
            tried += 1
    assert tried >= 5


EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
ROUTES = {
    "shortlist": "/v1/shortlist",
    "rank": "/v1/rank",
    "compare": "/v1/rank/compare",
    "allocate": "/v1/allocate",
}


def cli_answer(matcher: Matcher, kind: str, raw: bytes) -> bytes:
    """What `matcher <kind> X.json` prints for the example (without the trailing newline)."""
    if kind == "allocate":  # the fixture's default limits are the default settings'
        return matcher.allocate(parse_body(AllocateRequest, raw)).answer.model_dump_json().encode()
    model = {"shortlist": ShortlistRequest, "rank": RankRequest, "compare": CompareRequest}[kind]
    return getattr(matcher, kind)(parse_body(model, raw)).model_dump_json().encode()


@pytest.mark.parametrize("example", sorted(EXAMPLES_DIR.glob("*.json")), ids=lambda p: p.name)
def test_repository_examples_answer_over_http_as_in_the_cli(
    client: TestClient, matcher: Matcher, example: Path
) -> None:
    """`matcher shortlist|rank|compare|allocate examples/X.json` and POSTing X.json agree
    byte for byte."""
    kind = example.name.split("-", 1)[0].removesuffix(".json")
    raw = example.read_bytes()
    r = client.post(ROUTES[kind], content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.content == cli_answer(matcher, kind, raw)


def test_rank_examples_rank_every_bid_on_the_embedded_registry() -> None:
    """The docs' bids are real listings, at or below their ceilings, in the default registry."""
    from matcher.http.examples import RANK
    from matcher.service import load_snapshot

    matcher = Matcher(load_snapshot(None))
    answer = matcher.rank(RankRequest.model_validate_json(json.dumps(RANK)))
    assert len(answer.ranked) == len(RANK["bids"])
    assert answer.rejected == []


def test_cors_is_off_by_default(client: TestClient) -> None:
    r = client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_exactly_the_configured_origins() -> None:
    with client_for(cors_origins="https://app.example, https://b.example") as c:
        ok = c.get("/healthz", headers={"Origin": "https://b.example"})
        other = c.get("/healthz", headers={"Origin": "https://evil.example"})
        preflight = c.options(
            "/v1/shortlist",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
            },
        )
    assert ok.headers["access-control-allow-origin"] == "https://b.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
