"""Block call-off: place several referrals at once, exactly, sharing listings' vacancies.

Each referral (a child, or a sibling group of k who must stay together) takes at most one of
its valid bids, the bids `Matcher.rank` accepts (its rejected bids keep their reasons); a
listing's vacancies are shared, and a group of k uses k of them in one listing. Variables
x[r, b] in {0, 1}; sum_b x[r, b] <= 1; per listing sum k_r x[r, b] <= vacancies; optionally
sum cost x <= budget. Solved exactly with scipy's `milp` (HiGHS) as a lexicographic
programme (`matcher.batch.solver`), one integer-valued stage after another so that no
weighting can trade one goal against the next and no float scaling can blur a penny:

1. place as many children as possible (a sibling group of k counts k): one more child
   placed always beats any saving or any score;
2. with that many placed: least summed expected total cost in pence (`min_cost`), or
   greatest summed best-match score in millionths (`max_match`; scores are reported to
   6 decimals), within the budget when one is given;
3. with that optimum kept: the other measure breaks ties (`min_cost`: greater score;
   `max_match`: lower cost).

Remaining ties are resolved deterministically: the model is built in a canonical order
(referral id, then bid id; listings by id), never in input order, and HiGHS is
deterministic, so the same referrals and bids give the same plan in any order.

Bounded time: the whole request runs within one `Deadline` (`MATCHER_ALLOCATION_TIME_LIMIT_S`
through `Limits`), started by the adapter when it takes the request. Ranking the bids
counts against it and checks it between referrals; each MILP stage gets what then remains,
less a reserve for building the answer (`matcher.batch.solver` says what a stage stopped
at the limit reports). The answer's `solver` block gives the status (`optimal` or
`time_limit`), and per stage its status, the plan's value, the proven bound and the gap.
Ranking that does not finish in time leaves nothing to plan with: 503
`time_limit_exceeded`.

Beside the optimum: the greedy procedure ("place the first referral first": each referral,
in input order, takes its best bid on a listing with room, cheapest for `min_cost`, highest
score for `max_match`, within the budget), so the gain of planning together is visible.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

from matcher.batch.deadline import Deadline
from matcher.batch.models import (
    AllocateRequest,
    AllocateResponse,
    AssignmentOut,
    GainOut,
    MeasureOut,
    PlanOut,
    SolverOut,
    StageOut,
    UnplacedOut,
)
from matcher.batch.solver import Option, Solution, Stage, greedy_plan, solve_stages
from matcher.bids.contract_terms import TermsBook
from matcher.bids.request import RankRequest
from matcher.bids.response import RankedBidOut, RankResponse, RejectedBidOut, WeightsOut
from matcher.bids.weights import resolve_weights
from matcher.match.request import resolve_criteria
from matcher.registry.index import RegistryIndex
from matcher.vocabulary import errors
from matcher.vocabulary.audit import decision_id
from matcher.vocabulary.money import format_pence, to_pence

MAX_TOTAL_BIDS = 20_000
SCORE_UNITS = 1_000_000  # scores are reported to 6 decimals: integer millionths are exact
METHOD = (
    "exact 0/1 programme (scipy.optimize.milp, HiGHS), lexicographic: most children "
    "placed, then the objective, then the other measure; canonical order for ties"
)


class _Snapshot(Protocol):
    @property
    def index(self) -> RegistryIndex: ...

    @property
    def version(self) -> str: ...


class _Limits(Protocol):
    @property
    def max_radius_miles(self) -> float: ...


class Ranker(Protocol):
    """What allocation needs of the service (`matcher.service.Matcher` is one): rank one
    referral's bids as `rank` does, against a snapshot, with limits and contract terms.

    Declared here so that batch work depends on the ranking it uses, not on the service
    layer above it.
    """

    @property
    def snapshot(self) -> _Snapshot: ...

    @property
    def limits(self) -> _Limits: ...

    @property
    def terms(self) -> TermsBook: ...

    def rank(self, req: RankRequest) -> RankResponse:
        """Validate, price and order the bids of one referral."""
        ...


@dataclass(frozen=True, eq=False)
class Problem:
    """A batch ready to solve: each referral's ranking and the options in canonical order."""

    ids: list[str]
    rankings: list[RankResponse | None]  # None: the referral has no bids
    options: list[Option]
    bids: list[RankedBidOut]  # parallel to options
    vacancies: dict[str, int]

    @property
    def rejected(self) -> list[list[RejectedBidOut]]:
        """Per referral (request order), the bids rank refused, with their reasons."""
        return [list(r.rejected) if r else [] for r in self.rankings]


