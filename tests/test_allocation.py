"""Block allocation: exact (equals brute force), capacity-safe, siblings kept together,
deterministic, and strictly better than greedy where greedy goes wrong."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.batch.allocation import allocate_response
from matcher.batch.models import AllocateRequest, AllocateResponse
from matcher.batch.solver import Option, greedy_plan, solve
from matcher.bids.request import RankRequest
from matcher.cli.main import main
from matcher.match.request import ShortlistRequest
from matcher.service import Matcher
from matcher.vocabulary.errors import LimitExceededError, RequestError
from matcher.vocabulary.money import format_pence, to_pence
from tests.conftest import referral

# --- the solver on hand-made and random problems ----------------------------------------


def opt(referral: int, listing: str, cost: int, score: float = 0.5, children: int = 1) -> Option:
    return Option(referral, listing, children, cost, round(score * 1_000_000))


def total(options: list[Option], chosen: list[int]) -> tuple[int, int, int]:
    """(children placed, cost in pence, score in millionths) of a plan."""
    picked = [options[k] for k in chosen]
    return (
        sum(o.children for o in picked),
        sum(o.cost_pence for o in picked),
        sum(o.score_micro for o in picked),
    )


@pytest.mark.parametrize("objective", ["min_cost", "max_match"])
def test_greedy_leaves_a_child_out_that_planning_places(objective: str) -> None:
    """R0 likes A best (cheapest and best match) but could use B; R1 can only use A, which
    has one vacancy. Greedy gives A to R0 and R1 goes unplaced; the optimum places both."""
    options = [opt(0, "A", 100, 0.9), opt(0, "B", 200, 0.6), opt(1, "A", 150, 0.8)]
    vacancies = {"A": 1, "B": 1}
    greedy = greedy_plan(options, 2, vacancies, objective, None)
    best = solve(options, vacancies, objective, None)
    assert total(options, greedy)[0] == 1
    assert sorted(best) == [1, 2]


def test_min_cost_greedy_pays_more_with_everyone_placed() -> None:
    """Both place two children, but greedy's first cheap pick forces a dear second one."""
    options = [opt(0, "A", 800), opt(0, "B", 810), opt(1, "A", 500), opt(1, "B", 1000)]
    vacancies = {"A": 1, "B": 1}
    greedy = total(options, greedy_plan(options, 2, vacancies, "min_cost", None))
    best = total(options, solve(options, vacancies, "min_cost", None))
    assert greedy[:2] == (2, 1800)
    assert best[:2] == (2, 1310)


def test_max_match_greedy_scores_less_with_everyone_placed() -> None:
    """R0 takes A (0.9) leaving R1 B (0.3): 1.2. Swapping gives 0.8 + 0.85 = 1.65."""
    options = [opt(0, "A", 1, 0.9), opt(0, "B", 1, 0.8), opt(1, "A", 1, 0.85), opt(1, "B", 1, 0.3)]
    vacancies = {"A": 1, "B": 1}
    greedy = total(options, greedy_plan(options, 2, vacancies, "max_match", None))
    best = total(options, solve(options, vacancies, "max_match", None))
    assert greedy == (2, 2, 1_200_000)
    assert best == (2, 2, 1_650_000)


def test_a_budget_trades_cost_for_placements_and_is_never_exceeded() -> None:
    """R0's best match costs 900; its other bid 400; R1's only bid 500."""
    options = [opt(0, "A", 900, 0.95), opt(0, "B", 400, 0.2), opt(1, "C", 500, 0.5)]
    vacancies = {"A": 1, "B": 1, "C": 1}
    assert solve(options, vacancies, "max_match", None) == [0, 2]  # 1,400: no budget
    assert solve(options, vacancies, "max_match", 1000) == [1, 2]  # two placed beat 0.95
    assert solve(options, vacancies, "max_match", 899) == [2]  # one: the better match
    assert solve(options, vacancies, "max_match", 450) == [1]  # one: all that is affordable


def test_a_sibling_group_needs_all_its_vacancies_in_one_listing() -> None:
    """A group of 3 cannot use a listing with 2 vacancies, however cheap; two singles can."""
    options = [opt(0, "A", 100, children=3), opt(1, "A", 500), opt(2, "A", 500)]
    chosen = solve(options, {"A": 2}, "min_cost", None)
    assert sorted(chosen) == [1, 2]


