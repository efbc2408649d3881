"""Provider feedback on a rank answer: each kind of loss and rejection by hand, with the exact
feedback expected; the fee that would have ranked a bid first checked by ranking again;
the tie rule read from `_order`; and confidentiality as a property over random bid sets."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import geodata
from matcher.bids.fee_search import cut_fee
from matcher.bids.request import RankRequest
from matcher.bids.weights import COMPONENTS, PROFILES
from matcher.match.request import ShortlistRequest
from matcher.registry.index import RegistryIndex
from matcher.registry.loader import registry_from_document
from matcher.service import Matcher, Snapshot
from matcher.vocabulary.money import format_pence, to_pence
from tests.conftest import referral

HARROW = geodata.authority("Harrow")
MILE_LAT = 1 / 69.09  # degrees of latitude per mile near London


def home(listing_id: str, miles_north: float, **changes: Any) -> dict[str, Any]:
    """A residential standard home for boys of 8-17 with emotional/CSE needs, rated good,
    two vacancies, a ceiling of GBP 4000.00, `miles_north` of Harrow's centre."""
    listing: dict[str, Any] = {
        "id": listing_id,
        "provider_id": f"P-{listing_id}",
        "provider_name": f"Provider of {listing_id}",
        "name": f"Home {listing_id}",
        "dpv": "residential",
        "lots": ["standard"],
        "location": {"lat": round(HARROW.lat + miles_north * MILE_LAT, 6), "lon": HARROW.lon},
        "genders": ["male"],
        "age_min": 8,
        "age_max": 17,
        "needs": ["emotional_behavioural", "cse_risk"],
        "capacity": {"places": 4, "vacancies": 2, "available_from": None},
        "max_sibling_group": 1,
        "ofsted": {"urn": f"SC{listing_id}", "registration": "registered", "rating": "good",
                   "inspected_on": "2025-01-10", "admissions_restricted_until": None},
        "dpv_status": "active",
        "safeguarding_alerts": [],
        "ceilings": [{"lot": "standard", "weekly_gbp": "4000.00", "valid_from": "2026-04-01",
                      "valid_to": "2027-03-31"}],
        "additional_services": [{"code": "therapy_session", "unit": "session",
                                 "rate_gbp": "100.00"}],
        "kpi_score": 0.8,
    }  # fmt: skip
    listing.update(changes)
    return listing


HOMES = [
    home("A", 1.0),
    home("B", 3.0),
    home("C", -2.0, ofsted={"urn": "SCC", "registration": "registered",
                            "rating": "requires_improvement", "inspected_on": "2025-01-10",
                            "admissions_restricted_until": None}),
    home("D", 25.0),
    home("E", 0.5, capacity={"places": 4, "vacancies": 0, "available_from": None}),
    home("F", -0.5, needs=["emotional_behavioural"]),
    home("G", 1.5, dpv="fostering"),
    home("H", -1.5, age_min=0, age_max=10),
    home("I", 2.5, ofsted={"urn": "SCI", "registration": "registered", "rating": "inadequate",
                           "inspected_on": "2025-01-10", "admissions_restricted_until": None}),
]  # fmt: skip


@pytest.fixture(scope="module")
def handmade() -> Matcher:
    """A registry of the homes above."""
    document = {"schema_version": 1, "generated_at": "2026-11-20T06:00:00Z", "listings": HOMES}
    index = RegistryIndex.build(registry_from_document(document))
    return Matcher(Snapshot(index=index, source="handmade"))


def bid(bid_id: str, listing: str, fee: str, **extra: Any) -> dict[str, Any]:
    return {"bid_id": bid_id, "listing_id": listing, "weekly_fee_gbp": fee, **extra}


