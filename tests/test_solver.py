"""The lexicographic MILP within a time limit: an honest status, a feasible maximal plan, and
bounds that hold (the exact optimum itself is tested against brute force in test_allocation)."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pytest

from matcher.batch.allocation import solver_out
from matcher.batch.deadline import Deadline
from matcher.batch.solver import Option, Solution, greedy_plan, solve_stages
from matcher.vocabulary.errors import TimeLimitExceededError


def crowded(n: int = 500, each: int = 40, listings: int = 240, seed: int = 0) -> tuple[
    list[Option], dict[str, int]
]:  # fmt: skip
    """n referrals x `each` bids over `listings` one- and two-bed listings (as the issue's
    500 x 20,000 case: more referrals than places); costs and scores drawn at random."""
    rng = np.random.default_rng(seed)
    vacancies = {f"L{j:03d}": int(rng.integers(1, 3)) for j in range(listings)}
    options = [
        Option(r, f"L{j:03d}", 1, int(rng.integers(15_000_000, 25_000_000)),
               int(rng.integers(400_000, 800_000)))
        for r in range(n)
        for j in sorted(rng.choice(listings, each, replace=False).tolist())
    ]  # fmt: skip
    return options, vacancies


def measures(options: list[Option], plan: list[int]) -> dict[str, int]:
    picked = [options[k] for k in plan]
    return {
        "children_placed": sum(o.children for o in picked),
        "total_cost": sum(o.cost_pence for o in picked),
        "total_score": sum(o.score_micro for o in picked),
    }


def assert_feasible_and_maximal(
    options: list[Option], plan: list[int], vacancies: dict[str, int], budget: int
) -> None:
    """Capacity, budget and one listing per referral hold, in integers; and no unplaced
    referral has a bid on a listing with room within the budget left (so every unplaced
    referral has a reason the answer can give)."""
    used: dict[str, int] = defaultdict(int)
    for k in plan:
        used[options[k].listing_id] += options[k].children
    assert all(used[lid] <= vacancies[lid] for lid in used)
    assert len({options[k].referral for k in plan}) == len(plan)
    spent = sum(options[k].cost_pence for k in plan)
    assert spent <= budget
    placed = {options[k].referral for k in plan}
    for o in options:
        if o.referral not in placed:
            fits = vacancies[o.listing_id] - used[o.listing_id] >= o.children
            assert not (fits and spent + o.cost_pence <= budget), o


@pytest.fixture(scope="module")
def big() -> tuple[list[Option], dict[str, int], int]:
    options, vacancies = crowded()
    cheapest = greedy_plan(options, 500, vacancies, "min_cost", None)
    budget = int(0.8 * sum(options[k].cost_pence for k in cheapest))
    return options, vacancies, budget


def test_500_referrals_budgeted_max_match_stops_at_its_limit_and_says_so(
    big: tuple[list[Option], dict[str, int], int],
) -> None:
    """500 referrals x 40 bids, max_match within a binding budget, 0.5 s for the solver
    (unbounded it takes several seconds here): it returns within the limit plus HiGHS's
    granularity, with status time_limit naming the stage it stopped in; the earlier stages
    are proven, the later ones not run; the plan is feasible, maximal, at least as good as
    greedy, and within the bound HiGHS proved."""
    options, vacancies, budget = big
    started = time.monotonic()
    solution = solve_stages(options, vacancies, "max_match", budget, Deadline(0.5, started, "t"))
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.0, elapsed
    assert solution.status == "time_limit"
    statuses = [s.status for s in solution.stages]
    stopped = statuses.index("time_limit")
    assert statuses == ["optimal"] * stopped + ["time_limit"] + ["not_run"] * (2 - stopped)
    assert_feasible_and_maximal(options, solution.chosen, vacancies, budget)
    reached = measures(options, solution.chosen)
    for stage in solution.stages:
        assert stage.value == reached[stage.measure]
        if stage.bound is not None:
            assert stage.value <= stage.bound if stage.maximise else stage.value >= stage.bound
    greedy = measures(options, greedy_plan(options, 500, vacancies, "max_match", budget))
    assert reached["children_placed"] >= greedy["children_placed"]
    out = solver_out(solution, 0.5)
    assert out.status == "time_limit" and out.stopped_in == out.stages[stopped].measure
    assert "best found" in out.guarantee


def test_with_no_time_left_the_answer_is_the_filled_greedy_plan_with_nothing_proven() -> None:
    """The deadline already past: HiGHS is not started; greedy's plan (maximal) is reported
    as best found, with no bound and the later stages not run."""
    options = [Option(0, "A", 1, 100, 900_000), Option(0, "B", 1, 200, 600_000),
               Option(1, "A", 1, 150, 800_000)]  # fmt: skip
    vacancies = {"A": 1, "B": 1}
    past = Deadline(1.0, time.monotonic() - 2.0, "t")
    solution = solve_stages(options, vacancies, "max_match", None, past)
    assert solution.chosen == [0]  # greedy: R0 takes A; R1 has nothing left
    assert [s.status for s in solution.stages] == ["time_limit", "not_run", "not_run"]
    assert solution.stages[0].bound is None
    assert solution.seconds == 0.0
    assert "children placed: best found 1, nothing proven" in solver_out(solution, 1.0).guarantee


def test_unbounded_solve_is_optimal_at_every_stage(
    big: tuple[list[Option], dict[str, int], int],
) -> None:
    """Without a deadline (in-process use) every stage is proven, gap 0."""
    options, vacancies, budget = big
    small = [o for o in options if o.referral < 60]
    solution: Solution = solve_stages(small, vacancies, "min_cost", budget // 8)
    assert solution.status == "optimal"
    out = solver_out(solution, None)
    assert all(s.gap == 0.0 and s.bound == s.value for s in out.stages)
    assert out.stopped_in is None and out.time_limit_s is None


def test_deadline_check_names_the_limit_and_the_stage() -> None:
    """Past the limit, check() raises the 503 with the limit and where it stopped."""
    past = Deadline(2.5, time.monotonic() - 3.0, "allocation")
    with pytest.raises(TimeLimitExceededError) as info:
        past.check("ranking bids", "12 of 500 referrals ranked")
    body = info.value.body()["error"]
    assert info.value.status_code == 503 and body["code"] == "time_limit_exceeded"
    assert "2.5 s" in body["message"] and "12 of 500" in body["message"]
    assert body["details"][0]["time_limit_s"] == 2.5
    assert body["details"][0]["stage"] == "ranking bids"
    Deadline(60.0, time.monotonic(), "allocation").check("ranking bids")  # in time: no error