def test_more_children_placed_wins_over_more_referrals_placed() -> None:
    """A group of 3 or two single children for 3 vacancies: the group (3 children > 2)."""
    options = [opt(0, "A", 9000, children=3), opt(1, "A", 100), opt(2, "A", 100)]
    assert solve(options, {"A": 3}, "min_cost", None) == [0]


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[Option], int, dict[str, int], int | None]:
    """Small random problems: <= 5 referrals (sibling groups of 1-3) x <= 3 bids over 3
    listings, scores on a coarse grid so that ties happen."""
    n = draw(st.integers(1, 5))
    vacancies = {f"L{j}": draw(st.integers(0, 4)) for j in range(3)}
    options: list[Option] = []
    for r in range(n):
        k = draw(st.integers(1, 3))
        listings = draw(st.lists(st.integers(0, 2), max_size=3, unique=True))
        for j in listings:
            cost = draw(st.integers(1, 40)) * 250
            score = draw(st.integers(0, 10)) / 10
            options.append(opt(r, f"L{j}", cost, score, k))
    budget = draw(st.none() | st.integers(0, 30_000))
    return options, n, vacancies, budget


def _feasible(
    options: list[Option], chosen: tuple[int, ...], vac: dict[str, int], budget: int | None
) -> bool:
    refs = [options[k].referral for k in chosen]
    if len(set(refs)) != len(refs):
        return False
    for listing, free in vac.items():
        if sum(options[k].children for k in chosen if options[k].listing_id == listing) > free:
            return False
    return budget is None or sum(options[k].cost_pence for k in chosen) <= budget


@given(problem=problems(), objective=st.sampled_from(["min_cost", "max_match"]))
def test_solver_equals_brute_force(
    problem: tuple[list[Option], int, dict[str, int], int | None], objective: str
) -> None:
    """The MILP optimum equals exhaustive enumeration, lexicographically: children placed,
    then the objective, then the other measure; capacity and budget hold; each referral (a
    sibling group) gets at most one listing; greedy is feasible and never better."""
    options, n, vac, budget = problem
    chosen = tuple(solve(options, vac, objective, budget))
    assert _feasible(options, chosen, vac, budget)

    def value(plan: tuple[int, ...]) -> tuple[int, int, int]:
        placed, cost, score = total(options, list(plan))
        return (placed, -cost, score) if objective == "min_cost" else (placed, score, -cost)

    best = max(
        value(p)
        for size in range(min(n, len(options)) + 1)
        for p in itertools.combinations(range(len(options)), size)
        if _feasible(options, p, vac, budget)
    )
    assert value(chosen) == best
    greedy = tuple(greedy_plan(options, n, vac, objective, budget))
    assert _feasible(options, greedy, vac, budget)
    assert value(greedy)[:2] <= best[:2]


@given(problem=problems())
def test_capacity_is_never_exceeded(
    problem: tuple[list[Option], int, dict[str, int], int | None],
) -> None:
    """Whatever the bids: children placed in a listing <= its vacancies, one listing per
    referral, all of a sibling group's children in it."""
    options, _, vac, budget = problem
    chosen = solve(options, vac, "min_cost", budget)
    used: dict[str, int] = {}
    for k in chosen:
        used[options[k].listing_id] = used.get(options[k].listing_id, 0) + options[k].children
    assert all(used[lid] <= vac[lid] for lid in used)
    assert len({options[k].referral for k in chosen}) == len(chosen)


# --- end to end: rank validates and prices, the plan reports ------------------------------


@pytest.fixture(scope="module")
def nearby(matcher: Matcher) -> list[Any]:
    """Eligible listings for a Harrow boy of 14 within 30 miles (each with a vacancy)."""
    body = referral(limit=80, max_distance_miles=30)
    return list(matcher.shortlist(ShortlistRequest.model_validate(body)).shortlist)


def bid(entry: Any, bid_id: str, fraction: float, base: int | None = None) -> dict[str, Any]:
    pence = base if base is not None else to_pence(entry.ceiling_weekly_gbp)
    fee = format_pence(int(pence * fraction))
    return {"bid_id": bid_id, "listing_id": entry.listing_id, "weekly_fee_gbp": fee}


def request(refs: list[list[dict[str, Any]]], **extra: Any) -> AllocateRequest:
    referrals = [
        referral(referral_id=f"R{i}", max_distance_miles=30, bids=bids)
        for i, bids in enumerate(refs)
    ]
    return AllocateRequest.model_validate({"referrals": referrals, **extra})


def plan_of(answer: AllocateResponse, which: str = "optimal") -> dict[str, str]:
    plan = answer.optimal if which == "optimal" else answer.greedy
    return {a.referral_id: a.bid.bid_id for a in plan.assignments}


