"""What a referral asks for, in the form the index evaluates (plain data, no pydantic).

The request schema (`matcher.schemas`) validates the JSON and resolves names, postcodes and
defaults; this frozen record is what the domain core sees. It lives only for one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import geodata
from matcher.vocabulary.catalogue import (
    GENDER_BIT,
    LOT_BIT,
    RATING_RANK,
    Dpv,
    Gender,
    Lot,
    OfstedRating,
)


@cache
def _authority_order() -> dict[str, int]:
    return {a.code: i for i, a in enumerate(geodata.authorities())}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where distances are measured from, and how that point was found."""

    lat: float
    lon: float
    how: str  # "authority" | "point" | "postcode_district"
    label: str


@dataclass(frozen=True, slots=True)
class Criteria:
    """A referral's eligibility criteria (DOMAIN rules 1-4)."""

    authority_code: str
    dpv: Dpv
    lot: Lot
    age: int
    gender: Gender
    needs_mask: int
    sibling_group_size: int
    start_date: int  # ordinal
    origin: Origin
    max_distance_m: float
    min_rating: OfstedRating
    accept_not_yet_inspected: bool
    exclude_listing_ids: frozenset[str]

    @property
    def lot_bit(self) -> int:
        """The lot's bit in the index's lots mask."""
        return LOT_BIT[self.lot]

    @property
    def gender_bit(self) -> int:
        """The gender's bit in the index's genders mask."""
        return GENDER_BIT[self.gender]

    @property
    def authority_position(self) -> int:
        """The placing authority's position in `geodata.authorities()` (sorted by code)."""
        return _authority_order()[self.authority_code]

    @property
    def min_rating_rank(self) -> int:
        """The minimum rating on the 1 (inadequate) .. 4 (outstanding) scale."""
        return RATING_RANK[self.min_rating]