def build_problem(
    matcher: Ranker, req: AllocateRequest, deadline: Deadline | None = None
) -> Problem:
    """Rank every referral's bids (validating and pricing them) and list the options.

    With a `deadline`, the clock is checked before each referral is ranked.
    """
    n = len(req.referrals)
    rankings: list[RankResponse | None] = []
    for i in range(n):
        if deadline is not None:
            deadline.check("ranking bids", f"{i} of {n} referrals ranked")
        rankings.append(_rank(matcher, req, i))
    ids = [r.referral_id for r in req.referrals]
    options: list[Option] = []
    bids: list[RankedBidOut] = []
    for i in sorted(range(len(ids)), key=lambda i: ids[i]):  # canonical: by referral id
        ranking = rankings[i]
        children = req.referrals[i].sibling_group_size
        for b in sorted(ranking.ranked if ranking else [], key=lambda b: b.bid_id):
            cost = to_pence(b.price.expected_total_cost_gbp)
            options.append(Option(i, b.listing_id, children, cost, round(b.score * SCORE_UNITS)))
            bids.append(b)
    registry = matcher.snapshot.index.registry
    vacancies = {
        o.listing_id: int(registry.vacancies[_row(registry.row_of(o.listing_id))]) for o in options
    }
    return Problem(ids, rankings, options, bids, vacancies)


@dataclass(frozen=True, slots=True)
class Allocation:
    """An answer and how long its two parts took (timings stay out of the answer, which
    is byte-identical for the same request when it is optimal)."""

    answer: AllocateResponse
    rank_s: float  # validating, pricing and scoring every bid
    solve_s: float  # the MILP stages

    @property
    def status(self) -> str:
        """The solver's status: `optimal` or `time_limit`."""
        return self.answer.solver.status


def answer_reserve_s(limit_s: float) -> float:
    """What the solver leaves of a `limit_s` budget for building the answer (greedy plan,
    reasons, the response model): a tenth, at most half a second (the answer for 500
    referrals and 20,000 bids takes about 0.1 s here)."""
    return min(0.5, 0.1 * limit_s)


def allocate(
    matcher: Ranker,
    req: AllocateRequest,
    max_referrals: int,
    max_bids: int = MAX_TOTAL_BIDS,
    deadline: Deadline | None = None,
) -> Allocation:
    """The best plan within the deadline, why each unplaced referral is unplaced, and the
    greedy plan; with the time ranking and solving took."""
    _check_limits(req, max_referrals, max_bids)
    weights = resolve_weights(req.profile, req.weights)
    started = time.perf_counter()
    p = build_problem(matcher, req, deadline)
    if deadline is not None:  # nothing to plan with: the 503
        deadline.check("ranking bids", f"all {len(p.ids)} referrals ranked")
    ranked = time.perf_counter()
    budget = to_pence(req.budget_gbp) if req.budget_gbp is not None else None
    greedy = greedy_plan(p.options, len(p.ids), p.vacancies, req.objective, budget)
    solver_deadline = (
        None
        if deadline is None
        else Deadline(deadline.limit_s - answer_reserve_s(deadline.limit_s), deadline.started,
                      deadline.work)
    )  # fmt: skip
    solution = solve_stages(p.options, p.vacancies, req.objective, budget, solver_deadline, greedy)
    chosen = solution.chosen
    rejected = p.rejected
    optimal_plan = _plan(p.options, p.bids, chosen, p.ids, rejected, req.objective)
    greedy_out = _plan(p.options, p.bids, greedy, p.ids, rejected, req.objective)
    answer = AllocateResponse(
        decision_id=decision_id(
            req, matcher.snapshot.version, terms=matcher.terms.version, method="lexicographic-v2"
        ),
        snapshot_version=matcher.snapshot.version,
        contract_terms_version=matcher.terms.version,
        objective=req.objective,
        budget_gbp=req.budget_gbp,
        weights=WeightsOut(profile=weights.profile, weights=weights.weights),
        method=METHOD,
        solver=solver_out(solution, None if deadline is None else deadline.limit_s),
        referrals=len(p.ids),
        valid_bids=len(p.options),
        optimal=optimal_plan,
        unplaced=unplaced(p.options, chosen, p.ids, p.vacancies, budget, rejected),
        greedy=greedy_out,
        gain=GainOut(
            placed=optimal_plan.placed - greedy_out.placed,
            children_placed=optimal_plan.children_placed - greedy_out.children_placed,
            cost_saved_gbp=format_pence(
                to_pence(greedy_out.total_cost_gbp) - to_pence(optimal_plan.total_cost_gbp)
            ),
            score_gained=round(optimal_plan.total_score - greedy_out.total_score, 6),
        ),
    )
    return Allocation(answer, ranked - started, solution.seconds)


