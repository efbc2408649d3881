"""Block call-off: place several referrals at once, exactly, sharing listings' vacancies.

Each referral (a child, or a sibling group of k that must stay together) takes at most one
of its valid bids (the bids `rank` accepts); a listing's vacancies are shared, and a group of
k uses k of them in one listing. Solved as a 0/1 integer programme with scipy's `milp`
(HiGHS), lexicographically: first place as many referrals as possible, then minimise the
summed expected total cost (`min_cost`) or maximise the summed best-match score
(`max_match`), optionally within a budget. Placing one more child always wins over any
saving: each placement is worth more than the whole cost or score term can vary.
Ties are broken by a tiny perturbation in a stable order (referral position, then bid id),
so the same input always gives the same plan. Beside the plan: what placing referrals one at
a time in input order (greedy) would have given, so the gain of planning together shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from matcher import errors
from matcher.audit import decision_id
from matcher.batch_requests import AllocateRequest
from matcher.money import format_pence, to_pence
from matcher.rank_response import RankedBidOut, RankResponse
from matcher.service import Matcher

MAX_TOTAL_BIDS = 20_000
TIE_EPSILON = 1e-7


@dataclass(frozen=True, slots=True)
class Option:
    """One valid bid of one referral: a candidate assignment."""

    referral: int
    bid: RankedBidOut
    cost_pence: int
    score: float
    listing_id: str
    children: int


def allocate(matcher: Matcher, req: AllocateRequest, max_referrals: int) -> dict[str, Any]:
    """The optimal plan, the greedy plan, and why each unplaced referral is unplaced."""
    if len(req.referrals) > max_referrals:
        raise errors.LimitExceededError(
            f"too many referrals: {len(req.referrals)} > {max_referrals}",
            field="referrals",
            limit=max_referrals,
        )
    total_bids = sum(len(r.bids) for r in req.referrals)
    if total_bids > MAX_TOTAL_BIDS:
        raise errors.LimitExceededError(
            f"too many bids in all: {total_bids} > {MAX_TOTAL_BIDS}",
            field="referrals",
            limit=MAX_TOTAL_BIDS,
        )
    ids = [r.referral_id for r in req.referrals]
    if len(set(ids)) != len(ids):
        raise errors.RequestError("referral ids must be unique", field="referrals")
    rankings = [_rank(matcher, req, i) for i in range(len(req.referrals))]
    options = [
        Option(i, b, to_pence(b.price.expected_total_cost_gbp), b.score, b.listing_id,
               req.referrals[i].sibling_group_size)
        for i, ranking in enumerate(rankings)
        for b in sorted(ranking.ranked, key=lambda b: b.bid_id)
    ]  # fmt: skip
    registry = matcher.snapshot.index.registry
    vacancies = {
        o.listing_id: int(registry.vacancies[registry.row_of(o.listing_id) or 0]) for o in options
    }
    budget = to_pence(req.budget_gbp) if req.budget_gbp is not None else None
    chosen = solve(options, len(req.referrals), vacancies, req.objective, budget)
    greedy = greedy_plan(options, len(req.referrals), vacancies, req.objective, budget)
    plan = _plan_json([options[k] for k in chosen], ids)
    greedy_json = _plan_json([options[k] for k in greedy], ids)
    return {
        "decision_id": decision_id(req, matcher.snapshot.version, terms=matcher.terms.version),
        "snapshot_version": matcher.snapshot.version,
        "objective": req.objective,
        "budget_gbp": req.budget_gbp,
        "optimal": plan,
        "unplaced": _unplaced(options, chosen, rankings, ids, vacancies, budget),
        "greedy": greedy_json,
        "gain": {
            "placed": plan["placed"] - greedy_json["placed"],
            "cost_saved_gbp": format_pence(
                to_pence(greedy_json["total_cost_gbp"]) - to_pence(plan["total_cost_gbp"])
            ),
            "score_gained": round(plan["total_score"] - greedy_json["total_score"], 6),
        },
    }


def _rank(matcher: Matcher, req: AllocateRequest, i: int) -> RankResponse:
    """Rank one referral's bids by best match with the batch's weights (validates them)."""
    ref = req.referrals[i]
    update = {"order_by": "best_match", "profile": req.profile, "weights": req.weights}
    try:
        return matcher.rank(ref.model_copy(update=update))
    except errors.RequestError as exc:
        exc.details = [
            errors.ErrorDetail(f"referrals.{i}.{d.field}", d.reason, d.extra) for d in exc.details
        ]
        raise


def solve(
    options: list[Option],
    n_referrals: int,
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
) -> list[int]:
    """Indices of the chosen options (at most one per referral), optimal as described above.

    Parameters
    ----------
    options : candidate (referral, bid) pairs, in a stable order.
    n_referrals : number of referrals.
    vacancies : listing id -> vacancies shared by all referrals.
    objective : "min_cost" or "max_match".
    budget_pence : optional cap on the summed cost of the chosen options.
    """
    if not options:
        return []
    m = len(options)
    cost = np.array([o.cost_pence for o in options], dtype=np.float64)
    if objective == "min_cost":
        secondary = cost / (cost.max() + 1.0)  # in [0, 1): cheaper is better
    else:
        secondary = -np.array([o.score for o in options])  # in [-1, 0]: higher is better
    per_placement = float(n_referrals + 1)  # exceeds any possible change of the secondary sum
    c = -per_placement + secondary + TIE_EPSILON * np.arange(m) / m
    rows: list[np.ndarray[Any, Any]] = []
    upper: list[float] = []
    for r in range(n_referrals):  # one listing per referral at most
        rows.append(np.array([1.0 if o.referral == r else 0.0 for o in options]))
        upper.append(1.0)
    for listing, free in sorted(vacancies.items()):  # vacancies shared; k per sibling group
        rows.append(np.array([float(o.children) if o.listing_id == listing else 0.0
                              for o in options]))  # fmt: skip
        upper.append(float(free))
    if budget_pence is not None:
        rows.append(cost)
        upper.append(float(budget_pence))
    constraints = LinearConstraint(np.vstack(rows), -np.inf, np.array(upper))
    result = milp(
        c,
        constraints=constraints,
        integrality=np.ones(m),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if result.x is None:  # infeasible cannot happen (x = 0 is feasible); keep it explicit
        raise errors.MatcherError(f"allocation solver failed: {result.message}")
    return [k for k in range(m) if result.x[k] > 0.5]


def greedy_plan(
    options: list[Option],
    n_referrals: int,
    vacancies: dict[str, int],
    objective: str,
    budget_pence: int | None,
) -> list[int]:
    """Place referrals one at a time in input order, each taking its best bid still free."""
    free = dict(vacancies)
    spent = 0
    chosen: list[int] = []
    for r in range(n_referrals):
        mine = [k for k, o in enumerate(options) if o.referral == r]
        if objective == "min_cost":
            mine.sort(key=lambda k: (options[k].cost_pence, options[k].bid.bid_id))
        else:
            mine.sort(
                key=lambda k: (-options[k].score, options[k].cost_pence, options[k].bid.bid_id)
            )
        for k in mine:
            o = options[k]
            fits = free[o.listing_id] >= o.children
            affordable = budget_pence is None or spent + o.cost_pence <= budget_pence
            if fits and affordable:
                free[o.listing_id] -= o.children
                spent += o.cost_pence
                chosen.append(k)
                break
    return chosen


def _plan_json(chosen: list[Option], ids: list[str]) -> dict[str, Any]:
    total = sum(o.cost_pence for o in chosen)
    return {
        "placed": len(chosen),
        "children_placed": sum(o.children for o in chosen),
        "total_cost_gbp": format_pence(total),
        "total_score": round(sum(o.score for o in chosen), 6),
        "assignments": [
            {"referral_id": ids[o.referral], "children": o.children, "bid": o.bid.model_dump()}
            for o in sorted(chosen, key=lambda o: o.referral)
        ],
    }


def _unplaced(
    options: list[Option],
    chosen: list[int],
    rankings: list[RankResponse],
    ids: list[str],
    vacancies: dict[str, int],
    budget_pence: int | None,
) -> list[dict[str, Any]]:
    """Why each referral without a placement has none."""
    placed = {options[k].referral: options[k] for k in chosen}
    used: dict[str, int] = {}
    for o in placed.values():
        used[o.listing_id] = used.get(o.listing_id, 0) + o.children
    out: list[dict[str, Any]] = []
    for r, ranking in enumerate(rankings):
        if r in placed:
            continue
        mine = [o for o in options if o.referral == r]
        entry: dict[str, Any] = {"referral_id": ids[r], "rejected_bids": len(ranking.rejected)}
        if not mine:
            entry["reason"] = "no_valid_bid"
        elif all(vacancies[o.listing_id] - used.get(o.listing_id, 0) < o.children for o in mine):
            entry["reason"] = "lost_to_capacity"
            listings = {o.listing_id for o in mine}
            entry["taken_by"] = sorted(
                {ids[p.referral] for p in placed.values() if p.listing_id in listings}
            )
        else:
            entry["reason"] = "over_budget" if budget_pence is not None else "not_chosen"
        out.append(entry)
    return out


def exact_total(options: list[Option], chosen: list[int]) -> Decimal:
    """Summed expected total cost of a plan, in pounds (for reports and tests)."""
    return Decimal(sum(options[k].cost_pence for k in chosen)) / 100
