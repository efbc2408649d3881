"""Ranking: validation reasons, price order, scores, ties, determinism (properties)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.bids.contract_terms import ContractTerms
from matcher.bids.pricing import Pricer
from matcher.bids.ranking import RankedBid
from matcher.bids.request import Bid, CompareRequest, RankRequest
from matcher.bids.response import CompareResponse, RankResponse, _components, price_texts
from matcher.bids.weights import COMPONENTS
from matcher.match.request import ShortlistRequest
from matcher.service import Matcher
from matcher.vocabulary.catalogue import ServiceUnit
from matcher.vocabulary.errors import InvalidWeightsError
from matcher.vocabulary.money import format_pence, to_pence
from tests.conftest import referral


@pytest.fixture(scope="module")
def shortlisted(matcher: Matcher) -> list[Any]:
    """Eligible listings for the Harrow referral (at least a dozen)."""
    answer = matcher.shortlist(
        ShortlistRequest.model_validate(referral(limit=40, max_distance_miles=30))
    )
    assert len(answer.shortlist) >= 12
    return list(answer.shortlist)


def bids_for(entries: list[Any], fractions: list[float]) -> list[dict[str, Any]]:
    """One bid per entry at a fraction of its ceiling (> 1 = above the ceiling)."""
    out = []
    for i, (e, f) in enumerate(zip(entries, fractions, strict=False)):
        fee = int(to_pence(e.ceiling_weekly_gbp) * f)
        out.append(
            {"bid_id": f"B{i:03d}", "listing_id": e.listing_id, "weekly_fee_gbp": format_pence(fee)}
        )
    return out


def rank(matcher: Matcher, bids: list[dict[str, Any]], **extra: Any) -> RankResponse:
    return matcher.rank(
        RankRequest.model_validate(referral(max_distance_miles=30, bids=bids, **extra))
    )


def test_bid_at_ceiling_is_valid_and_one_penny_above_is_rejected(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """A bid may be at or below the ceiling, never above (DOMAIN rule 4)."""
    e = shortlisted[0]
    ceiling = to_pence(e.ceiling_weekly_gbp)
    at = {"bid_id": "AT", "listing_id": e.listing_id, "weekly_fee_gbp": format_pence(ceiling)}
    above = {
        "bid_id": "UP",
        "listing_id": shortlisted[1].listing_id,
        "weekly_fee_gbp": format_pence(to_pence(shortlisted[1].ceiling_weekly_gbp) + 1),
    }
    answer = rank(matcher, [at, above])
    assert [r.bid_id for r in answer.ranked] == ["AT"]
    (rejected,) = answer.rejected
    assert rejected.reasons == ["above_ceiling"]
    assert rejected.details["excess_weekly_gbp"] == "0.01"


def test_every_rejection_carries_its_reasons(matcher: Matcher, shortlisted: list[Any]) -> None:
    """Unknown listing, duplicate bid id, second bid for a listing, service off the menu,
    late start: each rejected with a machine-readable code."""
    e0, e1, e2 = shortlisted[:3]
    fee = format_pence(to_pence(e0.ceiling_weekly_gbp) - 100)
    bids = [
        {"bid_id": "A", "listing_id": e0.listing_id, "weekly_fee_gbp": fee},
        {"bid_id": "A", "listing_id": e1.listing_id, "weekly_fee_gbp": "1.00"},
        {"bid_id": "C", "listing_id": e0.listing_id, "weekly_fee_gbp": "1.00"},
        {"bid_id": "D", "listing_id": "NOPE-1", "weekly_fee_gbp": "1.00"},
        {
            "bid_id": "E",
            "listing_id": e2.listing_id,
            "weekly_fee_gbp": "1.00",
            "additional_services": [{"code": "falconry", "units_per_week": 1, "weeks": 2}],
        },
        {
            "bid_id": "F",
            "listing_id": shortlisted[3].listing_id,
            "weekly_fee_gbp": "1.00",
            "available_from": "2027-06-01",
        },
    ]
    answer = rank(matcher, bids)
    reasons = {r.bid_id + ":" + r.listing_id: r.reasons for r in answer.rejected}
    assert reasons[f"A:{e1.listing_id}"] == ["duplicate_bid_id"]
    assert reasons[f"C:{e0.listing_id}"] == ["duplicate_listing_bid"]
    assert reasons["D:NOPE-1"] == ["unknown_listing"]
    assert reasons[f"E:{e2.listing_id}"] == ["service_not_on_menu"]
    assert reasons[f"F:{shortlisted[3].listing_id}"] == ["cannot_start_by_start_date"]
    assert [r.bid_id for r in answer.ranked] == ["A"]


def test_ineligible_listing_bid_is_rejected_with_shortlist_reasons(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """A bid from a listing that cannot take this child carries the shortlist's reasons."""
    answer = rank(
        matcher,
        bids_for(shortlisted[:3], [0.9, 0.9, 0.9]),
        child={"age": 14, "gender": "male", "needs": ["parent_and_child"]},
    )
    assert not answer.ranked
    assert all("needs_not_met" in r.reasons for r in answer.rejected)
    assert all(r.details["missing_needs"] == ["parent_and_child"] for r in answer.rejected)


