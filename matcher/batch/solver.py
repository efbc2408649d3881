"""The 0/1 programme of block allocation, solved lexicographically with HiGHS, in bounded time.

Variables x[k] in {0, 1}, one per option (a referral's valid bid): per referral
sum x <= 1; per listing that could overflow sum children x <= vacancies; optionally
sum cost x <= budget. Solved with scipy's `milp` (HiGHS) one integer-valued stage after
another, so that no weighting trades one goal against the next and no float scaling blurs
a penny (see `matcher.batch.allocation`):

1. most children placed (maximise);
2. the objective: least cost in pence (`min_cost`) or greatest score in millionths
   (`max_match`), with stage 1's optimum kept by a row;
3. the other measure, with stage 2's optimum kept by a row.

Stages 2 and 3 start from the last optimum (a MIP start) without HiGHS's presolve: with the
dense row that keeps an earlier optimum (or the objective cutoff a MIP start brings) it
reduced nothing and took 9-42 s of stages that otherwise take about a second on 500
referrals x 20,000 bids (measured before and after with `python -m benchmarks.batch`).
Stage 1 runs cold, with presolve. Bids that alone cost more than the budget are fixed at 0.

Time: each stage gets what remains of a `Deadline` as HiGHS's `time_limit`. A stage
stopped at the limit keeps the best plan found and the bound HiGHS proved, and the later
stages do not run:

- stage 1 stopped: the better of HiGHS's incumbent and the greedy plan, each *filled*
  (referrals with room in a listing and budget left are added, in canonical order), so the
  plan is maximal: every unplaced referral is still lost to capacity or over budget;
- stage 2 or 3 stopped: the best of the incumbent, the previous stage's optimum (feasible
  for it by construction) and the greedy plan, compared lexicographically.

With no time left for a stage at all it reports the plan it has (at worst greedy's) with
nothing proven. Every plan is rechecked in integers before it is reported.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

# scipy's own binding of HiGHS, the one `scipy.optimize.milp` calls: milp offers no MIP start,
# no control of the heuristics and no bound without an incumbent (see `_StagedModel`).
from scipy.optimize._highspy import _core as highs
from scipy.sparse import csr_array, vstack

from matcher.batch.deadline import Deadline
from matcher.vocabulary import errors

F64 = npt.NDArray[np.float64]
Measure = Literal["children_placed", "total_cost", "total_score"]
StageStatus = Literal["optimal", "time_limit", "not_run"]

_MILP_OPTIMAL, _MILP_LIMIT = 0, 1  # scipy's milp status codes
_BOUND_EPS = 1e-6  # HiGHS's bounds are floats; the measures are integers


@dataclass(frozen=True, slots=True)
class Option:
    """One valid bid of one referral: a candidate assignment (plain numbers for the solver)."""

    referral: int  # position of the referral in the request
    listing_id: str
    children: int
    cost_pence: int
    score_micro: int  # best-match score in millionths


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage as solved: its measure on the reported plan and what is proven about it.

    `value` and `bound` are integers in the measure's unit (children, pence, millionths);
    `bound` is the best any plan could reach given the earlier stages (None: not proven).
    """

    measure: Measure
    maximise: bool
    status: StageStatus
    value: int
    bound: int | None
    seconds: float


@dataclass(frozen=True, slots=True)
class Solution:
    """The reported plan (option indices, ascending) and how each stage ended."""

    chosen: list[int]
    stages: tuple[Stage, ...]

    @property
    def status(self) -> Literal["optimal", "time_limit"]:
        """`optimal` when every stage was solved to optimality."""
        return "optimal" if all(s.status == "optimal" for s in self.stages) else "time_limit"

    @property
    def seconds(self) -> float:
        """Time spent in the solver, all stages."""
        return sum(s.seconds for s in self.stages)


@dataclass(frozen=True, slots=True)
class _Goal:
    measure: Measure
    maximise: bool
    values: list[int]  # per option, in the measure's unit


def goals(options: Sequence[Option], objective: str) -> tuple[_Goal, _Goal, _Goal]:
    """The three stages' measures in order, for `objective`."""
    children = _Goal("children_placed", True, [o.children for o in options])
    cost = _Goal("total_cost", False, [o.cost_pence for o in options])
    score = _Goal("total_score", True, [o.score_micro for o in options])
    return (children, cost, score) if objective == "min_cost" else (children, score, cost)


def solve(
    options: list[Option],
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
    deadline: Deadline | None = None,
) -> list[int]:
    """Indices (ascending) of the options in the plan (see `solve_stages`)."""
    return solve_stages(options, vacancies, objective, budget_pence, deadline).chosen


