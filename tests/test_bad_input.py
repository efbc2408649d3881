"""Bad input never gets a 500, a trace or a silently wrong answer: a 4xx naming the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_http_helpers import TestClient, client_for, referral

EXAMPLES_BIDS = [{"bid_id": "B1", "listing_id": "L0000001", "weekly_fee_gbp": "4000.00"}]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with client_for(max_body_bytes=200_000) as c:
        yield c


def rank_body(**overrides: Any) -> dict[str, Any]:
    body = referral(bids=copy.deepcopy(EXAMPLES_BIDS), order_by="best_match")
    body.update(overrides)
    return body


def assert_canonical(resp: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert "Traceback" not in resp.text
    error = resp.json()["error"]
    assert error["code"] and error["message"] and isinstance(error["details"], list)
    if field is not None:
        fields = [d["field"] for d in error["details"]]
        assert any(f == field or f.startswith(field + ".") for f in fields), fields
    return dict(error)


def post(client: TestClient, path: str, body: Any) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(path, content=data, headers={"content-type": "application/json"})


# fmt: off
FIELD_CASES = [
    # (path, body, field): each must be a 422 naming the field
    ("/v1/shortlist", referral(origin={"lat": float("nan"), "lon": 0.1}), "origin"),  # NaN
    ("/v1/shortlist", referral(origin={"lat": 1e308, "lon": 0.1}), "origin"),  # huge coordinate
    ("/v1/shortlist", referral(max_distance_miles=float("inf")), "max_distance_miles"),  # Infinity
    ("/v1/shortlist", referral(max_distance_miles=1e308), "max_distance_miles"),  # absurd radius
    ("/v1/shortlist", referral(max_distance_miles=-5), "max_distance_miles"),  # negative radius
    ("/v1/shortlist", referral(max_distance_miles=0), "max_distance_miles"),  # zero radius
    ("/v1/shortlist", referral(max_distance_miles=500), "max_distance_miles"),  # above the limit
    ("/v1/shortlist", referral(child={"age": -1, "gender": "male"}), "child.age"),
    ("/v1/shortlist", referral(child={"age": 200, "gender": "male"}), "child.age"),
    ("/v1/shortlist", referral(child={"age": 14.5, "gender": "male"}), "child.age"),  # not whole
    ("/v1/shortlist", referral(dpv="adoption"), "dpv"),  # unknown DPV
    ("/v1/shortlist", referral(lot="luxury"), "lot"),  # unknown lot
    ("/v1/shortlist", referral(lot="day"), "lot"),  # an SEN lot on the residential DPV
    ("/v1/shortlist", referral(child={"age": 9, "gender": "male", "needs": ["flying"]}),
     "child.needs"),  # unknown need
    ("/v1/shortlist", referral(child={"age": 9, "gender": "robot"}), "child.gender"),
    ("/v1/shortlist", referral(min_ofsted_rating="superb"), "min_ofsted_rating"),
    ("/v1/shortlist", referral(placing_authority="Barkng and Dagenham"), "placing_authority"),
    ("/v1/shortlist", referral(origin={"lat": 54.0, "lon": -4.0}), "origin"),  # Irish Sea
    ("/v1/shortlist", referral(origin={"lat": 48.85, "lon": 2.35}), "origin"),  # Paris
    ("/v1/shortlist", referral(origin={"postcode_district": "BT1 1AA"}),
     "origin.postcode_district"),  # Northern Ireland
    ("/v1/shortlist", referral(referral_id="R" * 1_000), "referral_id"),  # long id
    ("/v1/shortlist", referral(start_date="01/12/2026"), "start_date"),  # not ISO
    ("/v1/shortlist", referral(unexpected="field"), "unexpected"),  # extra field
    ("/v1/rank", rank_body(bids=[]), "bids"),  # zero bids
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], bid_id=f"B{i}") for i in range(201)]),
     "bids"),  # max bids + 1
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="4000.001")]),
     "bids.0.weekly_fee_gbp"),  # sub-penny fee
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="4e3")]),
     "bids.0.weekly_fee_gbp"),  # scientific notation
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp=4000.0)]),
     "bids.0.weekly_fee_gbp"),  # a JSON number, not a money string
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="0.00")]),
     "bids.0.weekly_fee_gbp"),  # nothing a week: would silently rank first by price
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="NaN")]),
     "bids.0.weekly_fee_gbp"),  # NaN fee
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="Infinity")]),
     "bids.0.weekly_fee_gbp"),  # Infinity fee
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="1e308")]),
     "bids.0.weekly_fee_gbp"),  # 1e308 fee
    ("/v1/rank", rank_body(bids=[dict(EXAMPLES_BIDS[0], weekly_fee_gbp="-4000.00")]),
     "bids.0.weekly_fee_gbp"),  # negative fee
    ("/v1/rank", rank_body(weights={"price": 0, "distance": 0, "ofsted": 0, "quality": 0,
     "needs_fit": 0, "in_area": 0, "safeguarding": 0, "start_date": 0, "preference": 0}),
     "weights"),  # all zero
    ("/v1/rank", rank_body(weights={"price": float("nan")}), "weights"),  # NaN weight
    ("/v1/rank", rank_body(weights={"price": -2}), "weights"),  # negative weight
    ("/v1/rank", rank_body(weights={"price": 1e308}), "weights"),  # 1e308 weight
    ("/v1/rank", rank_body(profile="generous"), "profile"),  # unknown profile
    # Found by schemathesis' negative_data_rejection: lax coercion answered 200 to these, and
    # `true` became a one-mile radius. Numbers and booleans are strict now.
    ("/v1/shortlist", referral(max_distance_miles=True), "max_distance_miles"),
    ("/v1/shortlist", referral(max_distance_miles="25"), "max_distance_miles"),
    ("/v1/shortlist", referral(explain=1), "explain"),
    ("/v1/shortlist", referral(accept_not_yet_inspected="no"), "accept_not_yet_inspected"),
    ("/v1/shortlist", referral(origin={"lat": "51.5", "lon": -0.3}), "origin"),
    ("/v1/shortlist", referral(limit="10"), "limit"),
    ("/v1/rank", rank_body(weights={"price": True}), "weights"),
    ("/v1/rank", rank_body(tie_epsilon="0.01"), "tie_epsilon"),
]
# fmt: on


def test_whole_floats_are_integers_as_json_schema_says(client: TestClient) -> None:
    """JSON Schema's "integer" accepts 14.0; the answer equals the one for 14."""
    as_float = post(client, "/v1/shortlist", referral(child={"age": 14.0, "gender": "male"}))
    as_int = post(client, "/v1/shortlist", referral(child={"age": 14, "gender": "male"}))
    assert as_float.status_code == 200, as_float.text
    assert as_float.json()["shortlist"] == as_int.json()["shortlist"]


