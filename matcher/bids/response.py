"""The ranking answer (and the compare answer): response schemas built from ranked bids."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from matcher.bids.feedback_response import RankedFeedbackOut, RejectedFeedbackOut
from matcher.bids.ranking import RankedBid, RejectedBid
from matcher.bids.weights import ResolvedWeights
from matcher.match.listing_json import RATING_CODES
from matcher.match.response import miles
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.money import format_pence


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscountOut(_Out):
    """A discount off the weekly core fee."""

    kind: str
    percent: str
    weekly_amount_gbp: str


class ServiceCostOut(_Out):
    """An additional service's cost over the weeks it is charged."""

    code: str
    unit: str
    rate_gbp: str
    units_per_week: str
    weeks_charged: int
    cost_gbp: str


class PriceOut(_Out):
    """The bid's price, each figure rounded half-up once from its exact value."""

    weekly_fee_gbp: str
    children: int
    gross_weekly_core_gbp: str
    discounts: list[DiscountOut]
    net_weekly_core_gbp: str
    additional_services: list[ServiceCostOut]
    additional_services_total_gbp: str
    expected_duration_weeks: int
    expected_total_cost_gbp: str
    average_weekly_cost_gbp: str
    ceiling_weekly_gbp: str
    headroom_weekly_gbp: Annotated[str, Field(description="Ceiling minus the weekly fee.")]


class ComponentOut(_Out):
    """One named part of the best-match score."""

    value: float
    weight: float
    contribution: float


class TieBreakOut(_Out):
    """Why a bid sits above bids that score higher: the cheapest-first tie rule."""

    moved_above: Annotated[
        list[str],
        Field(
            description="The bids (ids, in score order) placed below this one although each "
            "scores higher: this bid fully meets needs and is the cheapest that does within "
            "tie_epsilon of the best remaining score."
        ),
    ]


class RankedBidOut(_Out):
    """A valid bid in rank order, with why it sits there."""

    rank: int
    bid_id: str
    listing_id: str
    provider_id: str
    provider_name: str
    listing_name: str
    distance_miles: float
    in_area: bool
    ofsted_rating: str
    fully_meets_needs: bool
    price: PriceOut
    score: float
    components: dict[str, ComponentOut]
    tie_break: Annotated[
        TieBreakOut | None,
        Field(
            description="Best match only: set when the cheapest-first tie rule placed this bid "
            "above higher-scoring bids; null when it sits where its score (or price) puts it."
        ),
    ]
    feedback: Annotated[
        RankedFeedbackOut | None,
        Field(exclude_if=lambda v: v is None,
              description="For this bid's provider alone; absent with \"feedback\": false."),
    ] = None  # fmt: skip


class RejectedBidOut(_Out):
    """A bid that was not ranked, with every reason (feedback for the provider)."""

    bid_id: str
    listing_id: str
    reasons: list[str]
    details: dict[str, Any]
    feedback: Annotated[
        RejectedFeedbackOut | None,
        Field(exclude_if=lambda v: v is None,
              description="For this bid's provider alone; absent with \"feedback\": false."),
    ] = None  # fmt: skip


class WeightsOut(_Out):
    """The weights actually used, after the profile and any overrides."""

    profile: str
    weights: dict[str, float]


class RankResponse(_Out):
    """The answer to a rank request."""

    referral_id: str
    decision_id: str
    snapshot_version: str
    contract_terms_version: str
    contract_terms: dict[str, Any]
    order_by: str
    weights: WeightsOut
    tie_epsilon: float
    ranked: list[RankedBidOut]
    rejected: list[RejectedBidOut]


class MovementOut(_Out):
    """How one bid's rank differs between weight sets a and b."""

    bid_id: str
    rank_a: int
    rank_b: int
    movement: Annotated[int, Field(description="rank_a - rank_b: positive = moved up under b")]


class CompareResponse(_Out):
    """Two rankings of the same bids under two weight choices."""

    referral_id: str
    decision_id: str
    snapshot_version: str
    a: RankResponse
    b: RankResponse
    movements: list[MovementOut]
    kendall_tau: Annotated[
        float | None, Field(description="Rank correlation of a and b (None with < 2 bids).")
    ]


