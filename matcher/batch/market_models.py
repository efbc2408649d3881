"""Request and response bodies of the market feedback (`POST /v1/feedback/market`).

The definitions behind every count are in `matcher.batch.market_feedback`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from matcher.bids.request import RankRequest
from matcher.registry.snapshot import Id

MAX_MARKET_REQUESTS = 20_000


class MarketFeedbackRequest(BaseModel):
    """A period of referrals with their bids (each a rank request), and optionally one
    provider to report on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: Annotated[
        list[RankRequest],
        Field(
            min_length=1,
            max_length=MAX_MARKET_REQUESTS,
            description="Each referral with the bids it received, ranked as `rank` ranks it "
            "(its own order_by, profile and weights); `feedback` is ignored.",
        ),
    ]
    provider_id: Annotated[
        Id | None,
        Field(description="Report on this provider only (the market view is then left out: "
                          "it covers every provider's bids). Unknown: 422 with suggestions."),
    ] = None  # fmt: skip


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatsOut(_Out):
    """What happened to one listing (or a provider's listings, or the market) over the batch."""

    referrals_in_scope: Annotated[
        int, Field(description="Referrals on the listing's DPV with it within their radius.")
    ]
    eligible: Annotated[int, Field(description="Of those, referrals it was eligible for.")]
    excluded: int
    excluded_by_reason: Annotated[
        dict[str, int], Field(description="A referral counts under each reason it failed.")
    ]
    near_misses: Annotated[
        dict[str, int], Field(description="Referrals excluded by exactly one reason, by reason.")
    ]
    bids: int
    ranked: int
    won: int
    lost: Annotated[dict[str, int], Field(description="Lost bids by lost_on.")]
    rejected: int
    rejected_by_reason: Annotated[
        dict[str, int], Field(description="A rejected bid counts under each of its reasons.")
    ]
    median_price_gap_percent_lost_on_price: Annotated[
        float | None, Field(description="Over bids lost on price (ordered by price).")
    ]
    median_price_gap_percent_lost: Annotated[
        float | None, Field(description="Over every lost bid, whatever it lost on.")
    ]
    lost_most_on: Annotated[
        dict[str, int],
        Field(description="Best-match losses by the component where the bid lost most."),
    ]


class ChangeOut(_Out):
    """One single change to a listing and how many referrals it would have changed."""

    change: Annotated[str, Field(description="GET /v1/catalogue: feedback.changes")]
    listing_id: Annotated[
        str | None, Field(description="A provider's best change: at which listing.")
    ] = None
    need: Annotated[str | None, Field(description="support_need: the need.")] = None
    effect: Annotated[str, Field(description="won or eligible (see the catalogue).")]
    referrals: int
    median_fee_cut_percent: Annotated[
        float | None, Field(description="lower_fee: the median cut that would have won.")
    ] = None


class ListingFeedbackOut(_Out):
    """One listing of the provider."""

    listing_id: str
    name: str
    dpv: str
    stats: StatsOut
    changes: Annotated[list[ChangeOut], Field(description="Most referrals first.")]
    best_change: ChangeOut | None


class ProviderFeedbackOut(_Out):
    """One provider: its listings, and their counts summed."""

    provider_id: str
    provider_name: str
    stats: StatsOut
    best_change: Annotated[
        ChangeOut | None, Field(description="The single change, at one of its listings, that "
                                            "would have changed the most referrals.")
    ]  # fmt: skip
    listings: list[ListingFeedbackOut]


class MarketChangeOut(_Out):
    """A kind of change over the market: how many listings could make it, and how many
    distinct referrals it would have changed (at one listing or another)."""

    change: str
    need: str | None = None
    effect: str
    listings: int
    referrals: int
    referrals_without_valid_bid: Annotated[
        int, Field(description="Of those, referrals that received no valid bid at all.")
    ]


class SingleChangeOut(_Out):
    """One change at one listing (commissioner's view: names the provider)."""

    provider_id: str
    listing_id: str
    change: str
    need: str | None = None
    effect: str
    referrals: int


class MarketOut(_Out):
    """The commissioner's view: every provider's counts summed, and the changes."""

    stats: StatsOut
    referrals_without_valid_bid: int
    referrals_without_eligible_listing: int
    changes: Annotated[list[MarketChangeOut], Field(description="Most referrals first.")]
    best_single_changes: Annotated[
        list[SingleChangeOut],
        Field(description="The single changes at one listing that would have changed the most "
                          "referrals (at most 20, most first)."),
    ]  # fmt: skip


class MarketFeedbackResponse(_Out):
    """Per provider and listing, then the market (null when one provider was asked for)."""

    decision_id: str
    snapshot_version: str
    contract_terms_version: str
    feedback_version: str
    referrals: int
    bids: int
    provider_id: str | None
    providers: list[ProviderFeedbackOut]
    market: MarketOut | None