def solve_stages(
    options: list[Option],
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
    deadline: Deadline | None = None,
    greedy: list[int] | None = None,
) -> Solution:
    """The lexicographic optimum, or the best plan found when `deadline` passes first.

    Parameters
    ----------
    options : candidate (referral, bid) pairs in canonical order, shape (m,).
    vacancies : listing id -> vacancies, shared by every referral.
    objective : "min_cost" or "max_match".
    budget_pence : optional cap on the summed cost (pence) of the chosen options.
    deadline : the solver's share of the request's time (None: no limit).
    greedy : the greedy plan, if already computed (the fallback at a time limit).

    Returns
    -------
    The plan (at most one option per referral, within capacity and budget) and each
    stage's status, value and proven bound.
    """
    stage_goals = goals(options, objective)
    if not options:
        return Solution([], tuple(_proven(g, 0, 0.0) for g in stage_goals))
    if greedy is None:
        n = 1 + max(o.referral for o in options)
        greedy = greedy_plan(options, n, vacancies, objective, budget_pence)
    model = _StagedModel(options, vacancies, budget_pence)
    better = _ranker(stage_goals)
    plan = greedy  # the best plan known: greedy's, then each stage's optimum
    stages: list[Stage] = []
    for i, goal in enumerate(stage_goals):
        c = np.array(goal.values, dtype=np.float64) * (-1.0 if goal.maximise else 1.0)
        seconds_left = deadline.remaining_s() if deadline is not None else None
        if seconds_left is not None and seconds_left <= 0:
            result = _Result(None, False, None, 0.0)  # no time left to start it
        else:
            # Stages 2-3 start from the last optimum (feasible for them), so a stage stopped
            # early still has a plan; stage 1 starts cold with presolve (see _StagedModel),
            # greedy's plan being its fallback.
            result = model.solve(c, start=plan if i else None, time_limit_s=seconds_left)
        if result.optimal and result.x is not None:
            plan = _chosen(result.x)
            _check_feasible(options, plan, vacancies, budget_pence)
            value = _sum(goal, plan)
            stages.append(_proven(goal, value, result.seconds))
            if i == 0 and value == 0:  # nothing fits: the later stages are optimal at 0
                stages += [_proven(g, 0, 0.0) for g in stage_goals[1:]]
                plan = []
                break
            model.keep(c, -value if goal.maximise else value)
            continue
        # The limit struck in this stage: the best plan known, and what HiGHS proved.
        found = [] if result.x is None else [_chosen(result.x)]
        candidates = [*found, plan, greedy]
        if i == 0:
            candidates = [fill(options, p, vacancies, budget_pence, objective) for p in candidates]
        feasible = [p for p in candidates if _feasible(options, p, vacancies, budget_pence)]
        plan = max(feasible, key=better)  # the first of equals: the solver's, then greedy's
        value = _sum(goal, plan)
        bound = _bound(result.dual_bound, goal.maximise, value)
        if i == 0:
            bound = min(bound, _children_bound(options, vacancies)) if bound is not None else None
        stages.append(Stage(goal.measure, goal.maximise, "time_limit", value, bound,
                            result.seconds))  # fmt: skip
        stages += [
            Stage(g.measure, g.maximise, "not_run", _sum(g, plan), None, 0.0)
            for g in stage_goals[i + 1 :]
        ]
        break
    return Solution(sorted(plan), tuple(stages))


def _children_bound(options: Sequence[Option], vacancies: dict[str, int]) -> int:
    """A bound on children placed that needs no solver: every referral with a valid bid,
    and no more than the vacancies of the listings bid on."""
    groups = {o.referral: o.children for o in options}
    return min(sum(groups.values()), sum(vacancies.values()))


def _proven(goal: _Goal, value: int, seconds: float) -> Stage:
    return Stage(goal.measure, goal.maximise, "optimal", value, value, seconds)


def _sum(goal: _Goal, plan: list[int]) -> int:
    return sum(goal.values[k] for k in plan)


def _ranker(stage_goals: Sequence[_Goal]) -> Callable[[list[int]], tuple[int, ...]]:
    """Plans compared lexicographically by the stages' measures (greater is better)."""

    def key(plan: list[int]) -> tuple[int, ...]:
        return tuple(_sum(g, plan) * (1 if g.maximise else -1) for g in stage_goals)

    return key


def _bound(dual: float | None, maximise: bool, value: int) -> int | None:
    """HiGHS's dual bound (of the minimised objective) as a bound on the measure."""
    if dual is None or not np.isfinite(dual):
        return None
    if maximise:  # minimised -measure >= dual: measure <= -dual
        return max(value, int(np.floor(-dual + _BOUND_EPS)))
    return min(value, int(np.ceil(dual - _BOUND_EPS)))


