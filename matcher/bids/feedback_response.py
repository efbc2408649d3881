"""Response schemas of a bid's feedback (`matcher.bids.feedback` builds them as plain data).

Published in the OpenAPI document and the JSON Schema of the rank answer; the answer itself
is built as dicts in these models' field order (see `matcher.bids.response`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeeToRankFirstOut(_Out):
    """The fee at which the bid would have ranked first, all else equal."""

    possible: Annotated[
        bool,
        Field(description="False: no fee of at least one penny would have ranked it first "
                          "(by best match the price component cannot exceed 1)."),
    ]  # fmt: skip
    fee_cut_percent: Annotated[
        float | None,
        Field(description="How much lower than the bid's fee, in steps of 0.1% (never to the "
                          "penny: that would give the winner's fee away)."),
    ]  # fmt: skip
    weekly_fee_gbp: Annotated[
        str | None,
        Field(description="The bid's fee reduced by fee_cut_percent, rounded down to the penny: "
                          "at this fee the same bids rank it first."),
    ]  # fmt: skip


class ComponentLossOut(_Out):
    """A best-match component where the bid's weighted contribution fell short of the winner's."""

    component: str
    value: Annotated[float, Field(description="The bid's own value (3 decimals).")]
    contribution_gap: Annotated[
        float, Field(description="Its contribution minus the winner's (3 decimals, < 0).")
    ]
    sentence: Annotated[str, Field(description="Why, in the bid's own terms.")]


class RankedFeedbackOut(_Out):
    """Feedback on a ranked bid, for its provider alone: no other bid's id, listing,
    provider or price (the winner only as percentages and a distance band)."""

    outcome: Annotated[str, Field(description="won or lost (GET /v1/catalogue: feedback).")]
    rank: int
    valid_bids: int
    lost_on: Annotated[
        str | None, Field(description="price, match or tie_rule; null for the winner.")
    ]
    price_gap_percent: Annotated[
        float | None,
        Field(description="Expected total minus the winner's, in % of the winner's (0.1%)."),
    ]
    fee_to_rank_first: FeeToRankFirstOut | None
    components: Annotated[
        list[ComponentLossOut],
        Field(description="Best match: where it lost against the winner, largest first."),
    ]
    summary: str


class ReasonFixOut(_Out):
    """One reason a bid was rejected, and what would have made it valid."""

    reason: str
    message: str
    to_be_valid: str


class AtCeilingOut(_Out):
    """The rank the bid would have had at its ceiling (its only fault being the fee)."""

    rank: int
    valid_bids: int


class RejectedFeedbackOut(_Out):
    """Feedback on a rejected bid, for its provider alone."""

    outcome: Annotated[str, Field(description="rejected")]
    valid_bids: int
    reasons: list[ReasonFixOut]
    at_ceiling: AtCeilingOut | None
    fee_to_rank_first: FeeToRankFirstOut | None
    summary: str