def answer(m: Matcher, bids: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The rank answer for the Harrow referral (boy of 14, emotional and CSE needs)."""
    child = {"age": 14, "gender": "male", "needs": ["emotional_behavioural", "cse_risk"]}
    body = referral(child=child, bids=bids, **extra)
    out: dict[str, Any] = m.rank_answer(RankRequest.model_validate(body)).data()
    return out


def only(component: str) -> dict[str, float]:
    """Weights with every component but `component` at zero."""
    return dict.fromkeys(COMPONENTS, 0.0) | {component: 1.0}


def feedback_of(body: dict[str, Any], bid_id: str) -> dict[str, Any]:
    entries = body["ranked"] + body["rejected"]
    fb: dict[str, Any] = next(e["feedback"] for e in entries if e["bid_id"] == bid_id)
    return fb


def won(n: int, order: str) -> dict[str, Any]:
    return {"outcome": "won", "rank": 1, "valid_bids": n, "lost_on": None,
            "price_gap_percent": None, "fee_to_rank_first": None, "components": [],
            "summary": f"Ranked first of {n} valid bids by {order}."}  # fmt: skip


def test_lost_on_price(handmade: Matcher) -> None:
    """By price: 3.3% dearer than the winner, which is nearer; 3.3% lower would win (a fee
    strictly under the winner's: 3100 x 0.967 = 2997.70 < 3000 <= 3100 x 0.968)."""
    body = answer(handmade, [bid("W", "A", "3000.00"), bid("L", "B", "3100.00")])
    assert feedback_of(body, "W") == won(2, "price")
    assert feedback_of(body, "L") == {
        "outcome": "lost", "rank": 2, "valid_bids": 2, "lost_on": "price",
        "price_gap_percent": 3.3,
        "fee_to_rank_first": {"possible": True, "fee_cut_percent": 3.3,
                              "weekly_fee_gbp": "2997.70"},
        "components": [],
        "summary": "Ranked 2 of 2 by price, lost on price: expected total 3.3% above the "
        "winning bid's; a weekly fee of GBP 2997.70 (3.3% lower) would have ranked it first.",
    }  # fmt: skip


def test_lost_on_price_at_the_same_total_by_distance(handmade: Matcher) -> None:
    """The same fee, farther away: a gap of 0.0%, and the smallest cut (0.1%) wins."""
    body = answer(handmade, [bid("W", "A", "3000.00"), bid("L", "B", "3000.00")])
    fb = feedback_of(body, "L")
    assert fb["price_gap_percent"] == 0.0
    assert fb["fee_to_rank_first"] == {"possible": True, "fee_cut_percent": 0.1,
                                       "weekly_fee_gbp": "2997.00"}  # fmt: skip
    assert "expected total level with the winning bid's (to 0.1%)" in fb["summary"]


def test_lost_on_match_where_no_fee_helps(handmade: Matcher) -> None:
    """Best match on Ofsted alone: requires improvement (0.35) against good (0.75); with no
    weight on price, no fee changes the order."""
    body = answer(handmade, [bid("W", "A", "3000.00"), bid("L", "C", "3000.00")],
                  order_by="best_match", weights=only("ofsted"))  # fmt: skip
    assert feedback_of(body, "W") == won(2, "best match")
    assert feedback_of(body, "L") == {
        "outcome": "lost", "rank": 2, "valid_bids": 2, "lost_on": "match",
        "price_gap_percent": 0.0,
        "fee_to_rank_first": {"possible": False, "fee_cut_percent": None,
                              "weekly_fee_gbp": None},
        "components": [{"component": "ofsted", "value": 0.35, "contribution_gap": -0.4,
                        "sentence": "Ofsted rating requires improvement"}],
        "summary": "Ranked 2 of 2 by best match, lost on match: Ofsted rating requires "
        "improvement; expected total level with the winning bid's (to 0.1%); no lower fee "
        "alone would have ranked it first.",
    }  # fmt: skip


def test_lost_on_match_and_the_fee_that_would_win_exactly_at_a_tie(handmade: Matcher) -> None:
    """Price and Ofsted weighted 1:1, both at GBP 3000: the loser scores (1 + 0.35)/2 and the
    winner (1 + 0.75)/2. At 40% lower the winner's price value is 0.6 and both score 0.675
    exactly: the cheaper ranks first. At 39.9% lower the winner still leads."""
    weights = dict.fromkeys(COMPONENTS, 0.0) | {"ofsted": 1.0, "price": 1.0}
    bids = [bid("W", "A", "3000.00"), bid("L", "C", "3000.00")]
    body = answer(handmade, bids, order_by="best_match", weights=weights, tie_epsilon=0.0)
    fb = feedback_of(body, "L")
    assert fb["lost_on"] == "match"
    assert fb["fee_to_rank_first"] == {"possible": True, "fee_cut_percent": 40.0,
                                       "weekly_fee_gbp": "1800.00"}  # fmt: skip
    assert fb["components"] == [{"component": "ofsted", "value": 0.35, "contribution_gap": -0.2,
                                 "sentence": "Ofsted rating requires improvement"}]  # fmt: skip
    for fee, first in (("1800.00", "L"), ("1803.00", "W")):
        again = answer(handmade, [bids[0], bid("L", "C", fee)], order_by="best_match",
                       weights=weights, tie_epsilon=0.0, feedback=False)  # fmt: skip
        assert again["ranked"][0]["bid_id"] == first


def test_lost_by_the_tie_rule(handmade: Matcher) -> None:
    """Distance alone with tie_epsilon 0.2: the nearer home scores higher (1 mile: 0.93 vs
    3 miles: 0.81) but both fully meet needs within 0.2, so the cheaper ranks first. A fee
    at or under the winner's total wins (being nearer, it wins a tie on total)."""
    body = answer(handmade, [bid("N", "A", "3100.00"), bid("W", "B", "3000.00")],
                  order_by="best_match", weights=only("distance"), tie_epsilon=0.2)  # fmt: skip
    assert [r["bid_id"] for r in body["ranked"]] == ["W", "N"]
    assert body["ranked"][1]["score"] > body["ranked"][0]["score"]
    assert feedback_of(body, "N") == {
        "outcome": "lost", "rank": 2, "valid_bids": 2, "lost_on": "tie_rule",
        "price_gap_percent": 3.3,
        "fee_to_rank_first": {"possible": True, "fee_cut_percent": 3.3,
                              "weekly_fee_gbp": "2997.70"},
        "components": [],
        "summary": "Ranked 2 of 2 by best match, lost by the cheapest-first tie rule: it scored "
        "higher, but the winning bid also fully meets the child's needs, scored within 0.2 of "
        "the top and was cheaper (expected total 3.3% above the winning bid's); a weekly fee "
        "of GBP 2997.70 (3.3% lower) would have ranked it first.",
    }  # fmt: skip


def test_the_tie_rule_label_comes_from_the_ordering(handmade: Matcher) -> None:
    """Without the tie rule (tie_epsilon 0) the same bids are a plain loss on match."""
    body = answer(handmade, [bid("N", "A", "3100.00"), bid("W", "B", "3000.00")],
                  order_by="best_match", weights=only("distance") | {"price": 0.2},
                  tie_epsilon=0.0)  # fmt: skip
    loser = body["ranked"][1]
    assert loser["feedback"]["lost_on"] == "match"
    assert loser["score"] <= body["ranked"][0]["score"]


def distance_miles(listing: str) -> float:
    spot = next(h["location"] for h in HOMES if h["id"] == listing)
    return float(geodata.distance_m(HARROW.lat, HARROW.lon, spot["lat"], spot["lon"])) / 1609.344


REJECTIONS = [
    # (bid, reasons as (reason, message, to_be_valid))
    (bid("X", "A", "4050.00"),
     [("above_ceiling", "fee GBP 50.00 above the ceiling of GBP 4000.00",
       "a weekly fee of at most GBP 4000.00")]),
    (bid("X", "A", "3000.00",
         additional_services=[{"code": "falconry_lessons", "units_per_week": 1, "weeks": 4}]),
     [("service_not_on_menu", "service not on your tendered menu: falconry_lessons",
       "only services on the tendered menu (or add them to the menu)")]),
    (bid("X", "A", "3000.00", available_from="2026-12-09"),
     [("cannot_start_by_start_date", "available from 2026-12-09, after the latest start "
       "2026-12-01", "a start by 2026-12-01")]),
    (bid("X", "NOPE", "3000.00"),
     [("unknown_listing", "listing NOPE is not in the registry snapshot",
       "bid for a listing registered on the DPV (check the listing id)")]),
    (bid("X", "D", "3000.00"),
     [("too_far", f"{distance_miles('D'):.1f} miles from the referral's origin, beyond its "
       "20-mile radius", "a listing within 20 miles")]),
    (bid("X", "E", "3000.00"),
     [("no_vacancy", "0 vacancies for 1 child", "1 vacancy by the start date")]),
    (bid("X", "F", "3000.00"),
     [("needs_not_met", "does not support required needs: cse_risk", "supporting cse_risk")]),
    (bid("X", "G", "3000.00"),
     [("dpv_mismatch", "the listing is on the fostering DPV, the referral on residential",
       "a listing on the residential DPV")]),
    (bid("X", "H", "3000.00"),
     [("age_out_of_range", "the child's age is outside the listing's range 0-10",
       "an age range that includes the child's age")]),
    (bid("X", "I", "3000.00"),
     [("ofsted_rating_below_minimum", "Ofsted rating inadequate is below the referral's "
       "minimum requires improvement", "an Ofsted rating of at least requires improvement")]),
]  # fmt: skip


@pytest.mark.parametrize(("rejected", "reasons"), REJECTIONS,
                         ids=[r[0][0] for _, r in REJECTIONS])  # fmt: skip
def test_each_rejection_says_what_would_have_made_it_valid(
    handmade: Matcher, rejected: dict[str, Any], reasons: list[tuple[str, str, str]]
) -> None:
    """A rejected bid's feedback: every reason with its message and its fix."""
    body = answer(handmade, [bid("W", "B", "3000.00"), rejected])
    fb = feedback_of(body, "X")
    assert fb["outcome"] == "rejected" and fb["valid_bids"] == 1
    assert [(r["reason"], r["message"], r["to_be_valid"]) for r in fb["reasons"]] == reasons
    assert fb["summary"].startswith("Rejected: " + "; ".join(m for _, m, _ in reasons))


def test_above_ceiling_says_where_the_ceiling_would_rank_it(handmade: Matcher) -> None:
    """At its ceiling (GBP 4000) it would rank 2 of 2 by price; 26.0% off GBP 4050 (GBP
    2997.00, under the winner's 3000) would rank it first."""
    body = answer(handmade, [bid("W", "B", "3000.00"), bid("X", "A", "4050.00")])
    fb = feedback_of(body, "X")
    assert fb["at_ceiling"] == {"rank": 2, "valid_bids": 2}
    assert fb["fee_to_rank_first"] == {"possible": True, "fee_cut_percent": 26.0,
                                       "weekly_fee_gbp": "2997.00"}  # fmt: skip
    assert fb["summary"] == (
        "Rejected: fee GBP 50.00 above the ceiling of GBP 4000.00. At the ceiling it would "
        "have ranked 2 of 2; a weekly fee of GBP 2997.00 (26.0% lower) would have ranked it "
        "first."
    )


def test_duplicates_are_explained(handmade: Matcher) -> None:
    """A second bid with the same id, and a second bid for the same listing."""
    body = answer(handmade, [bid("W", "A", "3000.00"), bid("W", "B", "3000.00"),
                             bid("Y", "A", "2900.00")])  # fmt: skip
    reasons = [[(r["reason"], r["to_be_valid"]) for r in e["feedback"]["reasons"]]
               for e in body["rejected"]]  # fmt: skip
    assert reasons == [[("duplicate_bid_id", "give every bid its own bid id")],
                       [("duplicate_listing_bid", "send one bid per listing")]]  # fmt: skip


def test_feedback_false_leaves_it_out_and_keeps_the_old_decision_id(handmade: Matcher) -> None:
    """ "feedback": false: no feedback anywhere; the decision id differs from the answer with
    feedback (feedback is part of it)."""
    bids = [bid("W", "A", "3000.00"), bid("L", "B", "3100.00"), bid("X", "NOPE", "1.00")]
    with_it = answer(handmade, bids)
    without = answer(handmade, bids, feedback=False)
    assert all("feedback" not in e for e in without["ranked"] + without["rejected"])
    assert with_it["decision_id"] != without["decision_id"]
    strip = [{k: v for k, v in e.items() if k != "feedback"} for e in with_it["ranked"]]
    assert strip == without["ranked"]


# --- properties over random bid sets on the session registry (3,000 listings) -----------


@pytest.fixture(scope="module")
def nearby(matcher: Matcher) -> list[dict[str, Any]]:
    """Eligible listings for the Harrow referral, and a few excluded ones."""
    body = matcher.shortlist_answer(
        ShortlistRequest.model_validate(referral(limit=40, max_distance_miles=30))
    ).data()
    assert len(body["shortlist"]) >= 12
    return list(body["shortlist"]) + list(body["excluded_within_radius"][:5])


TOKEN = st.text("abcdefghjkmnpqrstuvwxyz", min_size=6, max_size=6)


@st.composite
def bid_sets(draw: st.DrawFn, nearby: list[dict[str, Any]]) -> dict[str, Any]:
    """A rank request on random listings: distinctive bid ids, fees from 40% to 105% of the
    ceiling, some late, some with services (on or off the menu), unknown and duplicates."""
    picks = draw(st.lists(st.sampled_from(nearby), min_size=2, max_size=12))
    bids = []
    for i, listing in enumerate(picks):
        ceiling = to_pence(listing.get("ceiling_weekly_gbp") or "900.00")
        share = draw(st.sampled_from([0.4, 0.7, 0.85, 0.9, 0.95, 1.0, 1.05]))
        fee = max(101, int(ceiling * share) + draw(st.integers(0, 99)))
        b = bid(f"bid-{draw(TOKEN)}-{i}", listing["listing_id"], format_pence(fee))
        if draw(st.booleans()):
            b["available_from"] = draw(st.sampled_from(["2026-11-20", "2026-12-03"]))
        if draw(st.integers(0, 4)) == 0:
            code = draw(st.sampled_from(["therapy_session", "one_to_one_staffing", "falconry"]))
            b["additional_services"] = [{"code": code, "units_per_week": 2, "weeks": 8}]
        bids.append(b)
    if draw(st.booleans()):
        bids.append(bid(f"bid-{draw(TOKEN)}-u", "NOPE-404", "1000.00"))
    return {
        "bids": bids,
        "order_by": draw(st.sampled_from(["price", "best_match", "best_match"])),
        "profile": draw(st.sampled_from(list(PROFILES))),
        "tie_epsilon": draw(st.sampled_from([0.0, 0.01, 0.05, 0.2])),
        "start_tolerance_days": draw(st.sampled_from([0, 3])),
        "max_distance_miles": 30,
        "child": {"age": 14, "gender": "male", "needs": ["emotional_behavioural"],
                  "secondary_needs": draw(st.sampled_from([[], ["autism", "self_harm"]]))},
    }  # fmt: skip


PRICE_FIELDS = ("weekly_fee_gbp", "gross_weekly_core_gbp", "net_weekly_core_gbp",
                "additional_services_total_gbp", "expected_total_cost_gbp",
                "average_weekly_cost_gbp", "ceiling_weekly_gbp", "headroom_weekly_gbp")  # fmt: skip


def secrets(entry: dict[str, Any], listing_names: dict[str, tuple[str, str, str]]) -> set[str]:
    """Everything that identifies a bid or tells its price: ids, names, money (pounds and
    pence)."""
    out = {entry["bid_id"], entry["listing_id"], *listing_names.get(entry["listing_id"], ())}
    price = entry.get("price")
    if price:
        for name in PRICE_FIELDS:
            out |= {price[name], str(to_pence(price[name]))}
    if "ceiling_weekly_gbp" in entry.get("details", {}):
        out.add(entry["details"]["ceiling_weekly_gbp"])
    return out - {"0.00", "0"}


@given(data=st.data())
def test_feedback_never_tells_another_bid_s_identity_or_price(
    matcher: Matcher, nearby: list[dict[str, Any]], data: st.DataObject
) -> None:
    """For every bid, its feedback holds no other bid's id, listing, provider, names or
    prices, as pounds or pence (values it shares with the bid itself aside); the fee it
    names is its own fee less the cut it names."""
    extra = data.draw(bid_sets(nearby))
    body = answer_on(matcher, extra)
    reg = matcher.snapshot.index.registry
    names = {}
    for lid in {b["listing_id"] for b in extra["bids"]}:
        row = reg.row_of(lid)
        if row is not None:
            names[lid] = (reg.provider_ids[row], reg.provider_names[row], reg.names[row])
    entries = body["ranked"] + body["rejected"]
    fees = {b["bid_id"]: to_pence(b["weekly_fee_gbp"]) for b in extra["bids"]}
    for entry in entries:
        fb = json.loads(json.dumps(entry["feedback"]))
        own = secrets(entry, names) | {format_pence(fees[entry["bid_id"]])}
        fee = fb.get("fee_to_rank_first")
        if fee and fee["possible"]:
            cut = round(fee["fee_cut_percent"] * 10)
            assert to_pence(fee.pop("weekly_fee_gbp")) == cut_fee(fees[entry["bid_id"]], cut)
        text = json.dumps(fb)
        for other in entries:
            if other is entry:
                continue
            for secret in secrets(other, names) - own:
                assert not re.search(rf"(?<![\w.]){re.escape(secret)}(?![\w]|\.\d)", text), (
                    f"{entry['bid_id']}'s feedback tells {other['bid_id']}'s {secret!r}"
                )


def answer_on(m: Matcher, extra: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = m.rank_answer(RankRequest.model_validate(referral(**extra))).data()
    return body


@given(data=st.data())
def test_the_fee_named_ranks_the_bid_first_and_one_step_less_does_not(
    matcher: Matcher, nearby: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Ranking again with only the bid's fee changed: at the fee named it is first; 0.1%
    less cut (unless that is its own fee, or above the ceiling) it is not; when no fee is
    named, even a penny does not rank it first."""
    extra = data.draw(bid_sets(nearby))
    body = answer_on(matcher, extra)
    sent = {b["bid_id"]: b for b in extra["bids"]}
    for entry in body["ranked"][1:] + body["rejected"]:
        fee = entry["feedback"]["fee_to_rank_first"]
        if fee is None:
            continue
        own = to_pence(sent[entry["bid_id"]]["weekly_fee_gbp"])
        event(f"{body['order_by']}: {entry['feedback']['outcome']}, fee possible "
              f"{fee['possible']}")  # fmt: skip
        if not fee["possible"]:
            assert not first_at(matcher, extra, entry["bid_id"], 1)
            continue
        cut = round(fee["fee_cut_percent"] * 10)
        assert first_at(matcher, extra, entry["bid_id"], cut_fee(own, cut))
        ceiling = entry.get("details", {}).get("ceiling_weekly_gbp")
        higher = cut_fee(own, cut - 1)
        if cut > 1 and (ceiling is None or higher <= to_pence(ceiling)):
            assert not first_at(matcher, extra, entry["bid_id"], higher)


def first_at(m: Matcher, extra: dict[str, Any], bid_id: str, fee_pence: int) -> bool:
    """Does the bid rank first when only its fee changes (bids rejected anyway removed)?"""
    bids = [dict(b, weekly_fee_gbp=format_pence(fee_pence)) if b["bid_id"] == bid_id else b
            for b in extra["bids"]]  # fmt: skip
    body = answer_on(m, dict(extra, bids=bids, feedback=False))
    return bool(body["ranked"]) and body["ranked"][0]["bid_id"] == bid_id


@given(data=st.data())
def test_lost_on_agrees_with_the_scores(
    matcher: Matcher, nearby: list[dict[str, Any]], data: st.DataObject
) -> None:
    """By best match, a bid scoring above the winner lost by the tie rule, one lost by the
    tie rule scored at least as high, and one lost on match scored no higher; every loss by
    price is a price ordering. The price gap is the totals' gap."""
    extra = data.draw(bid_sets(nearby))
    if data.draw(st.booleans()):  # the tie rule at work: wide window, every bid meets needs
        extra.update(order_by="best_match", tie_epsilon=data.draw(st.sampled_from([0.2, 0.05])))
        extra["child"] = {**extra["child"], "secondary_needs": []}
    body = answer_on(matcher, extra)
    if not body["ranked"]:
        return
    winner = body["ranked"][0]
    total = Decimal(winner["price"]["expected_total_cost_gbp"])
    for entry in body["ranked"][1:]:
        fb = entry["feedback"]
        if body["order_by"] == "price":
            assert fb["lost_on"] == "price"
        else:
            if round(entry["score"], 6) > round(winner["score"], 6):
                assert fb["lost_on"] == "tie_rule"
            event(f"lost on {fb['lost_on']}")
            moved = (winner["tie_break"] or {}).get("moved_above", [])
            assert (fb["lost_on"] == "tie_rule") == (entry["bid_id"] in moved)
            if fb["lost_on"] == "tie_rule":
                assert entry["score"] >= winner["score"]
            else:
                assert fb["lost_on"] == "match" and entry["score"] <= winner["score"]
        gap = 100 * (Decimal(entry["price"]["expected_total_cost_gbp"]) - total) / total
        assert abs(Decimal(str(fb["price_gap_percent"])) - gap) <= Decimal("0.0501")


_SHARE = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(st.integers(0, 9).flatmap(
    lambda k: st.lists(st.tuples(st.lists(_SHARE, min_size=k, max_size=k),
                                 st.lists(_SHARE, min_size=k, max_size=k)), max_size=12)
))  # fmt: skip
def test_rounded_components_are_round_of_each_gap_and_value(
    bids: list[tuple[list[float], list[float]]],
) -> None:
    """The gaps and values feedback reports, rounded for all bids at once, are exactly
    `round(contribution - winner's, 3)` and `round(value, 3)` of each (as they were computed
    one by one before)."""
    from types import SimpleNamespace

    from matcher.bids.feedback import VALUE_DECIMALS, rounded_components

    ranked: Any = [SimpleNamespace(contributions=c, values=v) for c, v in bids]
    gaps, values = rounded_components(ranked)
    if not bids:
        assert gaps == [] and values == []
        return
    winner = bids[0][0]
    assert gaps == [[round(x - w, VALUE_DECIMALS) for x, w in zip(c, winner, strict=True)]
                    for c, _ in bids]  # fmt: skip
    assert values == [[round(x, VALUE_DECIMALS) for x in v] for _, v in bids]
    assert all(type(x) is float for row in gaps + values for x in row)