@pytest.mark.parametrize("objective", ["min_cost", "max_match"])
def test_end_to_end_planning_places_the_child_greedy_leaves_out(
    matcher: Matcher, nearby: list[Any], objective: str
) -> None:
    """Every bid at the same fee. R0 bids on A (one vacancy, R0's best match) and on B;
    R1 only on A. Greedy gives R0 its best, A, and leaves R1 out; the plan gives B to R0
    and A to R1."""
    fee = min(to_pence(e.ceiling_weekly_gbp) for e in nearby) // 2
    probe = referral(referral_id="P", max_distance_miles=30, order_by="best_match",
                     bids=[bid(e, f"P{j}", 1.0, fee) for j, e in enumerate(nearby)])  # fmt: skip
    ranked = matcher.rank(RankRequest.model_validate(probe))
    score = {r.listing_id: r.score for r in ranked.ranked}
    a = max((e for e in nearby if e.vacancies == 1), key=lambda e: score[e.listing_id])
    b = next(e for e in nearby if score[e.listing_id] < score[a.listing_id])
    req = request(
        [[bid(a, "A0", 1.0, fee), bid(b, "B0", 1.0, fee)], [bid(a, "A1", 1.0, fee)]],
        objective=objective,
    )
    answer = allocate_response(matcher, req, max_referrals=500)
    assert plan_of(answer, "greedy") == {"R0": "A0"}
    assert plan_of(answer) == {"R0": "B0", "R1": "A1"}
    assert answer.gain.placed == 1
    assert answer.unplaced == []
    assert answer.greedy.unplaced_referral_ids == ["R1"]


def test_end_to_end_min_cost_saving_is_reported(matcher: Matcher, nearby: list[Any]) -> None:
    """Two referrals, two one-vacancy listings: greedy's first pick forces a dear second."""
    a, b = [e for e in nearby if e.vacancies == 1][:2]
    m = min(to_pence(a.ceiling_weekly_gbp), to_pence(b.ceiling_weekly_gbp))
    req = request(
        [[bid(a, "A0", 0.80, m), bid(b, "B0", 0.81, m)],
         [bid(a, "A1", 0.50, m), bid(b, "B1", 1.00, m)]]
    )  # fmt: skip
    answer = allocate_response(matcher, req, max_referrals=500)
    assert answer.optimal.placed == answer.greedy.placed == 2
    optimal = to_pence(answer.optimal.total_cost_gbp)
    greedy = to_pence(answer.greedy.total_cost_gbp)
    assert optimal < greedy
    assert to_pence(answer.gain.cost_saved_gbp) == greedy - optimal
    assert answer.optimal.objective_value == optimal / 100
    assert plan_of(answer) == {"R0": "B0", "R1": "A1"}
    priced = answer.optimal.assignments[0].bid.price
    assert priced.expected_total_cost_gbp and priced.discounts is not None


def test_unplaced_referrals_say_why(matcher: Matcher, nearby: list[Any]) -> None:
    """No valid bid (its rejected bids keep their reasons); lost to capacity, naming who
    took the place; over budget, with the money left."""
    a = next(e for e in nearby if e.vacancies == 1)
    b = next(e for e in nearby if e.listing_id != a.listing_id)
    above = {"bid_id": "X", "listing_id": a.listing_id, "weekly_fee_gbp": "99999.00"}
    req = request([[bid(a, "A0", 0.6)], [bid(a, "A1", 0.9)], [above], []])
    answer = allocate_response(matcher, req, max_referrals=500)
    why = {u.referral_id: u for u in answer.unplaced}
    assert why["R1"].reason == "lost_to_capacity" and why["R1"].taken_by == ["R0"]
    assert why["R2"].reason == "no_valid_bid"
    assert why["R2"].rejected[0].reasons == ["above_ceiling"]
    assert why["R3"].reason == "no_valid_bid" and why["R3"].rejected == []

    dear = request([[bid(a, "A0", 0.6)], [bid(b, "B1", 0.9)]])
    first = allocate_response(matcher, dear, 500).optimal.assignments
    cost = {x.referral_id: to_pence(x.bid.price.expected_total_cost_gbp) for x in first}
    budget = format_pence(max(cost.values()) + 1)
    capped = allocate_response(matcher, dear.model_copy(update={"budget_gbp": budget}), 500)
    assert capped.optimal.placed == 1
    (left,) = capped.unplaced
    assert left.reason == "over_budget"
    assert to_pence(left.cheapest_fitting_cost_gbp or "0") > to_pence(left.budget_left_gbp or "0")
    assert to_pence(capped.optimal.total_cost_gbp) <= to_pence(budget)


