"""Eligibility: every reason a listing cannot receive a referral, as bits, vectorised.

`reason_bits` evaluates all criteria except distance for any set of rows (every row for the
brute-force reference, or the rows an answer explains): it is the definition of
eligibility. `kind_eligible` is the same test in the form the shortlist runs it, over the
entries of the referral's own (DPV, lot) table (`matcher.registry.kinds`): one 64-bit
accept word and a start-date window per entry, so a candidate costs a handful of vectorised
operations whatever the number of criteria; the tests require the two to agree.
`whole_registry_counts` answers "how many listings in the registry does each criterion
exclude" from the index's count tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.match.criteria import Criteria
from matcher.registry.columns import RATINGS
from matcher.registry.index import MAX_COUNTED, RegistryIndex
from matcher.registry.jit import kernel
from matcher.registry.kinds import (
    ACCEPT_AGE,
    ACCEPT_GENDER,
    ACCEPT_GROUP,
    ACCEPT_INSPECTED,
    ACCEPT_NEEDS,
    ACCEPT_RATING,
    KindTable,
)
from matcher.vocabulary.catalogue import (
    DPV_CODE,
    DPV_STATUS_CODE,
    GENDER_BIT,
    LOT_CODE,
    RATING_RANK,
    REGISTRATION_CODE,
    DpvStatus,
    OfstedRating,
    OfstedRegistration,
)
from matcher.vocabulary.reasons import REASON_BIT, Reason

Rows = npt.NDArray[np.intp]
Bits = npt.NDArray[np.uint32]

_NYI = RATINGS.index(OfstedRating.NOT_YET_INSPECTED)
_SUSPENDED_REG = REGISTRATION_CODE[OfstedRegistration.SUSPENDED]
_CANCELLED_REG = REGISTRATION_CODE[OfstedRegistration.CANCELLED]
_SUSPENDED = DPV_STATUS_CODE[DpvStatus.SUSPENDED]
_BARRED = DPV_STATUS_CODE[DpvStatus.BARRED]


Check = Callable[[RegistryIndex, Rows, Criteria], npt.NDArray[np.bool_]]


def _dpv(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.registry.dpv.take(rows) != DPV_CODE[c.dpv]


def _lot(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return (ix.registry.lots_mask.take(rows) & c.lot_bit) == 0


def _gender(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return (ix.registry.genders_mask.take(rows) & c.gender_bit) == 0


def _age(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return (ix.registry.age_min.take(rows) > c.age) | (ix.registry.age_max.take(rows) < c.age)


def _needs(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return (ix.registry.needs_mask.take(rows) & c.needs_mask) != c.needs_mask


def _sibling(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.registry.max_sibling_group.take(rows) < c.sibling_group_size


def _vacancy(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.registry.vacancies.take(rows) < c.sibling_group_size


def _available(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.registry.available_from.take(rows) > c.start_date


def _restricted(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.registry.restricted_until.take(rows) >= c.start_date


def _rating(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return (ix.registry.rating.take(rows) != _NYI) & (ix.rating_rank.take(rows) < c.min_rating_rank)


def _not_inspected(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    if c.accept_not_yet_inspected:
        return np.zeros(len(rows), dtype=bool)
    return ix.registry.rating.take(rows) == _NYI


def _ceiling(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    return ix.lot_ceilings[LOT_CODE[c.lot]].pence_on(rows, c.start_date) < 0


def _excluded(ix: RegistryIndex, rows: Rows, c: Criteria) -> npt.NDArray[np.bool_]:
    if not c.exclude_listing_ids:
        return np.zeros(len(rows), dtype=bool)
    # the excluded ids as rows (ids are unique), not each candidate's id as text
    excluded = ix.registry.rows_of(sorted(c.exclude_listing_ids))
    return np.isin(rows, excluded[excluded >= 0])


# Every referral-dependent criterion, most selective first (the order only affects speed).
# The referral-independent ones (registration, DPV status, excluding alerts) are folded into
# one precomputed column, `RegistryIndex.static_bits`.
CHECKS: tuple[tuple[Reason, Check], ...] = (
    (Reason.DPV_MISMATCH, _dpv),
    (Reason.LOT_NOT_APPROVED, _lot),
    (Reason.NEEDS_NOT_MET, _needs),
    (Reason.GENDER_NOT_ACCEPTED, _gender),
    (Reason.NO_VACANCY, _vacancy),
    (Reason.AGE_OUT_OF_RANGE, _age),
    (Reason.NOT_AVAILABLE_BY_START_DATE, _available),
    (Reason.NO_VALID_CEILING, _ceiling),
    (Reason.SIBLING_GROUP_TOO_LARGE, _sibling),
    (Reason.OFSTED_RATING_BELOW_MINIMUM, _rating),
    (Reason.OFSTED_NOT_YET_INSPECTED, _not_inspected),
    (Reason.OFSTED_ADMISSIONS_RESTRICTED, _restricted),
    (Reason.EXCLUDED_BY_REFERRAL, _excluded),
)


def reason_bits(index: RegistryIndex, rows: Rows, criteria: Criteria) -> Bits:
    """Per row, the OR of the bits of every failed criterion (distance excluded).

    Parameters
    ----------
    index : the snapshot's index.
    rows : row positions to evaluate, shape (k,).
    criteria : the referral's criteria.

    Returns
    -------
    uint32 array, shape (k,): 0 where the listing is eligible apart from distance.
    """
    bits = index.static_bits[rows]
    for reason, check in CHECKS:
        np.bitwise_or(
            bits, np.uint32(REASON_BIT[reason]), out=bits, where=check(index, rows, criteria)
        )
    return bits


def required_bits(criteria: Criteria) -> np.uint64:
    """The accept-word bits a listing must have for this referral: its age, gender, group
    size, minimum rating (and being inspected, unless uninspected settings are accepted)
    and every required need (the bit fields of `matcher.registry.kinds`)."""
    c = criteria
    bits = 1 << (ACCEPT_AGE + c.age)
    bits |= c.gender_bit << ACCEPT_GENDER
    bits |= 1 << (ACCEPT_GROUP + c.sibling_group_size - 1)
    bits |= 1 << (ACCEPT_RATING + c.min_rating_rank - 1)
    if not c.accept_not_yet_inspected:
        bits |= 1 << ACCEPT_INSPECTED
    bits |= c.needs_mask << ACCEPT_NEEDS
    return np.uint64(bits)


def kind_eligible(
    kind: KindTable, positions: Rows, required: np.uint64, start: np.int32
) -> npt.NDArray[np.bool_]:
    """Which entries of the referral's kind table (at `positions`) can take it, distance and
    `exclude_listing_ids` aside: every required bit set, and the start date in the entry's
    window."""
    return kind.keep(required, start).passes(positions)


def whole_registry_counts(
    index: RegistryIndex, criteria: Criteria, within_radius: int
) -> dict[str, int]:
    """Listings in the whole registry excluded by each criterion (a listing may count twice).

    Each count is computed from a precomputed table for that criterion alone, so the cost
    does not grow with the registry. `within_radius` is the number of listings within the
    radius (from the spatial query); everything else is `too_far`.
    """
    t = index.counts
    c = criteria
    n = t.n
    group = min(c.sibling_group_size, MAX_COUNTED)
    start = np.int32(c.start_date)  # same dtype as the sorted columns: no copy on search
    needs_ok = int(t.needs_superset[c.needs_mask])
    below = sum(
        int(t.rating[code])
        for code, rating in enumerate(RATINGS)
        if rating is not OfstedRating.NOT_YET_INSPECTED and RATING_RANK[rating] < c.min_rating_rank
    )
    lot_ceilings = index.lot_ceilings[LOT_CODE[c.lot]]
    counts = {
        Reason.DPV_MISMATCH: n - int(t.dpv[DPV_CODE[c.dpv]]),
        Reason.LOT_NOT_APPROVED: n - int(t.lot[LOT_CODE[c.lot]]),
        Reason.GENDER_NOT_ACCEPTED: n - int(t.gender[GENDER_BIT[c.gender].bit_length() - 1]),
        Reason.AGE_OUT_OF_RANGE: n - int(t.age_ok[c.age]),
        Reason.NEEDS_NOT_MET: n - needs_ok,
        Reason.SIBLING_GROUP_TOO_LARGE: n - int(t.max_sibling_ge[group]),
        Reason.NO_VACANCY: n - int(t.vacancies_ge[group]),
        Reason.NOT_AVAILABLE_BY_START_DATE: n
        - int(np.searchsorted(t.available_from_sorted, start, side="right")),
        Reason.OFSTED_REGISTRATION_SUSPENDED: int(t.registration[_SUSPENDED_REG]),
        Reason.OFSTED_REGISTRATION_CANCELLED: int(t.registration[_CANCELLED_REG]),
        Reason.OFSTED_ADMISSIONS_RESTRICTED: n
        - int(np.searchsorted(t.restricted_until_sorted, start, side="left")),
        Reason.OFSTED_RATING_BELOW_MINIMUM: below,
        Reason.OFSTED_NOT_YET_INSPECTED: 0 if c.accept_not_yet_inspected else int(t.rating[_NYI]),
        Reason.DPV_SUSPENDED: int(t.dpv_status[_SUSPENDED]),
        Reason.DPV_BARRED: int(t.dpv_status[_BARRED]),
        Reason.SAFEGUARDING_ALERT: t.alert_excluded,
        Reason.NO_VALID_CEILING: n - lot_ceilings.valid_count(c.start_date),
        Reason.TOO_FAR: n - within_radius,
        Reason.EXCLUDED_BY_REFERRAL: sum(
            1 for lid in c.exclude_listing_ids if index.registry.row_of(lid) is not None
        ),
    }
    return {reason.value: count for reason, count in counts.items() if count}


# The referral-dependent reasons in the order `_row_facts` tests them (those of `CHECKS`).
_FACT_REASONS = (
    Reason.DPV_MISMATCH, Reason.LOT_NOT_APPROVED, Reason.NEEDS_NOT_MET,
    Reason.GENDER_NOT_ACCEPTED, Reason.NO_VACANCY, Reason.AGE_OUT_OF_RANGE,
    Reason.NOT_AVAILABLE_BY_START_DATE, Reason.NO_VALID_CEILING,
    Reason.SIBLING_GROUP_TOO_LARGE, Reason.OFSTED_RATING_BELOW_MINIMUM,
    Reason.OFSTED_NOT_YET_INSPECTED, Reason.OFSTED_ADMISSIONS_RESTRICTED,
    Reason.EXCLUDED_BY_REFERRAL,
)  # fmt: skip
_FACT_BITS = np.array([REASON_BIT[reason] for reason in _FACT_REASONS], dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class RowFacts:
    """What an answer needs of a few listings for one referral, from one compiled pass."""

    bits: Bits  # `reason_bits`: every failed criterion but distance
    ceiling_pence: npt.NDArray[np.int64]  # the lot's ceiling on the start date, -1 if none


def row_facts(index: RegistryIndex, rows: Rows, criteria: Criteria) -> RowFacts:
    """`reason_bits` and the ceilings on the start date for the rows an answer shows or a
    ranking checks (tens of rows), in one compiled pass.

    `reason_bits` is the definition, a dozen numpy calls whose fixed cost (~70 us for 20
    rows) dwarfs the work at this size; this is the same test written as one loop over the
    rows (`tests/test_kinds.py` requires the two to agree on random criteria and
    rows). The brute-force reference keeps `reason_bits`, so the two stay independent.
    """
    c = criteria
    if len(rows) == 0:
        return RowFacts(np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64))
    excluded = np.zeros(0, dtype=np.intp)
    if c.exclude_listing_ids:
        found = index.registry.rows_of(sorted(c.exclude_listing_ids))
        excluded = np.sort(found[found >= 0])
    bits, pence = _row_facts(
        np.ascontiguousarray(rows, dtype=np.intp), _columns(index, LOT_CODE[c.lot]), excluded,
        _FACT_BITS, DPV_CODE[c.dpv], c.lot_bit, c.gender_bit, c.age, c.needs_mask,
        c.sibling_group_size, c.start_date, c.min_rating_rank, c.accept_not_yet_inspected,
        LOT_CODE[c.lot], _NYI,
    )  # fmt: skip
    return RowFacts(bits, pence)


def _columns(index: RegistryIndex, lot_code: int) -> tuple[Any, ...]:
    """The columns `_row_facts` reads, in its order (the lot's ceilings among them)."""
    reg, ceilings = index.registry, index.lot_ceilings[lot_code]
    return (
        index.static_bits, reg.dpv, reg.lots_mask, reg.genders_mask, reg.age_min, reg.age_max,
        reg.needs_mask, reg.max_sibling_group, reg.vacancies, reg.available_from,
        reg.restricted_until, reg.rating, index.rating_rank, ceilings.offsets, ceilings.lots,
        ceilings.valid_from, ceilings.valid_to, ceilings.pence,
    )  # fmt: skip


def compile_row_facts(index: RegistryIndex) -> None:
    """Compile (or load from numba's cache) `row_facts`'s kernel for this index's column
    types now, so that no request pays for it (called when a snapshot is loaded)."""
    none = np.zeros(0, dtype=np.intp)
    scalars = (0, 0, 0, 0, 0, 0, 0, 0, False, 0, _NYI)  # the criteria's, typed as they come
    _row_facts(none, _columns(index, 0), none, _FACT_BITS, *scalars)


@kernel
def _row_facts(
    rows: Rows,
    columns: Any,
    excluded: Rows,
    fact_bits: Bits,
    dpv_code: int,
    lot_bit: int,
    gender_bit: int,
    age: int,
    needs: int,
    group: int,
    start: int,
    min_rank: int,
    accept_nyi: bool,
    lot_code: int,
    nyi: int,
) -> tuple[Bits, npt.NDArray[np.int64]]:  # pragma: no cover - compiled
    """One pass of every check of `CHECKS` (bit j is `fact_bits[j]`, the bit of
    `_FACT_REASONS[j]`; `columns`: `_columns`, one tuple, as numba takes it)."""
    (static_bits, dpv, lots_mask, genders_mask, age_min, age_max, needs_mask, max_group,
     vacancies, available_from, restricted_until, rating, rating_rank, c_offsets, c_lots,
     c_from, c_to, c_pence) = columns  # fmt: skip
    n = len(rows)
    bits = np.empty(n, dtype=np.uint32)
    pence = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        r = rows[i]
        b = static_bits[r]
        if dpv[r] != dpv_code:
            b |= fact_bits[0]
        if (lots_mask[r] & lot_bit) == 0:
            b |= fact_bits[1]
        if (needs_mask[r] & needs) != needs:
            b |= fact_bits[2]
        if (genders_mask[r] & gender_bit) == 0:
            b |= fact_bits[3]
        if vacancies[r] < group:
            b |= fact_bits[4]
        if age_min[r] > age or age_max[r] < age:
            b |= fact_bits[5]
        if available_from[r] > start:
            b |= fact_bits[6]
        for k in range(c_offsets[r], c_offsets[r + 1]):
            if c_lots[k] == lot_code and c_from[k] <= start and c_to[k] >= start:
                pence[i] = c_pence[k]
        if pence[i] < 0:
            b |= fact_bits[7]
        if max_group[r] < group:
            b |= fact_bits[8]
        if rating[r] != nyi and rating_rank[r] < min_rank:
            b |= fact_bits[9]
        if not accept_nyi and rating[r] == nyi:
            b |= fact_bits[10]
        if restricted_until[r] >= start:
            b |= fact_bits[11]
        at = np.searchsorted(excluded, r)
        if at < len(excluded) and excluded[at] == r:
            b |= fact_bits[12]
        bits[i] = b
    return bits, pence