@pytest.mark.parametrize(("path", "body", "field"), FIELD_CASES)
def test_bad_field_is_a_422_naming_it(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    """Each bad value: 422 with the canonical body and the offending field."""
    assert_canonical(post(client, path, body), 422, field)


def test_unknown_codes_name_the_allowed_values(client: TestClient) -> None:
    """An unknown DPV's error lists what is allowed."""
    error = assert_canonical(post(client, "/v1/shortlist", referral(dpv="adoption")), 422, "dpv")
    allowed = json.dumps(error["details"])
    assert "fostering" in allowed and "residential" in allowed and "sen" in allowed


def test_lot_of_another_dpv_names_the_dpvs_lots(client: TestClient) -> None:
    """An SEN lot on the residential DPV: the error is on `lot` and lists residential's lots."""
    error = assert_canonical(post(client, "/v1/shortlist", referral(lot="day")), 422, "lot")
    reason = error["details"][0]["reason"]
    assert "'day' does not belong to dpv 'residential'" in reason
    assert "standard" in reason and "therapeutic" in reason
    assert not reason.startswith("Value error")


def test_typo_in_authority_suggests_the_right_one(client: TestClient) -> None:
    """422 with suggestions, not a guess."""
    body = referral(placing_authority="Barkng and Dagenham")
    error = assert_canonical(post(client, "/v1/shortlist", body), 422, "placing_authority")
    assert "Barking and Dagenham" in error["details"][0]["suggestions"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"referral_id": "R-1", ', "application/json", 422),  # malformed JSON
        (b"", "application/json", 422),  # empty body
        (b"[" * 10_000 + b"]" * 10_000, "application/json", 422),  # deeply nested
        (b"referral_id=R-1", "application/x-www-form-urlencoded", 415),  # wrong content type
        (b"x" * 300_000, "application/json", 413),  # over the size limit
    ],
)
def test_unparseable_bodies_are_refused(
    client: TestClient, content: bytes, content_type: str, status: int
) -> None:
    """Malformed, empty, nested, mistyped or oversized bodies get a clear 4xx."""
    resp = client.post("/v1/shortlist", content=content, headers={"content-type": content_type})
    assert_canonical(resp, status)


def test_megabyte_id_is_refused_not_processed(client: TestClient) -> None:
    """A 1 MB string in an id field: refused (size limit), never a 500."""
    resp = post(client, "/v1/shortlist", referral(referral_id="R" * 1_000_000))
    assert resp.status_code in (413, 422)
    assert_canonical(resp, resp.status_code)


def test_duplicate_bid_ids_are_rejected_in_the_answer(client: TestClient) -> None:
    """Duplicates are a rejected bid with a reason, not a 4xx: the rest still rank."""
    short = post(client, "/v1/shortlist", referral(max_distance_miles=40)).json()
    entry = short["shortlist"][0]
    bid = {"bid_id": "D", "listing_id": entry["listing_id"],
           "weekly_fee_gbp": entry["ceiling_weekly_gbp"]}  # fmt: skip
    other = dict(bid, listing_id=short["shortlist"][1]["listing_id"])
    resp = post(client, "/v1/rank", referral(max_distance_miles=40, bids=[bid, other]))
    assert resp.status_code == 200
    answer = resp.json()
    assert [r["bid_id"] for r in answer["ranked"]] == ["D"]
    assert answer["rejected"][0]["reasons"] == ["duplicate_bid_id"]
