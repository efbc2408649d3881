"""Block call-off: place several referrals at once, exactly, sharing listings' vacancies.

Each referral (a child, or a sibling group of k who must stay together) takes at most one of
its valid bids, the bids `Matcher.rank` accepts (its rejected bids keep their reasons); a
listing's vacancies are shared, and a group of k uses k of them in one listing. Variables
x[r, b] in {0, 1}; sum_b x[r, b] <= 1; per listing sum k_r x[r, b] <= vacancies; optionally
sum cost x <= budget. Solved exactly with scipy's `milp` (HiGHS) as a lexicographic
programme, one integer-valued stage after another so that no weighting can trade one goal
against the next and no float scaling can blur a penny:

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

Beside the optimum: the greedy procedure ("place the first referral first": each referral,
in input order, takes its best bid on a listing with room, cheapest for `min_cost`, highest
score for `max_match`, within the budget), so the gain of planning together is visible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array, vstack

from matcher.batch.models import (
    AllocateRequest,
    AllocateResponse,
    AssignmentOut,
    GainOut,
    PlanOut,
    UnplacedOut,
)
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


F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Option:
    """One valid bid of one referral: a candidate assignment (plain numbers for the solver)."""

    referral: int  # position of the referral in the request
    listing_id: str
    children: int
    cost_pence: int
    score_micro: int  # best-match score in millionths


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


def build_problem(matcher: Ranker, req: AllocateRequest) -> Problem:
    """Rank every referral's bids (validating and pricing them) and list the options."""
    rankings = [_rank(matcher, req, i) for i in range(len(req.referrals))]
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


def allocate_response(
    matcher: Ranker, req: AllocateRequest, max_referrals: int, max_bids: int = MAX_TOTAL_BIDS
) -> AllocateResponse:
    """The optimal plan, why each unplaced referral is unplaced, and the greedy plan."""
    _check_limits(req, max_referrals, max_bids)
    weights = resolve_weights(req.profile, req.weights)
    p = build_problem(matcher, req)
    budget = to_pence(req.budget_gbp) if req.budget_gbp is not None else None
    chosen = solve(p.options, p.vacancies, req.objective, budget)
    greedy = greedy_plan(p.options, len(p.ids), p.vacancies, req.objective, budget)
    rejected = p.rejected
    optimal_plan = _plan(p.options, p.bids, chosen, p.ids, rejected, req.objective)
    greedy_out = _plan(p.options, p.bids, greedy, p.ids, rejected, req.objective)
    return AllocateResponse(
        decision_id=decision_id(
            req, matcher.snapshot.version, terms=matcher.terms.version, method="lexicographic-v2"
        ),
        snapshot_version=matcher.snapshot.version,
        contract_terms_version=matcher.terms.version,
        objective=req.objective,
        budget_gbp=req.budget_gbp,
        weights=WeightsOut(profile=weights.profile, weights=weights.weights),
        method=METHOD,
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
    update = {"order_by": "best_match", "profile": req.profile, "weights": req.weights}
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


def solve(
    options: list[Option],
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
) -> list[int]:
    """Indices (ascending) of the options in the optimal plan (see module docstring).

    Parameters
    ----------
    options : candidate (referral, bid) pairs in canonical order, shape (m,).
    vacancies : listing id -> vacancies, shared by every referral.
    objective : "min_cost" or "max_match".
    budget_pence : optional cap on the summed cost (pence) of the chosen options.

    Returns
    -------
    Indices into `options`: at most one per referral, within capacity and budget.
    """
    m = len(options)
    if m == 0:
        return []
    cost = np.array([o.cost_pence for o in options], dtype=np.float64)
    score = np.array([o.score_micro for o in options], dtype=np.float64)
    children = np.array([o.children for o in options], dtype=np.float64)
    rows, upper = _constraints(options, vacancies, cost, budget_pence)
    lower = [-np.inf] * len(upper)
    x = _milp(-children, rows, lower, upper)  # 1. most children placed
    placed = round(float(children @ x))
    if placed == 0:
        return []
    rows.append(csr_array(children.reshape(1, m)))
    lower.append(placed - 0.5)  # integer rows: half a unit of slack is exact, and robust
    upper.append(np.inf)
    primary, secondary = (cost, -score) if objective == "min_cost" else (-score, cost)
    x = _milp(primary, rows, lower, upper)  # 2. the objective
    rows.append(csr_array(primary.reshape(1, m)))
    lower.append(-np.inf)
    upper.append(round(float(primary @ x)) + 0.5)
    x = _milp(secondary, rows, lower, upper)  # 3. the other measure
    chosen = [k for k in range(m) if x[k] > 0.5]
    _check_feasible(options, chosen, vacancies, budget_pence)
    return chosen


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


def _milp(c: F64, rows: list[csr_array], lower: list[float], upper: list[float]) -> F64:
    """Solve one stage: minimise c @ x over binary x; the solution rounded to 0/1."""
    m = len(c)
    constraints = (
        [LinearConstraint(vstack(rows, format="csr"), np.array(lower), np.array(upper))]
        if rows
        else []
    )
    result = milp(
        c,
        constraints=constraints,
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if result.x is None:  # x = 0 is feasible for stage 1 and each stage keeps the last optimum
        raise errors.MatcherError(f"allocation solver failed: {result.message}")
    x: F64 = np.asarray(result.x, dtype=np.float64).round()
    return x


def _check_feasible(
    options: list[Option], chosen: list[int], vacancies: dict[str, int], budget: int | None
) -> None:
    """Recheck the plan in integers (the solver works in floats with tolerances)."""
    used: dict[str, int] = defaultdict(int)
    for k in chosen:
        used[options[k].listing_id] += options[k].children
    ok = len({options[k].referral for k in chosen}) == len(chosen)
    ok = ok and all(used[lid] <= vacancies[lid] for lid in used)
    ok = ok and (budget is None or sum(options[k].cost_pence for k in chosen) <= budget)
    if not ok:
        raise errors.MatcherError("allocation solver returned an infeasible plan")


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
    free = dict(vacancies)
    spent = 0
    mine: dict[int, list[int]] = defaultdict(list)
    for k, o in enumerate(options):
        mine[o.referral].append(k)
    chosen: list[int] = []
    for r in range(n_referrals):
        if objective == "min_cost":
            ks = sorted(mine[r], key=lambda k: (options[k].cost_pence, -options[k].score_micro, k))
        else:
            ks = sorted(mine[r], key=lambda k: (-options[k].score_micro, options[k].cost_pence, k))
        for k in ks:
            o = options[k]
            if free[o.listing_id] >= o.children and (
                budget_pence is None or spent + o.cost_pence <= budget_pence
            ):
                free[o.listing_id] -= o.children
                spent += o.cost_pence
                chosen.append(k)
                break
    return sorted(chosen)


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