def allocate_response(
    matcher: Ranker,
    req: AllocateRequest,
    max_referrals: int,
    max_bids: int = MAX_TOTAL_BIDS,
    deadline: Deadline | None = None,
) -> AllocateResponse:
    """The answer of `allocate` alone."""
    return allocate(matcher, req, max_referrals, max_bids, deadline).answer


_MEASURE_OUT: dict[str, tuple[MeasureOut, str]] = {
    "children_placed": ("children_placed", "most children placed"),
    "total_cost": ("total_cost_gbp", "total cost"),
    "total_score": ("total_score", "total score"),
}


def _in_units(stage: Stage, value: int) -> float:
    """A stage's integer value in the answer's units (children, GBP, score)."""
    if stage.measure == "total_cost":
        return value / 100
    if stage.measure == "total_score":
        return round(value / SCORE_UNITS, 6)
    return float(value)


def _gap(stage: Stage) -> float | None:
    """|bound - value| / |value| (HiGHS's relative gap), rounded up to 6 decimals."""
    if stage.bound is None:
        return None
    if stage.bound == stage.value:
        return 0.0
    if stage.value == 0:
        return None  # infinitely far: nothing placed yet something could be
    return math.ceil(abs(stage.bound - stage.value) / abs(stage.value) * 1e6) / 1e6


def _shown(stage: Stage, value: int) -> str:
    """A stage's value as an officer reads it: children, GBP to the penny, score."""
    if stage.measure == "total_cost":
        return format_pence(value)
    if stage.measure == "total_score":
        return f"{value / SCORE_UNITS:.6f}"
    return str(value)


def _stage_text(stage: Stage) -> str:
    name = _MEASURE_OUT[stage.measure][1]
    shown = _shown(stage, stage.value)
    if stage.status == "optimal":
        return f"{name}: proven ({shown})"
    if stage.status == "not_run":
        return f"{name}: not optimised ({shown})"
    if stage.bound is None:
        return f"{name}: best found {shown}, nothing proven"
    side = "at most" if stage.maximise else "at least"
    gap = _gap(stage)
    gap_text = "" if gap is None else f", gap {gap:.4%}"
    return f"{name}: best found {shown}, optimum {side} {_shown(stage, stage.bound)}{gap_text}"


def solver_out(solution: Solution, time_limit_s: float | None) -> SolverOut:
    """The `solver` block of the answer: status, and per stage what is proven."""
    stopped = next((s for s in solution.stages if s.status == "time_limit"), None)
    return SolverOut(
        status=solution.status,
        time_limit_s=time_limit_s,
        stopped_in=None if stopped is None else _MEASURE_OUT[stopped.measure][0],
        stages=[
            StageOut(
                measure=_MEASURE_OUT[s.measure][0],
                goal="max" if s.maximise else "min",
                status=s.status,
                value=_in_units(s, s.value),
                bound=None if s.bound is None else _in_units(s, s.bound),
                gap=_gap(s),
            )
            for s in solution.stages
        ],
        guarantee="; ".join(_stage_text(s) for s in solution.stages),
    )


def _check_limits(req: AllocateRequest, max_referrals: int, max_bids: int) -> None:
    if len(req.referrals) > max_referrals:
        raise errors.LimitExceededError(
            f"too many referrals: {len(req.referrals)} > {max_referrals}",
            field="referrals",
            limit=max_referrals,
        )
    total_bids = sum(len(r.bids) for r in req.referrals)
    if total_bids > max_bids:
        raise errors.LimitExceededError(
            f"too many bids in all: {total_bids} > {max_bids}", field="referrals", limit=max_bids
        )
    ids = [r.referral_id for r in req.referrals]
    if len(set(ids)) != len(ids):
        raise errors.RequestError(
            "referral_id values must be unique within a batch", field="referrals"
        )


