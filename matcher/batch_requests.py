"""Request bodies for the batch capabilities: block allocation and sufficiency analytics."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from matcher.money import MoneyStr
from matcher.requests import RankRequest, ShortlistRequest, Weights


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllocateRequest(_Body):
    """Several referrals (each a child or a sibling group) and their bids, placed together."""

    referrals: Annotated[list[RankRequest], Field(min_length=1, max_length=5_000)]
    objective: Literal["min_cost", "max_match"] = "min_cost"
    budget_gbp: Annotated[
        MoneyStr | None,
        Field(description="Optional cap on the summed expected total cost of placements."),
    ] = None
    profile: Annotated[str, Field(max_length=32)] | None = None
    weights: Weights | None = None


class SufficiencyRequest(_Body):
    """A batch of referrals to turn into evidence of where supply is missing."""

    referrals: Annotated[list[ShortlistRequest], Field(min_length=1, max_length=100_000)]
    radii_miles: Annotated[
        list[Annotated[float, Field(gt=0, le=200, allow_inf_nan=False)]],
        Field(min_length=1, max_length=5),
    ] = [20.0, 50.0]
