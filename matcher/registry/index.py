"""The per-snapshot index: BNG coordinates, an R-tree, derived columns and count tables.

Built once per snapshot (off to the side on reload) and then only read, so requests share
it across threads without locks. Besides the R-tree it precomputes, per criterion, the small
tables that let a shortlist report how many listings in the *whole* registry each criterion
excludes in O(1) or O(log n) time, without scanning every row per request.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import shapely

import geodata
from matcher.registry.columns import LOTS, RATINGS, Registry
from matcher.registry.kinds import KindTable, accept_words, build_kind, can_take_any
from matcher.registry.packed_rtree import compile_kernels
from matcher.registry.policy import Policy
from matcher.registry.spatial import SpatialIndex, build_spatial_index
from matcher.vocabulary.catalogue import (
    DPV_CODE,
    DPV_STATUS_CODE,
    LOT_CODE,
    LOTS_BY_DPV,
    RATING_RANK,
    REGISTRATION_CODE,
    SEVERITY_RANK,
    DpvStatus,
    Need,
    OfstedRating,
    OfstedRegistration,
)
from matcher.vocabulary.reasons import REASON_BIT, Reason

DEFAULT_BACKEND = "packed"
MAX_COUNTED = 12  # vacancies and sibling sizes above this count as this (requests cap at 10)

F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class LotCeilings:
    """The ceilings of one lot: read from the registry's own ceiling columns (each row's
    periods are a CSR range, sorted by lot then valid_from), plus sorted bounds for counting.

    Nothing is copied per lot but the two sorted bound arrays: a lookup for a few rows
    expands their ranges and keeps the periods of this lot.
    """

    lot_code: int
    offsets: I64  # the registry's ceiling CSR offsets
    lots: npt.NDArray[np.uint8]
    valid_from: I32
    valid_to: I32
    pence: I64
    max_count: int  # most periods of this lot any row has
    from_sorted: I32
    to_sorted: I32

    def valid_count(self, on: int) -> int:
        """Listings with a ceiling for this lot valid on `on` (periods never overlap)."""
        # Search with the arrays' own dtype: a Python int would make numpy copy them.
        on32 = np.int32(on)
        started = int(np.searchsorted(self.from_sorted, on32, side="right"))
        ended = int(np.searchsorted(self.to_sorted, on32, side="left"))
        return started - ended

    def _periods(self, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], I64]:
        """(which of `rows`, period position) for every period of this lot of `rows`."""
        first = self.offsets.take(rows)
        count = self.offsets.take(rows + 1) - first
        total = int(count.sum())
        owner = np.repeat(np.arange(len(rows)), count)
        flat = np.repeat(first - (np.cumsum(count) - count), count) + np.arange(total)
        mine = self.lots.take(flat) == self.lot_code
        return owner[mine], flat[mine]

    def pence_on(self, rows: npt.NDArray[np.intp], on: int) -> I64:
        """Per row: the ceiling in pence valid on `on`, or -1 where there is none.

        Every period of the rows is tested at once (a row's periods never overlap: the
        loader refuses overlaps and the generator never makes them).
        """
        out = np.full(len(rows), -1, dtype=np.int64)
        owner, flat = self._periods(rows)
        ok = (self.valid_from.take(flat) <= on) & (self.valid_to.take(flat) >= on)
        out[owner[ok]] = self.pence.take(flat[ok])
        return out

    def bounds(self, rows: npt.NDArray[np.intp], never: int) -> tuple[list[I32], list[I32]]:
        """For j < `max_count`: each row's j-th period of this lot (by valid_from) as
        (valid_from, valid_to) columns; `never` and -1 where a row has no j-th period."""
        owner, flat = self._periods(rows)
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else owner
        sizes = np.diff(np.r_[starts, len(owner)])
        j = np.arange(len(owner)) - np.repeat(starts, sizes)
        froms, tos = [], []
        for period in range(self.max_count):
            at = j == period
            valid_from = np.full(len(rows), never, dtype=np.int32)
            valid_to = np.full(len(rows), -1, dtype=np.int32)
            valid_from[owner[at]] = self.valid_from.take(flat[at])
            valid_to[owner[at]] = self.valid_to.take(flat[at])
            froms.append(valid_from)
            tos.append(valid_to)
        return froms, tos


@dataclass(frozen=True, slots=True)
class StaticCounts:
    """Per-criterion tables for whole-registry exclusion counts."""

    n: int
    dpv: I64
    lot: I64
    gender: I64
    age_ok: I64  # [age] -> listings whose range contains age
    needs_superset: I64  # [mask] -> listings supporting every need in mask
    max_sibling_ge: I64  # [k] -> listings taking a group of k
    vacancies_ge: I64  # [k] -> listings with at least k vacancies
    available_from_sorted: I32
    restricted_until_sorted: I32
    registration: I64
    rating: I64
    dpv_status: I64
    alert_excluded: int


@dataclass(frozen=True, eq=False)
class RegistryIndex:
    """Everything a request reads: the registry, its R-tree and derived columns."""

    registry: Registry
    policy: Policy
    backend: str
    easting: F64
    northing: F64
    spatial: SpatialIndex
    rating_rank: npt.NDArray[np.uint8]
    alert_excluded: npt.NDArray[np.bool_]
    static_bits: npt.NDArray[np.uint32]
    lot_ceilings: tuple[LotCeilings, ...]
    counts: StaticCounts
    kinds: dict[tuple[int, int], KindTable]
    build_seconds: float

    @classmethod
    def build(
        cls, registry: Registry, policy: Policy | None = None, backend: str = DEFAULT_BACKEND
    ) -> RegistryIndex:
        """Project to BNG, bulk-load the R-tree and precompute the count tables."""
        started = time.perf_counter()
        compile_kernels()
        policy = policy or Policy()
        easting, northing = geodata.to_bng(registry.lat, registry.lon)
        easting = np.ascontiguousarray(easting, dtype=np.float64)
        northing = np.ascontiguousarray(northing, dtype=np.float64)
        spatial = build_spatial_index(backend, easting, northing)
        rank_by_code = np.array([RATING_RANK[r] for r in RATINGS], dtype=np.uint8)
        rating_rank = rank_by_code[registry.rating]
        threshold = SEVERITY_RANK[policy.excluding_alert_severity]
        alert_excluded = registry.open_alert_max_severity >= threshold
        static_bits = _static_bits(registry, alert_excluded)
        owner = np.repeat(np.arange(registry.size), np.diff(registry.ceilings.offsets))
        lot_ceilings = tuple(_lot_ceilings(registry, code, owner) for code in range(len(LOTS)))
        counts = _static_counts(registry, alert_excluded)
        possible = can_take_any(registry, alert_excluded)
        accept = accept_words(registry, rating_rank)
        points = (easting, northing)
        kinds = {
            (DPV_CODE[dpv], LOT_CODE[lot]): build_kind(
                registry, (DPV_CODE[dpv], LOT_CODE[lot]), possible, accept, points, owner, backend
            )
            for dpv, lots in LOTS_BY_DPV.items()
            for lot in lots
        }
        return cls(
            registry=registry,
            policy=policy,
            backend=backend,
            easting=easting,
            northing=northing,
            spatial=spatial,
            rating_rank=rating_rank,
            alert_excluded=alert_excluded,
            static_bits=static_bits,
            lot_ceilings=lot_ceilings,
            counts=counts,
            kinds=kinds,
            build_seconds=time.perf_counter() - started,
        )

    @cached_property
    def _containment(self) -> tuple[npt.NDArray[np.int16], dict[int, frozenset[int]]]:
        """Per row, the position in `geodata.authorities()` of the first authority whose
        boundary contains the listing (-1: none, outside England), and for the rare rows
        that two simplified boundaries both contain, every such position.

        Each boundary tests only the listings inside its bounding box, with
        `shapely.contains_xy`: the test `geodata.in_authority` makes, so in-area flags
        read from this agree with it (tested), at about a microsecond per test (1M
        listings: a few seconds, where a point-geometry tree query took twenty).
        """
        reg = self.registry
        first = np.full(reg.size, -1, dtype=np.int16)
        shared: dict[int, set[int]] = {}
        for position, authority in enumerate(geodata.authorities()):
            geom = geodata.boundary(authority.code)
            min_x, min_y, max_x, max_y = geom.bounds
            box = (reg.lon >= min_x) & (reg.lon <= max_x) & (reg.lat >= min_y) & (reg.lat <= max_y)
            rows = np.flatnonzero(box)
            inside = rows[shapely.contains_xy(geom, reg.lon[rows], reg.lat[rows])]
            taken = first[inside] >= 0
            for row in inside[taken].tolist():
                shared.setdefault(row, {int(first[row])}).add(position)
            first[inside[~taken]] = position
        return first, {row: frozenset(found) for row, found in shared.items()}

    @property
    def authority_codes(self) -> list[str | None]:
        """Per row: the code of an authority containing the listing (None outside England)."""
        codes = [a.code for a in geodata.authorities()]
        return [None if p < 0 else codes[p] for p in self.authority_positions.tolist()]

    @property
    def authority_positions(self) -> npt.NDArray[np.int16]:
        """Per row: the position in `geodata.authorities()` of an authority containing the
        listing, -1 outside England."""
        return self._containment[0]

    def in_area(self, rows: npt.NDArray[np.intp], authority_code: str) -> npt.NDArray[np.bool_]:
        """Which of `rows` lie inside the authority's boundary (as `geodata.in_authority`
        says, from the containment computed once per snapshot)."""
        position = _authority_position(authority_code)
        first, extra = self._containment
        inside: npt.NDArray[np.bool_] = first.take(rows) == position
        if extra:
            for i, row in enumerate(rows.tolist()):
                if row in extra:
                    inside[i] = position in extra[row]
        return inside


@functools.cache
def _authority_position(code: str) -> int:
    return next(i for i, a in enumerate(geodata.authorities()) if a.code == code)


def _static_bits(
    registry: Registry, alert_excluded: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint32]:
    """Reason bits that do not depend on the referral: Ofsted registration, DPV standing
    and excluding safeguarding alerts (DOMAIN rules 2-3), one column for all of them."""
    bits = np.zeros(registry.size, dtype=np.uint32)
    conditions = (
        (registry.registration == REGISTRATION_CODE[OfstedRegistration.SUSPENDED],
         Reason.OFSTED_REGISTRATION_SUSPENDED),
        (registry.registration == REGISTRATION_CODE[OfstedRegistration.CANCELLED],
         Reason.OFSTED_REGISTRATION_CANCELLED),
        (registry.dpv_status == DPV_STATUS_CODE[DpvStatus.SUSPENDED], Reason.DPV_SUSPENDED),
        (registry.dpv_status == DPV_STATUS_CODE[DpvStatus.BARRED], Reason.DPV_BARRED),
        (alert_excluded, Reason.SAFEGUARDING_ALERT),
    )  # fmt: skip
    for condition, reason in conditions:
        np.bitwise_or(bits, np.uint32(REASON_BIT[reason]), out=bits, where=condition)
    return bits


def _lot_ceilings(registry: Registry, lot_code: int, owner: npt.NDArray[np.intp]) -> LotCeilings:
    """The ceilings of one lot (`owner[k]` is the listing of ceiling period k)."""
    flat = np.flatnonzero(registry.ceil_lot == lot_code)
    count = np.bincount(owner[flat], minlength=registry.size)
    return LotCeilings(
        lot_code=lot_code,
        offsets=registry.ceilings.offsets,
        lots=registry.ceil_lot,
        valid_from=registry.ceil_from,
        valid_to=registry.ceil_to,
        pence=registry.ceil_pence,
        max_count=int(count.max(initial=0)),
        from_sorted=np.sort(registry.ceil_from[flat]),
        to_sorted=np.sort(registry.ceil_to[flat]),
    )


def _static_counts(registry: Registry, alert_excluded: npt.NDArray[np.bool_]) -> StaticCounts:
    n = registry.size
    age_min = registry.age_min.astype(np.int64)
    age_max = registry.age_max.astype(np.int64)
    ages = np.arange(26)
    started = np.searchsorted(np.sort(age_min), ages, side="right")
    ended = np.searchsorted(np.sort(age_max), ages, side="left")
    needs_superset = _superset_counts(registry.needs_mask.astype(np.int64), len(Need))
    sib = np.bincount(
        np.minimum(registry.max_sibling_group, MAX_COUNTED), minlength=MAX_COUNTED + 1
    )
    vac = np.bincount(np.minimum(registry.vacancies, MAX_COUNTED), minlength=MAX_COUNTED + 1)
    return StaticCounts(
        n=n,
        dpv=np.bincount(registry.dpv, minlength=3).astype(np.int64),
        lot=np.array(
            [int(np.count_nonzero(registry.lots_mask & (1 << i))) for i in range(len(LOTS))],
            dtype=np.int64,
        ),
        gender=np.array(
            [int(np.count_nonzero(registry.genders_mask & (1 << i))) for i in range(3)],
            dtype=np.int64,
        ),
        age_ok=(started - ended).astype(np.int64),
        needs_superset=needs_superset,
        max_sibling_ge=np.cumsum(sib[::-1])[::-1].astype(np.int64),
        vacancies_ge=np.cumsum(vac[::-1])[::-1].astype(np.int64),
        available_from_sorted=np.sort(registry.available_from),
        restricted_until_sorted=np.sort(registry.restricted_until),
        registration=np.bincount(registry.registration, minlength=3).astype(np.int64),
        rating=np.bincount(registry.rating, minlength=len(OfstedRating)).astype(np.int64),
        dpv_status=np.bincount(registry.dpv_status, minlength=3).astype(np.int64),
        alert_excluded=int(np.count_nonzero(alert_excluded)),
    )


def _superset_counts(masks: I64, bits: int) -> I64:
    """For every mask S of `bits` bits: how many of `masks` contain all of S.

    The "sum over supersets" transform: one vectorised pass per bit over 2**bits counts,
    so a query for any combination of needs is a single array lookup.
    """
    counts = np.bincount(masks, minlength=1 << bits).astype(np.int64)
    every = np.arange(1 << bits)
    for bit in range(bits):
        without = every[(every & (1 << bit)) == 0]
        counts[without] += counts[without | (1 << bit)]
    return counts