fractions = st.lists(st.floats(0.5, 1.05), min_size=2, max_size=12)


@given(fs=fractions, order=st.sampled_from(["price", "best_match"]))
def test_no_bid_above_ceiling_or_ineligible_ever_ranks(
    matcher: Matcher, shortlisted: list[Any], fs: list[float], order: str
) -> None:
    """Safety: every ranked bid is at or below its ceiling on an eligible listing."""
    answer = rank(matcher, bids_for(shortlisted, fs), order_by=order)
    eligible = {e.listing_id for e in shortlisted}
    for r in answer.ranked:
        assert to_pence(r.price.weekly_fee_gbp) <= to_pence(r.price.ceiling_weekly_gbp)
        assert r.listing_id in eligible
    assert len(answer.ranked) + len(answer.rejected) == len(fs)


@given(fs=fractions)
def test_price_order_is_monotone_in_expected_total(
    matcher: Matcher, shortlisted: list[Any], fs: list[float]
) -> None:
    """order_by=price: expected total cost never decreases down the ranking."""
    totals = [
        Decimal(r.price.expected_total_cost_gbp)
        for r in rank(matcher, bids_for(shortlisted, fs)).ranked
    ]
    assert totals == sorted(totals)


@given(fs=fractions)
def test_scores_are_in_unit_interval_and_sum_of_contributions(
    matcher: Matcher, shortlisted: list[Any], fs: list[float]
) -> None:
    """Each component in [0,1]; contributions add up to the score."""
    for r in rank(matcher, bids_for(shortlisted, fs), order_by="best_match").ranked:
        assert 0 <= r.score <= 1
        assert set(r.components) == set(COMPONENTS)
        assert all(0 <= c.value <= 1 for c in r.components.values())
        assert math.isclose(
            sum(c.contribution for c in r.components.values()), r.score, abs_tol=1e-5
        )


@given(
    fs=fractions,
    seed=st.randoms(use_true_random=False),
    order=st.sampled_from(["price", "best_match"]),
)
def test_permuting_bids_does_not_change_the_ranking(
    matcher: Matcher, shortlisted: list[Any], fs: list[float], seed: Any, order: str
) -> None:
    """The ranking depends on the bids, not on the order they were sent in."""
    bids = bids_for(shortlisted, fs)
    shuffled = list(bids)
    seed.shuffle(shuffled)
    a = rank(matcher, bids, order_by=order)
    b = rank(matcher, shuffled, order_by=order)
    assert [r.model_dump() for r in a.ranked] == [r.model_dump() for r in b.ranked]


@given(fs=fractions, scale=st.sampled_from([0.001, 0.5, 3.0, 1000.0]))
def test_scaling_all_weights_does_not_change_the_ranking(
    matcher: Matcher, shortlisted: list[Any], fs: list[float], scale: float
) -> None:
    """Only weight ratios matter."""
    base = {k: float(i % 4 + 1) for i, k in enumerate(COMPONENTS)}
    scaled = {k: v * scale for k, v in base.items()}
    bids = bids_for(shortlisted, fs)
    a = rank(matcher, bids, order_by="best_match", weights=base)
    b = rank(matcher, bids, order_by="best_match", weights=scaled)
    assert [r.bid_id for r in a.ranked] == [r.bid_id for r in b.ranked]