def _chosen(x: F64) -> list[int]:
    return np.flatnonzero(x > 0.5).tolist()


def _constraints(
    options: list[Option], vacancies: dict[str, int], cost: F64, budget_pence: int | None
) -> tuple[list[csr_array], list[float]]:
    """One row per referral (at most one bid), per listing that could overflow, per budget."""
    m = len(options)
    by_referral: dict[int, list[int]] = defaultdict(list)
    by_listing: dict[str, list[int]] = defaultdict(list)
    for k, o in enumerate(options):
        by_referral[o.referral].append(k)
        by_listing[o.listing_id].append(k)
    rows: list[csr_array] = []
    upper: list[float] = []
    groups = [ks for ks in by_referral.values() if len(ks) > 1]
    if groups:
        rows.append(_indicator(groups, [1.0] * m, m))
        upper.extend([1.0] * len(groups))
    tight = [
        (listing, ks)
        for listing, ks in sorted(by_listing.items())
        if sum(options[k].children for k in ks) > vacancies[listing]  # else it never binds
    ]
    if tight:
        rows.append(_indicator([ks for _, ks in tight], [o.children for o in options], m))
        upper.extend(float(vacancies[listing]) for listing, _ in tight)
    if budget_pence is not None:
        rows.append(csr_array(cost.reshape(1, m)))
        upper.append(float(budget_pence))
    return rows, upper


def _indicator(groups: list[list[int]], value: list[float] | list[int], m: int) -> csr_array:
    """A sparse matrix with one row per group: value[k] in the columns k of the group."""
    indptr = np.cumsum([0] + [len(g) for g in groups])
    cols = np.array([k for g in groups for k in g], dtype=np.int64)
    data = np.asarray(value, dtype=np.float64)[cols]
    return csr_array((data, cols, indptr), shape=(len(groups), m))


@dataclass(frozen=True, slots=True)
class _Result:
    x: F64 | None  # rounded to 0/1; None: no feasible point found
    optimal: bool  # else stopped by the time limit
    dual_bound: float | None  # of the minimised objective (None: none proven)
    seconds: float


class _StagedModel:
    """One HiGHS model for the three stages: each sets its objective, starts from the best
    plan known and, once solved, adds the row that keeps its optimum.

    HiGHS options: no relative gap (exact); presolve only for stage 1, which starts cold:
    with a dense row (a kept optimum, or the objective cutoff a MIP start brings) presolve
    reduced nothing and took 9-42 s of stages that otherwise take about a second
    (`python -m benchmarks.batch`), and stage 1's own optimum, found cold with presolve, made
    a slow stage 2 faster (9 s against 63 s, 200 referrals, budgeted max_match); RINS and RENS off:
    their sub-MIPs ignore the time limit on these models (a 3 s limit took 9.2 s with them,
    3.3 s without, on 500 referrals x 20,000 bids); one thread, so that an allocation holds
    at most one core beside the quick routes.
    """

    OPTIONS: ClassVar[dict[str, bool | float | int | str]] = {
        "output_flag": False,
        "mip_rel_gap": 0.0,
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        "threads": 1,
    }

    def __init__(
        self, options: list[Option], vacancies: dict[str, int], budget_pence: int | None
    ) -> None:
        m = len(options)
        cost = np.array([o.cost_pence for o in options], dtype=np.float64)
        rows, upper = _constraints(options, vacancies, cost, budget_pence)
        column_upper = np.ones(m)
        if budget_pence is not None:  # a bid that alone breaks the budget is never chosen
            column_upper[cost > budget_pence] = 0.0
        matrix = vstack(rows, format="csc") if rows else csr_array((0, m)).tocsc()
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = m, matrix.shape[0]
        lp.col_cost_ = np.zeros(m)
        lp.col_lower_, lp.col_upper_ = np.zeros(m), column_upper
        lp.row_lower_, lp.row_upper_ = np.full(len(upper), -np.inf), np.array(upper)
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m, matrix.shape[0]
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        lp.integrality_ = [highs.HighsVarType.kInteger] * m
        self.m = m
        self.columns = np.arange(m, dtype=np.int32)
        self.h = highs._Highs()
        for name, value in self.OPTIONS.items():
            self.h.setOptionValue(name, value)
        if self.h.passModel(lp) == highs.HighsStatus.kError:
            raise errors.MatcherError("allocation solver refused the model")

    def solve(self, c: F64, start: list[int] | None, time_limit_s: float | None) -> _Result:
        """Minimise c @ x within `time_limit_s`: from the plan `start` without presolve, or
        (None) cold with presolve."""
        h = self.h
        h.changeColsCost(self.m, self.columns, c)
        h.setOptionValue("presolve", "off" if start is not None else "on")
        h.setOptionValue("time_limit", np.inf if time_limit_s is None else time_limit_s)
        if start is not None:
            begin = np.zeros(self.m)
            begin[start] = 1.0
            solution = highs.HighsSolution()
            solution.col_value = begin
            solution.value_valid = True
            h.setSolution(solution)
        started = time.perf_counter()
        status = h.run()
        seconds = time.perf_counter() - started
        model_status = h.getModelStatus()
        info = h.getInfo()
        stopped = model_status in (highs.HighsModelStatus.kTimeLimit,
                                   highs.HighsModelStatus.kInterrupt)  # fmt: skip
        if status == highs.HighsStatus.kError or not (
            stopped or model_status == highs.HighsModelStatus.kOptimal
        ):  # x = 0 is feasible for stage 1 and each stage keeps the last optimum
            raise errors.MatcherError(
                f"allocation solver failed: {h.modelStatusToString(model_status)}"
            )
        x = None
        if info.primal_solution_status == highs.kSolutionStatusFeasible:
            x = np.asarray(h.getSolution().col_value, dtype=np.float64).round()
        dual = float(info.mip_dual_bound)
        return _Result(x, not stopped, dual if np.isfinite(dual) else None, seconds)

    def keep(self, c: F64, optimum: int) -> None:
        """Add the row c @ x <= optimum (integers: half a unit of slack is exact, and robust)."""
        self.h.addRow(-np.inf, optimum + 0.5, self.m, self.columns, c)