def rank_body(
    index: RegistryIndex,
    head: dict[str, Any],
    weights: ResolvedWeights,
    tie_epsilon: float,
    ranked: list[RankedBid],
    rejected: list[RejectedBid],
    feedback: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The answer as plain JSON-ready data, fields in the order of `RankResponse`.

    `head` holds the fields before `weights` (referral_id ... order_by). Serialised with
    any JSON encoder it is exactly `RankResponse`'s `model_dump_json()` (tested).
    `feedback`: each ranked (rank order) and rejected bid's feedback, added last.
    """
    names = list(weights.weights)
    weight_values = [float(w) for w in weights.weights.values()]
    body = {
        **head,
        "weights": {
            "profile": weights.profile,
            "weights": dict(zip(names, weight_values, strict=True)),
        },
        "tie_epsilon": float(tie_epsilon),
        "ranked": ranked_entries(index, ranked, names, weight_values),
        "rejected": [rejected_out(r) for r in rejected],
    }
    if feedback is not None:
        for entries, notes in zip((body["ranked"], body["rejected"]), feedback, strict=True):
            for entry, note in zip(entries, notes, strict=True):
                entry["feedback"] = note
    return body


def ranked_entries(
    index: RegistryIndex, ranked: list[RankedBid], names: list[str], weights: list[float]
) -> list[dict[str, Any]]:
    """The ranked bids as reported (`RankedBidOut` fields, in order), rank 1 first.

    A component's entry depends only on its value (the weight and the weights' total are
    the request's), and most components take few values (ratings, flags, severities), so
    equal entries are built once per answer and shared; the answer is never mutated.
    """
    reg = index.registry
    components = _components(ranked, names, weights)
    rows = np.fromiter((r.row for r in ranked), dtype=np.intp, count=len(ranked))
    ratings = reg.rating.take(rows).tolist()
    return [
        {
            "rank": rank,
            "bid_id": r.bid.bid_id,
            "listing_id": r.bid.listing_id,
            "provider_id": reg.provider_ids[r.row],
            "provider_name": reg.provider_names[r.row],
            "listing_name": reg.names[r.row],
            "distance_miles": miles(r.distance_m),
            "in_area": r.in_area,
            "ofsted_rating": RATING_CODES[rating],
            "fully_meets_needs": r.fully_meets_needs,
            "price": price_out(r),
            "score": round(r.score, 6),
            "components": bid_components,
            "tie_break": {"moved_above": list(r.tie_break_over)} if r.tie_break_over else None,
        }
        for rank, (r, rating, bid_components) in enumerate(
            zip(ranked, ratings, components, strict=True), start=1
        )
    ]


def _components(
    ranked: list[RankedBid], names: list[str], weights: list[float]
) -> list[dict[str, dict[str, float]]]:
    """Each bid's `components` (`ComponentOut` by name), built a component at a time: an
    entry is built once per distinct value of its component and shared."""
    if not names:
        return [{} for _ in ranked]
    per_name = []
    for j, weight in enumerate(weights):
        built: dict[float, dict[str, float]] = {}
        entries = []
        for r in ranked:
            value = r.values[j]
            entry = built.get(value)
            if entry is None:
                entry = built[value] = {
                    "value": round(value, 6),
                    "weight": weight,
                    "contribution": round(r.contributions[j], 6),
                }
            entries.append(entry)
        per_name.append(entries)
    return [dict(zip(names, entries, strict=True)) for entries in zip(*per_name, strict=True)]


def price_out(r: RankedBid) -> dict[str, Any]:
    """A ranked bid's price (`PriceOut` fields, in order)."""
    p = r.price
    return {
        "weekly_fee_gbp": format_pence(p.fee_pence),
        "children": p.children,
        "gross_weekly_core_gbp": format_pence(p.gross_weekly_core_pence),
        "discounts": [
            {
                "kind": d.kind,
                "percent": str(d.percent),
                "weekly_amount_gbp": format_pence(d.weekly_pence),
            }
            for d in p.discounts
        ],
        "net_weekly_core_gbp": format_pence(p.net_weekly_core_pence),
        "additional_services": [
            {
                "code": s.code,
                "unit": s.unit.value,
                "rate_gbp": format_pence(s.rate_pence),
                "units_per_week": str(s.units_per_week),
                "weeks_charged": s.weeks_charged,
                "cost_gbp": format_pence(s.cost_pence),
            }
            for s in p.services
        ],
        "additional_services_total_gbp": format_pence(p.services_total_pence),
        "expected_duration_weeks": p.expected_duration_weeks,
        "expected_total_cost_gbp": format_pence(p.expected_total_pence),
        "average_weekly_cost_gbp": format_pence(p.average_weekly_pence),
        "ceiling_weekly_gbp": format_pence(r.ceiling_pence),
        "headroom_weekly_gbp": format_pence(r.ceiling_pence - p.fee_pence),
    }


def rejected_out(r: RejectedBid) -> dict[str, Any]:
    """One rejected bid as reported (`RejectedBidOut`)."""
    bid = r.bid
    return {"bid_id": bid.bid_id, "listing_id": bid.listing_id, "reasons": r.reasons,
            "details": r.details}  # fmt: skip