def test_sibling_groups_stay_together(matcher: Matcher) -> None:
    """Two sibling groups of 2 bid on the same listing with 3 vacancies: one gets it, whole;
    the other is lost to capacity (a group is never split across listings)."""
    body = referral(dpv="fostering", lot="standard", sibling_group_size=2,
                    child={"age": 9, "gender": "female", "needs": []},
                    limit=200, max_distance_miles=40)  # fmt: skip
    found = matcher.shortlist(ShortlistRequest.model_validate(body)).shortlist
    three = next(e for e in found if e.vacancies == 3)
    other = next(e for e in found if e.vacancies >= 2 and e.listing_id != three.listing_id)
    groups = [
        body | {"referral_id": f"S{i}", "bids": [bid(three, f"T{i}", 0.7 + 0.1 * i)]}
        for i in range(2)
    ]
    groups.append(body | {"referral_id": "S2", "bids": [bid(other, "O2", 0.8)]})
    req = AllocateRequest.model_validate({"referrals": groups})
    answer = allocate_response(matcher, req, 500)
    placed = {a.referral_id: a for a in answer.optimal.assignments}
    assert set(placed) == {"S0", "S2"}
    assert all(a.children == 2 and a.bid.price.children == 2 for a in placed.values())
    assert answer.optimal.children_placed == 4
    assert answer.unplaced[0].reason == "lost_to_capacity"
    assert answer.unplaced[0].taken_by == ["S0"]


def test_same_input_same_json_and_order_does_not_matter(
    matcher: Matcher, nearby: list[Any]
) -> None:
    """Twice the same request: byte-identical JSON. The referrals reversed: the same
    optimal objective and the same plan (the model is built in canonical order)."""
    singles = [e for e in nearby if e.vacancies == 1]
    refs = [[bid(e, f"B{i}{j}", 0.7 + 0.05 * j) for j, e in enumerate(singles[i : i + 4])]
            for i in range(8)]  # fmt: skip
    for objective in ("min_cost", "max_match"):
        req = request(refs, objective=objective)
        first = allocate_response(matcher, req, 500)
        assert first.model_dump_json() == allocate_response(matcher, req, 500).model_dump_json()
        flipped = req.model_copy(update={"referrals": list(reversed(req.referrals))})
        second = allocate_response(matcher, flipped, 500)
        assert second.optimal.objective_value == first.optimal.objective_value
        assert (second.optimal.placed, second.optimal.total_cost_gbp) == (
            first.optimal.placed,
            first.optimal.total_cost_gbp,
        )
        assert plan_of(second) == plan_of(first)


def test_limits_and_duplicate_ids(matcher: Matcher, nearby: list[Any]) -> None:
    """Too many referrals or bids: limit_exceeded (422); duplicate referral ids refused;
    an error inside a referral names its position."""
    refs = [[bid(e, f"B{i}{j}", 0.8) for j, e in enumerate(nearby[i : i + 3])] for i in range(6)]
    req = request(refs)
    with pytest.raises(LimitExceededError) as info:
        allocate_response(matcher, req, max_referrals=5)
    assert info.value.status_code == 422
    with pytest.raises(LimitExceededError):
        allocate_response(matcher, req, max_referrals=500, max_bids=17)
    twins = req.model_copy(update={"referrals": [req.referrals[0], req.referrals[0]]})
    with pytest.raises(RequestError, match="referral_id"):
        allocate_response(matcher, twins, 500)
    far = req.referrals[1].model_copy(update={"placing_authority": "Atlantis"})
    with pytest.raises(RequestError) as bad:
        allocate_response(matcher, req.model_copy(update={"referrals": [req.referrals[0], far]}),
                          500)  # fmt: skip
    assert bad.value.details[0].field == "referrals.1.placing_authority"


def test_cli_allocates_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`matcher allocate examples/allocate.json` on the embedded registry."""
    example = Path(__file__).parent.parent / "examples" / "allocate.json"
    assert main(["allocate", str(example)]) == 0
    answer = AllocateResponse.model_validate_json(capsys.readouterr().out)
    assert answer.optimal.placed > answer.greedy.placed or to_pence(answer.gain.cost_saved_gbp) > 0
    assert main(["allocate", "/nonexistent.json"]) == 1
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "invalid_request"
