"""Rank and compare request bodies: a referral with its bids, and weight choices.

Shared verbatim by the CLI and the HTTP API, like `matcher.match.request`, which they
extend; the referral part is resolved by `matcher.match.request.resolve_criteria`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict

from matcher.match.request import Integral, RequestBody, ShortlistRequest
from matcher.registry.snapshot import Id, IsoDate
from matcher.vocabulary.money import PositiveMoneyStr


class BidService(RequestBody):
    """An additional service priced from the listing's menu, time-limited."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    units_per_week: Annotated[float, Strict(), Field(gt=0, le=168, allow_inf_nan=False)]
    weeks: Annotated[int, Strict(), Field(ge=1, le=520), Integral]


class Bid(RequestBody):
    """A provider's offer for the referral."""

    bid_id: Id
    listing_id: Id
    weekly_fee_gbp: PositiveMoneyStr
    # pydantic copies a mutable default per instance (ruff cannot see the BaseModel base here)
    additional_services: Annotated[list[BidService], Field(max_length=20)] = []  # noqa: RUF012
    available_from: IsoDate | None = None


Weights = dict[
    Annotated[str, Field(max_length=32)], Annotated[float, Strict(), Field(allow_inf_nan=False)]
]


class RankRequest(ShortlistRequest):
    """A referral with the bids received for it."""

    bids: Annotated[list[Bid], Field(max_length=10_000)]
    order_by: Literal["price", "best_match"] = "price"  # type: ignore[assignment]
    weights: Weights | None = None
    profile: Annotated[str, Field(max_length=32)] | None = None
    start_tolerance_days: Annotated[
        int,
        Strict(),
        Field(
            ge=0,
            le=90,
            description="Bids may start up to this many days after start_date; later starts "
            "score lower on the start_date component (0: every bid must start on time).",
        ),
        Integral,
    ] = 0
    tie_epsilon: Annotated[
        float,
        Strict(),
        Field(
            ge=0,
            le=0.2,
            allow_inf_nan=False,
            description="Best match: bids that fully meet needs and score within this of "
            "each other rank cheapest first.",
        ),
    ] = 0.01
    feedback: Annotated[
        bool,
        Strict(),
        Field(
            exclude=True,  # not in the canonical request: decision_id adds it when true
            description="Give every bid its provider's feedback: why it did not rank first "
            "(its rank, what it lost on, the price gap and the fee that would have won, the "
            "components it lost most on) or why it was rejected and what would make it "
            "valid. false: the answer as before feedback existed.",
        ),
    ] = True


class WeightChoice(RequestBody):
    """One side of a comparison: a profile, explicit weights, or both (weights override)."""

    profile: Annotated[str, Field(max_length=32)] | None = None
    weights: Weights | None = None


class CompareRequest(RequestBody):
    """One ranking request and two weight choices to compare."""

    request: RankRequest
    a: WeightChoice
    b: WeightChoice
