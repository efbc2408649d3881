"""Block allocation: exact (equals brute force), capacity-safe, never splits siblings."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.allocation import Option, allocate, greedy_plan, solve
from matcher.batch_requests import AllocateRequest
from matcher.errors import LimitExceededError
from matcher.money import format_pence, to_pence
from matcher.rank_response import RankedBidOut
from matcher.requests import ShortlistRequest
from matcher.service import Matcher
from tests.conftest import referral


@pytest.fixture(scope="module")
def singles(matcher: Matcher) -> list[Any]:
    """Eligible listings for a Harrow boy (each with at least one vacancy)."""
    body = referral(limit=60, max_distance_miles=30)
    return list(matcher.shortlist(ShortlistRequest.model_validate(body)).shortlist)


def bid(entry: Any, bid_id: str, fraction: float) -> dict[str, Any]:
    fee = format_pence(int(to_pence(entry.ceiling_weekly_gbp) * fraction))
    return {"bid_id": bid_id, "listing_id": entry.listing_id, "weekly_fee_gbp": fee}


def request(refs: list[list[dict[str, Any]]], **extra: Any) -> AllocateRequest:
    referrals = [
        referral(referral_id=f"R{i}", max_distance_miles=30, bids=bids)
        for i, bids in enumerate(refs)
    ]
    return AllocateRequest.model_validate({"referrals": referrals, **extra})


def test_planning_together_places_a_child_greedy_would_leave_out(
    matcher: Matcher, singles: list[Any]
) -> None:
    """R0 could use A (cheap) or B; R1 only A (one vacancy). Greedy gives A to R0 and R1 is
    left out; the optimum gives B to R0 and A to R1."""
    a = next(e for e in singles if e.vacancies == 1)
    b = next(e for e in singles if e.listing_id != a.listing_id)
    req = request([[bid(a, "A0", 0.5), bid(b, "B0", 0.95)], [bid(a, "A1", 0.9)]])
    answer = allocate(matcher, req, max_referrals=500)
    assert answer["optimal"]["placed"] == 2
    assert answer["greedy"]["placed"] == 1
    assert answer["gain"]["placed"] == 1
    chosen = {x["referral_id"]: x["bid"]["bid_id"] for x in answer["optimal"]["assignments"]}
    assert chosen == {"R0": "B0", "R1": "A1"}


def test_min_cost_beats_greedy_cost_when_all_are_placed(
    matcher: Matcher, singles: list[Any]
) -> None:
    """Two referrals, two one-vacancy listings: greedy's first pick forces a dear second."""
    a, b = [e for e in singles if e.vacancies == 1][:2]
    m = min(to_pence(a.ceiling_weekly_gbp), to_pence(b.ceiling_weekly_gbp))

    def fee(entry: Any, bid_id: str, fraction: float) -> dict[str, Any]:
        return {"bid_id": bid_id, "listing_id": entry.listing_id,
                "weekly_fee_gbp": format_pence(int(m * fraction))}  # fmt: skip

    req = request(
        [[fee(a, "A0", 0.80), fee(b, "B0", 0.81)], [fee(a, "A1", 0.5), fee(b, "B1", 1.0)]]
    )
    answer = allocate(matcher, req, max_referrals=500)
    assert answer["optimal"]["placed"] == answer["greedy"]["placed"] == 2
    optimal = to_pence(answer["optimal"]["total_cost_gbp"])
    greedy = to_pence(answer["greedy"]["total_cost_gbp"])
    assert optimal < greedy
    assert to_pence(answer["gain"]["cost_saved_gbp"]) == greedy - optimal


def test_unplaced_referrals_say_why(matcher: Matcher, singles: list[Any]) -> None:
    """No valid bid, or lost to capacity naming who took the place."""
    a = next(e for e in singles if e.vacancies == 1)
    above = {"bid_id": "X", "listing_id": a.listing_id, "weekly_fee_gbp": "99999.00"}
    req = request([[bid(a, "A0", 0.6)], [bid(a, "A1", 0.9)], [above]])
    answer = allocate(matcher, req, max_referrals=500)
    reasons = {u["referral_id"]: u for u in answer["unplaced"]}
    assert reasons["R1"]["reason"] == "lost_to_capacity" and reasons["R1"]["taken_by"] == ["R0"]
    assert reasons["R2"]["reason"] == "no_valid_bid" and reasons["R2"]["rejected_bids"] == 1


def test_same_input_same_plan_and_limits(matcher: Matcher, singles: list[Any]) -> None:
    """Deterministic; more referrals than allowed is a 422-class limit error."""
    refs = [[bid(e, f"B{i}{j}", 0.7 + 0.05 * j) for j, e in enumerate(singles[i : i + 3])]
            for i in range(6)]  # fmt: skip
    req = request(refs, objective="max_match")
    assert allocate(matcher, req, 500) == allocate(matcher, req, 500)
    with pytest.raises(LimitExceededError):
        allocate(matcher, req, max_referrals=5)


def _dummy_bid(bid_id: str, listing: str) -> RankedBidOut:
    return RankedBidOut.model_construct(bid_id=bid_id, listing_id=listing)


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[Option], int, dict[str, int], int | None]:
    """Small random problems: <= 5 referrals x <= 3 bids over 3 listings."""
    n = draw(st.integers(1, 5))
    vacancies = {f"L{j}": draw(st.integers(0, 3)) for j in range(3)}
    options: list[Option] = []
    for r in range(n):
        k = draw(st.integers(1, 2))
        for b in range(draw(st.integers(0, 3))):
            listing = f"L{draw(st.integers(0, 2))}"
            cost = draw(st.integers(100, 10_000))
            score = draw(st.integers(0, 100)) / 100
            options.append(Option(r, _dummy_bid(f"{r}-{b}", listing), cost, score, listing, k))
    budget = draw(st.none() | st.integers(0, 30_000))
    return options, n, vacancies, budget


def _feasible(options: list[Option], chosen: tuple[int, ...], vac: dict[str, int],
              budget: int | None) -> bool:  # fmt: skip
    refs = [options[k].referral for k in chosen]
    if len(set(refs)) != len(refs):
        return False
    for listing, free in vac.items():
        if sum(options[k].children for k in chosen if options[k].listing_id == listing) > free:
            return False
    return budget is None or sum(options[k].cost_pence for k in chosen) <= budget


@given(problem=problems(), objective=st.sampled_from(["min_cost", "max_match"]))
def test_solver_equals_brute_force_and_respects_capacity(
    problem: tuple[list[Option], int, dict[str, int], int | None], objective: str
) -> None:
    """The MILP optimum equals exhaustive enumeration (placements first, then the objective);
    capacity and budget hold; a referral (a sibling group) gets at most one listing."""
    options, n, vac, budget = problem
    chosen = tuple(solve(options, n, vac, objective, budget))
    assert _feasible(options, chosen, vac, budget)

    def value(plan: tuple[int, ...]) -> tuple[int, float]:
        if objective == "min_cost":
            return (len(plan), -sum(options[k].cost_pence for k in plan))
        return (len(plan), round(sum(options[k].score for k in plan), 9))

    best = max(
        (value(p) for size in range(len(options) + 1)
         for p in itertools.combinations(range(len(options)), size)
         if _feasible(options, p, vac, budget)),
    )  # fmt: skip
    assert value(chosen) == best
    greedy = tuple(greedy_plan(options, n, vac, objective, budget))
    assert _feasible(options, greedy, vac, budget)
    assert value(greedy) <= best
