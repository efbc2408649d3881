"""Per (DPV, lot): the listings that could ever take a referral, with what each accepts.

A referral is for one DPV and lot, and a listing suspended or barred, not registered with
Ofsted, under an excluding alert, without a vacancy or without a ceiling for the lot can
take no referral of that kind at all. So each (DPV, lot) gets its own table of the others,
built once per snapshot, and a shortlist walks only its own kind: a London residential
query never touches a fostering agency or a school.

Each entry carries what the listing accepts as one 64-bit word (`ACCEPT_*` bit fields:
ages, genders, sibling group sizes, the rating thresholds it meets, whether it is inspected,
needs) and the start dates it can take a child on (`start_lo`..`start_hi`: its vacancy is
open, no Ofsted restriction, and one ceiling period of the lot is valid). A listing with
two ceiling periods for the lot has one entry per period; periods never overlap, so at most
one entry of a listing accepts any start date. The referral side of the test (which bits
a referral requires) is `matcher.match.eligibility.required_bits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.registry.columns import Registry
from matcher.registry.packed_rtree import Keep
from matcher.registry.spatial import SpatialIndex, build_spatial_index
from matcher.vocabulary.catalogue import (
    DPV_STATUS_CODE,
    RATING_RANK,
    REGISTRATION_CODE,
    DpvStatus,
    Need,
    OfstedRating,
    OfstedRegistration,
)

# Bit fields of the accept word (bit offsets).
ACCEPT_AGE = 0  # bit a: the age a is within the listing's range (ages 0-25)
ACCEPT_GENDER = 26  # genders_mask, 3 bits
ACCEPT_GROUP = 29  # bit k-1: a sibling group of k fits (vacancies and max group), k 1-10
ACCEPT_RATING = 39  # bit r-1: rated at least r (1 inadequate .. 4 outstanding), or not rated
ACCEPT_INSPECTED = 43  # rated at all (not "not yet inspected")
ACCEPT_NEEDS = 44  # needs_mask, 15 bits
MAX_AGE = 25
MAX_GROUP = 10
RANKED = (1, 2, 3, 4)

assert ACCEPT_NEEDS + len(Need) <= 64  # noqa: S101 - the layout must fit one word

I32 = npt.NDArray[np.int32]
Rows = npt.NDArray[np.intp]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class KindTable:
    """The listings of one (DPV, lot) that could take a referral, in the tree's order.

    Entry p (a position of `tree`) is listing `row[p]`; `accept[p]` and
    `start_lo[p]`..`start_hi[p]` (date ordinals) say what it accepts; `easting`/`northing`
    are its BNG point (metres), in the same order.
    """

    tree: SpatialIndex
    row: Rows
    accept: U64
    start_lo: I32
    start_hi: I32
    easting: F64
    northing: F64

    @property
    def size(self) -> int:
        """Number of entries."""
        return len(self.row)

    def keep(self, required: np.uint64, start: np.int32) -> Keep:
        """The filter passing the entries whose accept word has every `required` bit and
        whose window holds the start date (ordinal)."""
        return Keep(self.accept, self.start_lo, self.start_hi, required, start)


def accept_words(registry: Registry, rating_rank: npt.NDArray[np.uint8]) -> U64:
    """Per listing, the accept word (see the module docstring), in whole-array arithmetic:
    a run of bits from a to b is (1 << (b + 1)) - (1 << a)."""
    one = np.uint64(1)

    def bits_below(n: npt.NDArray[np.uint64]) -> U64:  # bits 0 .. n-1 set
        return (one << n) - one

    age_min = registry.age_min.astype(np.uint64)
    age_max = registry.age_max.astype(np.uint64)
    ages = (one << (age_max + one)) - (one << age_min)
    room = np.clip(np.minimum(registry.vacancies, registry.max_sibling_group), 0, MAX_GROUP)
    unrated = rating_rank == RATING_RANK[OfstedRating.NOT_YET_INSPECTED]
    # rated r: thresholds 1..r met; not rated: every threshold (rating checks skip it)
    every_threshold = np.uint64((1 << len(RANKED)) - 1)
    rating = np.where(unrated, every_threshold, bits_below(rating_rank.astype(np.uint64)))
    return (
        (ages << np.uint64(ACCEPT_AGE))
        | (registry.genders_mask.astype(np.uint64) << np.uint64(ACCEPT_GENDER))
        | (bits_below(room.astype(np.uint64)) << np.uint64(ACCEPT_GROUP))
        | (rating << np.uint64(ACCEPT_RATING))
        | ((~unrated).astype(np.uint64) << np.uint64(ACCEPT_INSPECTED))
        | (registry.needs_mask.astype(np.uint64) << np.uint64(ACCEPT_NEEDS))
    )


def can_take_any(
    registry: Registry, alert_excluded: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Listings that some referral could reach: registered, active, no excluding alert,
    at least one vacancy (DOMAIN rules 2-3)."""
    registered = registry.registration == REGISTRATION_CODE[OfstedRegistration.REGISTERED]
    active = registry.dpv_status == DPV_STATUS_CODE[DpvStatus.ACTIVE]
    return registered & active & ~alert_excluded & (registry.vacancies >= 1)


def build_kind(
    registry: Registry,
    kind: tuple[int, int],
    possible: npt.NDArray[np.bool_],
    accept: U64,
    points: tuple[F64, F64],
    owner: Rows,
    backend: str,
) -> KindTable:
    """The table of one (DPV, lot) codes: one entry per listing and ceiling period
    (`owner[k]` is the listing of ceiling period k)."""
    dpv_code, lot_code = kind
    period = np.flatnonzero(
        (registry.ceil_lot == lot_code)
        & (registry.dpv[owner] == dpv_code)
        & ((registry.lots_mask[owner] >> lot_code) & 1 == 1)
        & possible[owner]
    )
    row = owner[period]
    start_lo = np.maximum.reduce(
        [
            registry.available_from[row],
            registry.restricted_until[row] + 1,
            registry.ceil_from[period],
        ]
    ).astype(np.int32)
    start_hi = registry.ceil_to[period].astype(np.int32)
    keep = start_lo <= start_hi
    row, start_lo, start_hi = row[keep], start_lo[keep], start_hi[keep]
    e, n = points[0][row], points[1][row]
    tree = build_spatial_index(backend, e, n)
    order = tree.order
    return KindTable(
        tree=tree,
        row=np.ascontiguousarray(row[order]),
        accept=np.ascontiguousarray(accept[row[order]]),
        start_lo=np.ascontiguousarray(start_lo[order]),
        start_hi=np.ascontiguousarray(start_hi[order]),
        easting=np.ascontiguousarray(e[order]),
        northing=np.ascontiguousarray(n[order]),
    )