def test_cheaper_wins_between_two_that_fully_meet_needs_and_nearly_tie(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """Within epsilon of each other, two bids that fully meet needs rank cheapest first."""
    e = shortlisted[:2]
    weights = {k: 0.0 for k in COMPONENTS} | {"ofsted": 1.0, "price": 0.001}
    bids = bids_for(e, [0.95, 0.90])
    answer = rank(matcher, bids, order_by="best_match", weights=weights)
    ranked = answer.ranked
    if abs(ranked[0].score - ranked[1].score) <= answer.tie_epsilon:
        totals = [Decimal(r.price.expected_total_cost_gbp) for r in ranked]
        assert totals == sorted(totals)


def test_preference_lifts_a_preferred_listing(matcher: Matcher, shortlisted: list[Any]) -> None:
    """Parental preference is a component: with only it weighted, the preferred bid is first."""
    bids = bids_for(shortlisted[:5], [0.9] * 5)
    preferred = shortlisted[3].listing_id
    weights = {k: 0.0 for k in COMPONENTS} | {"preference": 1.0}
    answer = rank(
        matcher, bids, order_by="best_match", weights=weights, preferred_listing_ids=[preferred]
    )
    assert answer.ranked[0].listing_id == preferred
    assert answer.ranked[0].components["preference"].value == 1.0


@pytest.mark.parametrize(
    "weights",
    [
        {k: 0.0 for k in COMPONENTS},  # all zero
        {"price": -1.0},  # negative
        {"warmth": 1.0},  # unknown component
        {"price": 1e300},  # absurd
    ],
)
def test_bad_weights_are_refused(
    matcher: Matcher, shortlisted: list[Any], weights: dict[str, float]
) -> None:
    """Weights must be known, finite, non-negative, with at least one positive."""
    with pytest.raises(InvalidWeightsError):
        rank(matcher, bids_for(shortlisted[:2], [0.9, 0.9]), order_by="best_match", weights=weights)


def test_same_inputs_give_byte_identical_answers(matcher: Matcher, shortlisted: list[Any]) -> None:
    """Audit: same request + snapshot + weights = same bytes; the answer names all three."""
    bids = bids_for(shortlisted, [0.7, 0.8, 0.9, 1.0, 0.75])
    a = rank(matcher, bids, order_by="best_match", profile="quality_focused").model_dump_json()
    b = rank(matcher, bids, order_by="best_match", profile="quality_focused").model_dump_json()
    assert a == b
    answer = RankResponse.model_validate_json(a)
    assert answer.snapshot_version == matcher.snapshot.version
    assert answer.weights.profile == "quality_focused"
    assert answer.contract_terms_version.startswith("terms-")
    other = rank(matcher, bids, order_by="best_match", profile="balanced")
    assert other.decision_id != answer.decision_id


def test_compare_reports_movements_and_kendall_tau(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """Compare: both rankings, each bid's movement, and Kendall's tau in [-1, 1]."""
    body = {
        "request": referral(
            max_distance_miles=30, bids=bids_for(shortlisted, [0.6, 0.95, 0.8, 0.7, 0.9, 0.85])
        ),
        "a": {"profile": "cost_focused"},
        "b": {"profile": "quality_focused"},
    }
    answer = matcher.compare(CompareRequest.model_validate(body))
    assert len(answer.movements) == 6
    assert answer.kendall_tau is not None and -1 <= answer.kendall_tau <= 1
    ranks_b = {r.bid_id: r.rank for r in answer.b.ranked}
    for m in answer.movements:
        assert m.rank_b == ranks_b[m.bid_id] and m.movement == m.rank_a - m.rank_b
    same = matcher.compare(CompareRequest.model_validate(body | {"b": {"profile": "cost_focused"}}))
    assert same.kendall_tau == 1.0


def test_start_tolerance_scores_late_starts_lower_instead_of_refusing(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """Within start_tolerance_days a late start is ranked with a lower start_date value;
    beyond it the bid is refused with cannot_start_by_start_date."""
    bids = bids_for(shortlisted[:3], [0.9, 0.9, 0.9])
    bids[1]["available_from"] = "2026-12-08"  # 7 days late
    bids[2]["available_from"] = "2026-12-31"  # 30 days late
    answer = rank(matcher, bids, order_by="best_match", start_tolerance_days=14)
    by_id = {r.bid_id: r for r in answer.ranked}
    assert by_id["B000"].components["start_date"].value == 1.0
    assert by_id["B001"].components["start_date"].value == pytest.approx(1 - 7 / 15)
    assert [r.reasons for r in answer.rejected] == [["cannot_start_by_start_date"]]
    strict = rank(matcher, bids, order_by="best_match")
    assert {r.bid_id for r in strict.rejected} == {"B001", "B002"}


def test_tie_break_names_the_higher_scoring_bids_a_bid_was_placed_above(
    matcher: Matcher, shortlisted: list[Any]
) -> None:
    """Each bid the cheapest-first tie rule moves says over whom (`tie_break.moved_above`):
    bids ranked below it that score higher, by no more than tie_epsilon at the step it was
    picked; every other bid, and every bid ordered by price, has `tie_break` null."""
    bids = bids_for(shortlisted, [0.6, 0.95, 0.8, 0.7, 0.9, 0.85, 0.75, 0.65, 0.99, 0.72])
    answer = rank(matcher, bids, order_by="best_match", tie_epsilon=0.2)
    rank_of = {r.bid_id: r.rank for r in answer.ranked}
    score_of = {r.bid_id: r.score for r in answer.ranked}
    moved = [r for r in answer.ranked if r.tie_break is not None]
    assert moved, "epsilon 0.2 over ten near bids should move at least one"
    for r in moved:
        assert r.fully_meets_needs and r.tie_break is not None and r.tie_break.moved_above
        for other in r.tie_break.moved_above:
            assert rank_of[other] > r.rank
            assert r.score <= score_of[other] <= r.score + 0.2 + 1e-6
    # Without the tie rule (epsilon 0), or by price, nothing is moved.
    assert all(r.tie_break is None for r in rank(matcher, bids, order_by="best_match",
                                                  tie_epsilon=0.0).ranked)  # fmt: skip
    assert all(r.tie_break is None for r in rank(matcher, bids, order_by="price").ranked)


def test_tie_epsilon_is_configurable(matcher: Matcher, shortlisted: list[Any]) -> None:
    """With epsilon 0 the order is by score alone; the answer reports the epsilon used."""
    bids = bids_for(shortlisted, [0.6, 0.95, 0.8, 0.7, 0.9, 0.85, 0.75, 0.65])
    answer = rank(matcher, bids, order_by="best_match", tie_epsilon=0.0)
    assert answer.tie_epsilon == 0.0
    scores = [r.score for r in answer.ranked]
    assert scores == sorted(scores, reverse=True)


@given(
    data=st.data(),
    order_by=st.sampled_from(["price", "best_match"]),
    feedback=st.booleans(),
    weeks=st.sampled_from([4, 52, 104]),
    group=st.sampled_from([1, 2]),
)
def test_served_rank_and_compare_bytes_are_the_response_models_own(
    matcher: Matcher, shortlisted: list[Any], data: st.DataObject, order_by: str,
    feedback: bool, weeks: int, group: int,
) -> None:  # fmt: skip
    """What the adapters send for a rank or compare request (each bid written as text) is
    byte for byte what the response model, validated from it, serialises: any mix of valid,
    above-ceiling and duplicate bids, services from the menu, discounts, feedback, ties."""
    picks = data.draw(st.lists(st.sampled_from(shortlisted), min_size=1, max_size=12))
    bids = []
    for i, e in enumerate(picks):
        fraction = data.draw(st.sampled_from([0.55, 0.8, 0.8, 0.999, 1.0, 1.02]))
        bid: dict[str, Any] = {
            "bid_id": f"B{i:03d}", "listing_id": e.listing_id,
            "weekly_fee_gbp": format_pence(max(1, int(to_pence(e.ceiling_weekly_gbp) * fraction))),
        }  # fmt: skip
        if e.additional_services and data.draw(st.booleans()):
            service = e.additional_services[0]
            bid["additional_services"] = [{"code": service.code, "units_per_week": 1.5,
                                           "weeks": data.draw(st.integers(1, 120))}]  # fmt: skip
        bids.append(bid)
    body = referral(max_distance_miles=30, bids=bids, order_by=order_by, feedback=feedback,
                    expected_duration_weeks=weeks, sibling_group_size=group)  # fmt: skip
    answer = matcher.rank_answer(RankRequest.model_validate(body)).json()
    assert answer == RankResponse.model_validate_json(answer).model_dump_json().encode()
    compare = CompareRequest.model_validate(
        {"request": body, "a": {"profile": "balanced"}, "b": {"profile": "quality_focused"}}
    )
    both = matcher.compare_answer(compare).json()
    model = CompareResponse.model_validate_json(both)
    assert both == model.model_dump_json().encode()
    assert [m.rank_a for m in model.movements] == list(range(1, len(model.a.ranked) + 1))


_UNIT_FLOATS = st.floats(-2.0, 2.0, allow_nan=False)


@given(
    data=st.data(),
    names=st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=9),
    count=st.integers(1, 12),
)
def test_ranked_bids_prices_and_components_are_written_as_orjson_writes_them(
    data: st.DataObject, names: list[str], count: int
) -> None:
    """A ranking's prices and components are written with templates per answer: the text of
    each bid is what `orjson.dumps` writes for its fields built one by one (any discounts,
    services or not, groups, durations and several price shapes in one answer, percentages
    equal in value but written apart; names with `%` or quotes; rounding as `round`)."""
    ranked = []
    weights = data.draw(st.lists(st.floats(0, 10, allow_nan=False), min_size=len(names),
                                 max_size=len(names)))  # fmt: skip
    for i in range(count):
        terms = ContractTerms(
            Decimal(data.draw(st.sampled_from(["0", "5", "5.0", "2.5", "12.345", "0.000001"]))), 2,
            Decimal(data.draw(st.sampled_from(["0", "3", "99.99", "1.2345678"]))), 39,
        )  # fmt: skip
        # few group sizes and durations, so that bids share a price's shape (and template)
        children = data.draw(st.sampled_from([1, 2, 2, 3]))
        pricer = Pricer.of(terms, children, data.draw(st.sampled_from([12, 39, 52, 520])))
        services = data.draw(st.lists(st.tuples(
            st.sampled_from(["speech_therapy", "key_work"]), st.sampled_from(list(ServiceUnit)),
            st.integers(1, 10**6), st.sampled_from([Decimal("1.5"), Decimal(3)]),
            st.integers(1, 600),
        ), max_size=2))  # fmt: skip
        fee = data.draw(st.integers(1, 10**11 - 1))
        ceiling = data.draw(st.one_of(st.just(-1), st.integers(fee, 10**11)))
        bid = Bid.model_validate({"bid_id": f"B{i}", "listing_id": "L1",
                                  "weekly_fee_gbp": format_pence(fee)})  # fmt: skip
        ranked.append(RankedBid(
            bid=bid, row=0, distance_m=1.0, in_area=True,
            price=pricer.price(fee, services), ceiling_pence=ceiling,
            fully_meets_needs=True, score=0.5,
            values=data.draw(st.lists(_UNIT_FLOATS, min_size=len(names), max_size=len(names))),
            contributions=data.draw(st.lists(_UNIT_FLOATS, min_size=len(names),
                                             max_size=len(names))),
        ))  # fmt: skip
    assert price_texts(ranked) == [orjson.dumps(_plain_price(r)) for r in ranked]
    assert _components(ranked, names, weights) == [
        orjson.dumps({name: {"value": round(v, 6), "weight": w, "contribution": round(c, 6)}
                      for name, w, v, c in zip(names, weights, r.values, r.contributions,
                                               strict=True)})
        for r in ranked
    ]  # fmt: skip


def test_prices_with_percentages_equal_in_value_but_written_apart_keep_their_text() -> None:
    """Two bids of one answer whose discounts read "5" and "5.0" (equal as Decimals, so one
    price template could serve both): each shows its own percentage."""
    ranked = []
    for i, percent in enumerate(["5", "5.0"]):
        pricer = Pricer.of(ContractTerms(Decimal(percent), 2, Decimal(0), 39), 2, 52)
        bid = Bid.model_validate({"bid_id": f"B{i}", "listing_id": "L1", "weekly_fee_gbp": "10.00"})
        ranked.append(RankedBid(bid, 0, 1.0, True, pricer.price(1000, []), 2000, True, 0.5, [], []))
    assert price_texts(ranked) == [orjson.dumps(_plain_price(r)) for r in ranked]
    assert b'"percent":"5.0"' in price_texts(ranked)[1]


def _plain_price(r: RankedBid) -> dict[str, Any]:
    """`PriceOut`'s fields of a ranked bid, one by one."""
    p = r.price
    return {
        "weekly_fee_gbp": format_pence(p.fee_pence),
        "children": p.children,
        "gross_weekly_core_gbp": format_pence(p.gross_weekly_core_pence),
        "discounts": [{"kind": d.kind, "percent": str(d.percent),
                       "weekly_amount_gbp": format_pence(d.weekly_pence)} for d in p.discounts],
        "net_weekly_core_gbp": format_pence(p.net_weekly_core_pence),
        "additional_services": [
            {"code": s.code, "unit": s.unit.value, "rate_gbp": format_pence(s.rate_pence),
             "units_per_week": str(s.units_per_week), "weeks_charged": s.weeks_charged,
             "cost_gbp": format_pence(s.cost_pence)}
            for s in p.services
        ],
        "additional_services_total_gbp": format_pence(p.services_total_pence),
        "expected_duration_weeks": p.expected_duration_weeks,
        "expected_total_cost_gbp": format_pence(p.expected_total_pence),
        "average_weekly_cost_gbp": format_pence(p.average_weekly_pence),
        "ceiling_weekly_gbp": format_pence(r.ceiling_pence),
        "headroom_weekly_gbp": format_pence(r.ceiling_pence - p.fee_pence),
    }  # fmt: skip