def _feasible(
    options: list[Option], chosen: list[int], vacancies: dict[str, int], budget: int | None
) -> bool:
    """The plan checked in integers (the solver works in floats with tolerances)."""
    used: dict[str, int] = defaultdict(int)
    for k in chosen:
        used[options[k].listing_id] += options[k].children
    return (
        len({options[k].referral for k in chosen}) == len(chosen)
        and all(used[lid] <= vacancies[lid] for lid in used)
        and (budget is None or sum(options[k].cost_pence for k in chosen) <= budget)
    )


def _check_feasible(
    options: list[Option], chosen: list[int], vacancies: dict[str, int], budget: int | None
) -> None:
    if not _feasible(options, chosen, vacancies, budget):
        raise errors.MatcherError("allocation solver returned an infeasible plan")


def _preference(options: Sequence[Option], objective: str) -> Callable[[int], tuple[int, ...]]:
    """How greedy ranks one referral's bids: cheapest (then best score) for `min_cost`,
    best score (then cheapest) for `max_match`; then canonical order."""
    if objective == "min_cost":
        return lambda k: (options[k].cost_pence, -options[k].score_micro, k)
    return lambda k: (-options[k].score_micro, options[k].cost_pence, k)


def greedy_plan(
    options: list[Option],
    n_referrals: int,
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
) -> list[int]:
    """Place referrals one at a time in input order, each taking its best bid still free.

    Best: cheapest (then higher score) for `min_cost`; highest score (then cheaper) for
    `max_match`; a bid that would break the budget is skipped.
    """
    return _add(options, [], range(n_referrals), vacancies, objective, budget_pence)


def fill(
    options: list[Option],
    plan: list[int],
    vacancies: dict[str, int],
    budget_pence: int | None,
    objective: str,
) -> list[int]:
    """`plan` with every referral added that still fits (its best bid on a listing with room,
    within the budget left), in canonical order: a maximal plan. One pass suffices, since
    adding only ever takes room and budget away."""
    order = list(dict.fromkeys(o.referral for o in options))  # canonical: options' order
    return _add(options, plan, order, vacancies, objective, budget_pence)


def _add(
    options: list[Option],
    plan: list[int],
    referrals: Sequence[int] | range,
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
) -> list[int]:
    free = dict(vacancies)
    spent = 0
    placed: set[int] = set()
    for k in plan:
        free[options[k].listing_id] -= options[k].children
        spent += options[k].cost_pence
        placed.add(options[k].referral)
    mine: dict[int, list[int]] = defaultdict(list)
    for k, o in enumerate(options):
        mine[o.referral].append(k)
    best = _preference(options, objective)
    chosen = list(plan)
    for r in referrals:
        if r in placed:
            continue
        for k in sorted(mine[r], key=best):
            o = options[k]
            if free[o.listing_id] >= o.children and (
                budget_pence is None or spent + o.cost_pence <= budget_pence
            ):
                free[o.listing_id] -= o.children
                spent += o.cost_pence
                chosen.append(k)
                break
    return sorted(chosen)
