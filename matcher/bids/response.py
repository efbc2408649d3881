"""The ranking answer (and the compare answer): response schemas built from ranked bids."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from matcher.bids.ranking import RankedBid, RejectedBid
from matcher.match.response import miles
from matcher.registry.columns import RATINGS
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


class RejectedBidOut(_Out):
    """A bid that was not ranked, with every reason (feedback for the provider)."""

    bid_id: str
    listing_id: str
    reasons: list[str]
    details: dict[str, Any]


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


def ranked_out(index: RegistryIndex, rank: int, r: RankedBid) -> dict[str, Any]:
    """One ranked bid as reported."""
    reg = index.registry
    p = r.price
    return dict(
        rank=rank,
        bid_id=r.bid.bid_id,
        listing_id=r.bid.listing_id,
        provider_id=reg.provider_ids[r.row],
        provider_name=reg.provider_names[r.row],
        listing_name=reg.names[r.row],
        distance_miles=miles(r.distance_m),
        in_area=r.in_area,
        ofsted_rating=RATINGS[reg.rating[r.row]].value,
        fully_meets_needs=r.fully_meets_needs,
        price=dict(
            weekly_fee_gbp=format_pence(p.fee_pence),
            children=p.children,
            gross_weekly_core_gbp=format_pence(p.gross_weekly_core_pence),
            discounts=[
                dict(
                    kind=d.kind,
                    percent=str(d.percent),
                    weekly_amount_gbp=format_pence(d.weekly_pence),
                )
                for d in p.discounts
            ],
            net_weekly_core_gbp=format_pence(p.net_weekly_core_pence),
            additional_services=[
                dict(
                    code=s.code,
                    unit=s.unit.value,
                    rate_gbp=format_pence(s.rate_pence),
                    units_per_week=str(s.units_per_week),
                    weeks_charged=s.weeks_charged,
                    cost_gbp=format_pence(s.cost_pence),
                )
                for s in p.services
            ],
            additional_services_total_gbp=format_pence(p.services_total_pence),
            expected_duration_weeks=p.expected_duration_weeks,
            expected_total_cost_gbp=format_pence(p.expected_total_pence),
            average_weekly_cost_gbp=format_pence(p.average_weekly_pence),
            ceiling_weekly_gbp=format_pence(r.ceiling_pence),
            headroom_weekly_gbp=format_pence(r.ceiling_pence - p.fee_pence),
        ),
        score=round(r.score, 6),
        components={
            name: dict(
                value=round(c.value, 6), weight=c.weight, contribution=round(c.contribution, 6)
            )
            for name, c in r.components.items()
        },
    )


def rejected_out(r: RejectedBid) -> dict[str, Any]:
    """One rejected bid as reported."""
    return dict(
        bid_id=r.bid.bid_id, listing_id=r.bid.listing_id, reasons=r.reasons, details=r.details
    )
