"""Provider feedback on one referral's bids: why each bid did or did not succeed (rule 8).

Every ranked bid gets its rank among the valid bids and, below rank 1, why it lost: on
price (ordered by price), on match (ordered by best match, scoring no higher than the
winner) or by the cheapest-first tie rule (it scored higher, but the rule moved the winner
above it: read from `RankedBid.tie_break_over`, the answer's `tie_break`, which
`ranking._order` records as it applies the rule, never worked out again here). Then its
expected total against the winner's as a percentage gap, the fee at which it would have
ranked first all else equal (`matcher.bids.fee_search`), and by best match the components
where it lost most against the winner, each with a plain-English sentence. A rejected bid
gets each reason with what would have made it valid (`matcher.bids.rejection_text`) and,
when its fee above the ceiling is the only reason, the rank it would have had at the
ceiling.

Confidentiality: a bid's feedback is meant for its provider alone, so it never holds another
bid's id, listing, provider, name or price. The winner appears only as percentages (the
price gap to 0.1%, component values and contribution gaps to 3 decimals, the fee cut in
0.1% steps) and as a distance band ("under 5" miles); tests check this over random bid sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from matcher.bids.contract_terms import ContractTerms
from matcher.bids.fee_search import CUT_STEPS, FeeCut, FeeProblem, cut_for_fee, search_cuts
from matcher.bids.pricing import Pricer
from matcher.bids.ranking import (
    RankedBid,
    RankOptions,
    RejectedBid,
    component_matrices,
    rank_bids,
)
from matcher.bids.rejection_text import explain, rating_words
from matcher.match.criteria import Criteria
from matcher.match.request import METRES_PER_MILE
from matcher.registry.columns import RATINGS
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import needs_mask
from matcher.vocabulary.feedback_codes import LostOn, Outcome
from matcher.vocabulary.money import format_pence, to_pence
from matcher.vocabulary.reasons import BidReason
from matcher.vocabulary.rounding import round_each

FEEDBACK_VERSION = "feedback-1"  # in decision_id: a change of the feedback changes the id
VALUE_DECIMALS = 3
DISTANCE_BANDS_MILES = (1, 2, 5, 10, 20, 50)
_SEVERITY = ("no", "low", "moderate", "serious")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class FeedbackJob:
    """One referral's ranking with what its feedback needs; the fee searches to run.

    `problems[0]` searches the ranked bids below rank 1; each rejected bid whose only reason
    is its fee above the ceiling adds its what-if ranking at the ceiling, `at_ceiling` maps
    its position among the rejected bids to (problem index, rank there, valid bids there).
    """

    index: RegistryIndex
    criteria: Criteria
    options: RankOptions
    ranked: list[RankedBid]
    rejected: list[RejectedBid]
    problems: list[FeeProblem]
    at_ceiling: dict[int, tuple[int, int, int]]
    # Per ranked bid, per component (weights' order), rounded to VALUE_DECIMALS: its
    # contribution minus the winner's, and its value (`rounded_components`). Empty when
    # ordered by price: a loss by price reports no component.
    gaps: list[list[float]]
    values: list[list[float]]


def prepare(
    index: RegistryIndex,
    criteria: Criteria,
    ranked: list[RankedBid],
    rejected: list[RejectedBid],
    terms: ContractTerms,
    options: RankOptions,
    what_if: bool = True,
) -> FeedbackJob:
    """Gather what the feedback of one ranking needs (the fee searches are run apart, so a
    batch can run all its referrals' searches at once). `what_if`: rank again at the
    ceiling each rejected bid whose only fault is its fee (`at_ceiling`)."""
    pricer = Pricer.of(terms, criteria.sibling_group_size, options.expected_duration_weeks)
    losers = [(pos, r.price.fee_pence, 1) for pos, r in enumerate(ranked) if pos]
    problems = [FeeProblem(ranked, options, pricer, losers)]
    at_ceiling: dict[int, tuple[int, int, int]] = {}
    for i, rej in enumerate(rejected):
        if not what_if or rej.reasons != [BidReason.ABOVE_CEILING]:
            continue
        ceiling = to_pence(rej.details["ceiling_weekly_gbp"])
        fee = to_pence(rej.bid.weekly_fee_gbp)
        at = rej.bid.model_copy(update={"weekly_fee_gbp": format_pence(ceiling)})
        again, _ = rank_bids(index, criteria, [at, *(r.bid for r in ranked)], terms, options)
        pos = next((p for p, r in enumerate(again) if r.bid is at), None)
        if pos is None:  # cannot happen: at the ceiling nothing else rejects it
            continue
        at_ceiling[i] = (len(problems), pos + 1, len(again))
        problems.append(FeeProblem(again, options, pricer, [(pos, fee, cut_for_fee(fee, ceiling))]))
    by_price = options.order_by == "price"
    gaps, values = ([], []) if by_price else rounded_components(ranked)
    return FeedbackJob(
        index, criteria, options, ranked, rejected, problems, at_ceiling, gaps, values
    )


def rounded_components(ranked: list[RankedBid]) -> tuple[list[list[float]], list[list[float]]]:
    """Per ranked bid, each component's contribution gap to the winner (rank 1) and its
    value, both rounded to VALUE_DECIMALS: `round(a - b, 3)` and `round(v, 3)` of each,
    for all the bids at once (`round_each` gives `round`'s results; the subtraction is the
    same IEEE operation in numpy as in Python). Per bid and component in Python this was
    about a fifth of the feedback's time."""
    if not ranked:
        return [], []
    values, contributions = component_matrices(ranked)
    gaps = round_each(contributions - contributions[0], VALUE_DECIMALS).tolist()
    return gaps, round_each(values, VALUE_DECIMALS).tolist()


def bid_feedback(
    index: RegistryIndex,
    criteria: Criteria,
    ranked: list[RankedBid],
    rejected: list[RejectedBid],
    terms: ContractTerms,
    options: RankOptions,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The feedback of every ranked bid (rank order) and every rejected bid (input order)."""
    job = prepare(index, criteria, ranked, rejected, terms, options)
    return build(job, search_cuts(job.problems))


def build(
    job: FeedbackJob, cuts: list[list[FeeCut]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The feedback dicts, given the cuts `search_cuts` found for `job.problems`."""
    ranked = [_won(job)] if job.ranked else []
    ranked += [_lost(job, pos, cut) for pos, cut in enumerate(cuts[0], start=1)]
    rejected = []
    for i, rej in enumerate(job.rejected):
        what_if = job.at_ceiling.get(i)
        at, cut = None, None
        if what_if is not None:
            problem, rank, valid = what_if
            at, cut = {"rank": rank, "valid_bids": valid}, cuts[problem][0]
        rejected.append(_rejected(job, rej, at, cut))
    return ranked, rejected


def _order_words(options: RankOptions) -> str:
    return "price" if options.order_by == "price" else "best match"


def _won(job: FeedbackJob) -> dict[str, Any]:
    n = len(job.ranked)
    return {
        "outcome": Outcome.WON.value,
        "rank": 1,
        "valid_bids": n,
        "lost_on": None,
        "price_gap_percent": None,
        "fee_to_rank_first": None,
        "components": [],
        "summary": f"Ranked first of {n} valid bid{'s' if n > 1 else ''} by "
        f"{_order_words(job.options)}.",
    }


def price_gap_percent(total: Decimal, winner_total: Decimal) -> float:
    """(total - winner's) / winner's, in percent to one decimal (half up)."""
    return float((100 * (total - winner_total) / winner_total).quantize(_TENTH, ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Loss:
    """Why a ranked bid below rank 1 lost, in numbers (the market feedback counts these).

    `shortfalls`: by best match, (contribution gap, position, component) of each component
    where it fell short of the winner (gaps to 3 decimals, < 0), largest shortfall first.
    """

    lost_on: LostOn
    gap: float
    fee: dict[str, Any]
    shortfalls: list[tuple[float, int, str]]


def loss(job: FeedbackJob, pos: int, cut: FeeCut) -> Loss:
    """The loss of the ranked bid at `pos` (> 0), given its fee cut."""
    r, winner = job.ranked[pos], job.ranked[0]
    if job.options.order_by == "price":
        lost_on = LostOn.PRICE
    elif r.bid.bid_id in winner.tie_break_over:
        lost_on = LostOn.TIE_RULE
    else:
        lost_on = LostOn.MATCH
    gap = price_gap_percent(r.price.exact_total, winner.price.exact_total)
    shortfalls = []
    if job.options.order_by != "price":
        gaps = job.gaps[pos]
        for i, name in enumerate(job.options.weights.weights):
            if gaps[i] < 0:
                shortfalls.append((gaps[i], i, name))
        shortfalls.sort()
    return Loss(lost_on, gap, _fee_out(cut), shortfalls)


def _lost(job: FeedbackJob, pos: int, cut: FeeCut) -> dict[str, Any]:
    r, winner = job.ranked[pos], job.ranked[0]
    options = job.options
    lost = loss(job, pos, cut)
    lost_on, gap, fee = lost.lost_on, lost.gap, lost.fee
    components = [
        {
            "component": name,
            "value": job.values[pos][i],
            "contribution_gap": diff,
            "sentence": _sentence(job, name, r, winner, gap),
        }
        for diff, i, name in lost.shortfalls
    ]
    n = len(job.ranked)
    if lost_on is LostOn.PRICE:
        why = f"lost on price: {_gap_words(gap)}"
    elif lost_on is LostOn.MATCH:
        why = "lost on match"
        if components:
            why += f": {components[0]['sentence']}"
        if not components or components[0]["component"] != "price":
            why += f"; {_gap_words(gap)}"
    else:
        why = (
            "lost by the cheapest-first tie rule: it scored higher, but the winning bid also "
            f"fully meets the child's needs, scored within {options.tie_epsilon:g} of the top "
            f"and was cheaper ({_gap_words(gap)})"
        )
    return {
        "outcome": Outcome.LOST.value,
        "rank": pos + 1,
        "valid_bids": n,
        "lost_on": lost_on.value,
        "price_gap_percent": gap,
        "fee_to_rank_first": fee,
        "components": components,
        "summary": f"Ranked {pos + 1} of {n} by {_order_words(options)}, {why}; {_fee_words(fee)}.",
    }


def _gap_words(gap: float) -> str:
    if gap > 0:
        return f"expected total {gap:.1f}% above the winning bid's"
    if gap < 0:
        return f"expected total {-gap:.1f}% below the winning bid's"
    return "expected total level with the winning bid's (to 0.1%)"


def _fee_out(cut: FeeCut) -> dict[str, Any]:
    if cut.cut is None or cut.fee_pence is None:
        return {"possible": False, "fee_cut_percent": None, "weekly_fee_gbp": None}
    return {
        "possible": True,
        "fee_cut_percent": cut.cut / (CUT_STEPS // 100),
        "weekly_fee_gbp": format_pence(cut.fee_pence),
    }


def _fee_words(fee: dict[str, Any]) -> str:
    if not fee["possible"]:
        return "no lower fee alone would have ranked it first"
    return (
        f"a weekly fee of GBP {fee['weekly_fee_gbp']} ({fee['fee_cut_percent']:.1f}% lower) "
        "would have ranked it first"
    )


def distance_band(miles: float) -> str:
    """A coarse distance ("under 5"), all that feedback says of another bid's distance."""
    for limit in DISTANCE_BANDS_MILES:
        if miles < limit:
            return f"under {limit}"
    return f"{DISTANCE_BANDS_MILES[-1]} or more"


def _sentence(job: FeedbackJob, name: str, r: RankedBid, winner: RankedBid, gap: float) -> str:
    """Why one component scored lower, in the bid's own terms (the winner only as a band)."""
    reg, c, options = job.index.registry, job.criteria, job.options
    row = r.row
    if name == "price":
        return _gap_words(gap)
    if name == "distance":
        own = r.distance_m / METRES_PER_MILE
        other = distance_band(winner.distance_m / METRES_PER_MILE)
        return f"further from the referral's origin: {own:.1f} miles vs {other}"
    if name == "ofsted":
        return f"Ofsted rating {rating_words(RATINGS[reg.rating[row]])}"
    if name == "quality":
        kpi = float(reg.kpi_score[row])
        if math.isnan(kpi):
            return "no provider KPI score reported (counted as 0.5)"
        return f"provider KPI score {kpi:.2f}"
    if name == "needs_fit":
        listing = int(reg.needs_mask[row])
        secondary = needs_mask(options.secondary_needs)
        if secondary:
            return (
                f"supports {(secondary & listing).bit_count()} of the child's "
                f"{secondary.bit_count()} secondary needs"
            )
        return (
            f"less specialised: supports {listing.bit_count()} needs, the child requires "
            f"{c.needs_mask.bit_count()}"
        )
    if name == "in_area":
        return "outside the placing authority's area"
    if name == "safeguarding":
        return f"an open {_SEVERITY[int(reg.open_alert_max_severity[row])]} safeguarding alert"
    if name == "start_date":
        value = r.values[list(options.weights.weights).index(name)]
        late = round((1.0 - value) * (options.start_tolerance_days + 1))
        return f"starts {late} day{'s' if late != 1 else ''} after the start date"
    return "not among the listings the child or family prefer"  # preference


def _rejected(
    job: FeedbackJob, rej: RejectedBid, at: dict[str, int] | None, cut: FeeCut | None
) -> dict[str, Any]:
    reasons = explain(job.index, job.criteria, job.options, rej)
    fee = None if cut is None else _fee_out(cut)
    summary = "Rejected: " + "; ".join(x["message"] for x in reasons)
    if at is not None and fee is not None:
        summary += (
            f". At the ceiling it would have ranked {at['rank']} of {at['valid_bids']}; "
            f"{_fee_words(fee)}"
        )
    return {
        "outcome": Outcome.REJECTED.value,
        "valid_bids": len(job.ranked),
        "reasons": reasons,
        "at_ceiling": at,
        "fee_to_rank_first": fee,
        "summary": summary + ".",
    }