def _row(row: int | None) -> int:
    if row is None:  # ranked bids name known listings only
        raise errors.MatcherError("a ranked bid names an unknown listing")
    return row


def _rank(matcher: Ranker, req: AllocateRequest, i: int) -> RankResponse | None:
    """Rank referral i's bids by best match with the batch's weights (None: it has no bids).

    Errors name the referral's position (`referrals.3.placing_authority`).
    """
    ref = req.referrals[i]
    update = {"order_by": "best_match", "profile": req.profile, "weights": req.weights,
              "feedback": False}  # fmt: skip
    try:
        if not ref.bids:
            resolve_criteria(ref, matcher.limits.max_radius_miles)  # still validate the referral
            return None
        return matcher.rank(ref.model_copy(update=update))
    except errors.RequestError as exc:
        exc.details = [
            errors.ErrorDetail(f"referrals.{i}.{d.field}", d.reason, d.extra) for d in exc.details
        ]
        raise


def _plan(
    options: list[Option],
    bids: list[RankedBidOut],
    chosen: list[int],
    ids: list[str],
    rejected: list[list[RejectedBidOut]],
    objective: str,
) -> PlanOut:
    """A plan as reported: assignments in the request's referral order."""
    picked = sorted(chosen, key=lambda k: options[k].referral)
    cost = sum(options[k].cost_pence for k in picked)
    score = round(sum(options[k].score_micro for k in picked) / SCORE_UNITS, 6)
    placed = {options[k].referral for k in picked}
    return PlanOut(
        placed=len(picked),
        children_placed=sum(options[k].children for k in picked),
        total_cost_gbp=format_pence(cost),
        total_score=score,
        objective_value=cost / 100 if objective == "min_cost" else score,
        assignments=[
            AssignmentOut(
                referral_id=ids[options[k].referral],
                children=options[k].children,
                bid=bids[k],
                rejected=rejected[options[k].referral],
            )
            for k in picked
        ],
        unplaced_referral_ids=[ids[r] for r in range(len(ids)) if r not in placed],
    )


def unplaced(
    options: list[Option],
    chosen: list[int],
    ids: list[str],
    vacancies: dict[str, int],
    budget_pence: int | None,
    rejected: list[list[RejectedBidOut]],
) -> list[UnplacedOut]:
    """Why each referral the plan leaves out is left out (request order).

    `no_valid_bid`: rank accepted none of its bids. `lost_to_capacity`: every listing it has
    a valid bid on is full with the plan's other referrals (named in `taken_by`).
    `over_budget`: one of its listings has room, but its cheapest such bid costs more than
    the budget left. Because the plan places as many children as possible, one of the three
    always holds.
    """
    placed = {options[k].referral: options[k] for k in chosen}
    used: dict[str, int] = defaultdict(int)
    for o in placed.values():
        used[o.listing_id] += o.children
    spent = sum(o.cost_pence for o in placed.values())
    mine: dict[int, list[Option]] = defaultdict(list)
    for o in options:
        mine[o.referral].append(o)
    out: list[UnplacedOut] = []
    for r, rid in enumerate(ids):
        if r in placed:
            continue
        fitting = [o for o in mine[r] if vacancies[o.listing_id] - used[o.listing_id] >= o.children]
        if not mine[r]:
            out.append(UnplacedOut(referral_id=rid, reason="no_valid_bid", rejected=rejected[r]))
        elif not fitting:
            listings = {o.listing_id for o in mine[r]}
            holders = sorted({ids[p.referral] for p in placed.values() if p.listing_id in listings})
            out.append(
                UnplacedOut(
                    referral_id=rid,
                    reason="lost_to_capacity",
                    taken_by=holders,
                    rejected=rejected[r],
                )
            )
        elif (
            budget_pence is not None
            and (cheapest := min(o.cost_pence for o in fitting)) > budget_pence - spent
        ):
            out.append(
                UnplacedOut(
                    referral_id=rid,
                    reason="over_budget",
                    cheapest_fitting_cost_gbp=format_pence(cheapest),
                    budget_left_gbp=format_pence(budget_pence - spent),
                    rejected=rejected[r],
                )
            )
        else:  # room and money left: it would have been placed (a solver fault)
            raise errors.MatcherError("allocation plan is not maximal")
    return out
