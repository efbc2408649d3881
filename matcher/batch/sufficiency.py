"""Sufficiency: turn a stream of referrals into evidence of where supply is missing.

The report's councils cannot "link demand (referrals) with supply to provide intelligence on
unmet needs or gaps in supply". Per referral this counts eligible listings at each radius
(the same count `shortlist` gives), the nearest eligible distance, the binding constraint,
whether an in-area placement exists and which single needs keep nearby listings out; then
it aggregates by placing authority, DPV/lot, need and age band.

Definitions (precise, because commissioners act on them). The *first radius* is the
smallest requested (20 miles by default).

- *candidates*: listings on the referral's DPV, approved for its lot, within the first
  radius: the supply that could in principle serve this kind of referral.
- *binding constraint*: the reason code failed by the most candidates (a listing failing
  several counts for each; ties go to the earlier code in `Reason`); `too_far` when there
  are no candidates at all; null when every candidate is eligible.
- *thin market*: fewer than 3 eligible listings within the first radius.
- *in-area*: at least one eligible listing, at any distance, inside the placing authority
  (by `RegistryIndex.authority_positions`).
- *nearest eligible*: geodesic miles to the nearest eligible listing within the largest
  radius (null when there is none).
- *need gap*: need N is a gap for a referral when some candidate fails on needs alone
  (every other criterion, static ones included, is met) and N is the only one of the
  child's needs it lacks: that provider supporting N would give the referral an option.
  The aggregate counts, per need, the referrals with that gap (and those of them in thin
  markets).

Speed: the work unit is one (origin, DPV, lot): the referrals sharing it share every
listing-side computation. Each DPV/lot present gets its own R-tree and its check columns
packed row-wise (`KindTable`), so a unit runs one R-tree query at the largest radius over
its own kind's listings, decides every radius with one geodesic call for the rows near a
radius, gathers its candidates' columns in one step, and evaluates every criterion for its
referrals at once as (referrals x candidates) boolean matrices. Units are independent and
shared among a few threads. `tests/test_sufficiency.py` checks the counts against
`shortlist` and the reasons against `eligibility.reason_bits`, one referral at a time, so
the batch path is an optimisation, never a change of definition.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import numpy.typing as npt

from matcher.batch.deadline import Deadline
from matcher.match.criteria import Criteria
from matcher.match.radius import (
    PLANAR_ABS_TOLERANCE_M,
    PLANAR_REL_TOLERANCE,
    OriginPoint,
    geodesic_m,
    radius_levels,
    reach_m,
)
from matcher.match.request import METRES_PER_MILE, ShortlistRequest, resolve_criteria
from matcher.registry.columns import RATINGS
from matcher.registry.index import RegistryIndex
from matcher.registry.spatial import SpatialIndex, build_spatial_index
from matcher.vocabulary.catalogue import (
    DPV_CODE,
    LOT_BIT,
    LOT_CODE,
    RATING_RANK,
    Dpv,
    Lot,
    OfstedRating,
)
from matcher.vocabulary.errors import ErrorDetail, RequestError
from matcher.vocabulary.reasons import REASON_BIT, REASONS_BY_BIT, Reason

CELLS_PER_BLOCK = 2_000_000  # referrals x candidates evaluated at once (bounds memory)
CHECK_EVERY = 500  # referrals resolved between two looks at the deadline (~10 ms of work)
_NEVER = np.iinfo(np.int32).max
_NYI = RATINGS.index(OfstedRating.NOT_YET_INSPECTED)
_RATING_RANK = np.array([RATING_RANK[r] for r in RATINGS], dtype=np.int16)

Rows = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ReferralSupply:
    """What one referral finds (plain data; `report.referral_out` renders it)."""

    position: int
    criteria: Criteria
    eligible: tuple[int, ...]  # per radius, ascending radii
    candidates: int
    nearest_m: float | None
    binding: str | None
    binding_excluded: int
    in_area: bool
    need_gaps: int  # bitmask over NEEDS_BY_BIT


@dataclass(slots=True)
class Candidates:
    """Listings of one DPV/lot near one origin: columns gathered once, ordered by radius.

    Columns [0, ends[j]) lie within radius j; columns from ends[-1] on lie beyond the largest
    radius but inside a placing authority of the group (they only count for in-area). The
    attribute columns are views into one gathered block of `KindTable.packed`.
    """

    origin: OriginPoint
    rows: Rows
    ends: list[int]
    planar: F64
    needs: I32
    genders: I32
    age_min: I32
    age_max: I32
    max_sibling: I32
    vacancies: I32
    available_from: I32
    restricted_until: I32
    rating_rank: I32
    not_inspected: Matrix
    static: I32
    authority: I32
    ceiling_from: list[I32]  # per ceiling period j of a row (as LotCeilings)
    ceiling_to: list[I32]
    geo: F64 = field(init=False)  # geodesic metres, NaN until measured

    def __post_init__(self) -> None:
        self.geo = np.full(len(self.rows), np.nan)

    @classmethod
    def gather(cls, kind: KindTable, positions: Rows, ends: list[int], near: Near,
               planar: F64) -> Candidates:  # fmt: skip
        """One fancy-index of the kind's packed columns (not one per column)."""
        g = kind.packed[positions]
        periods = range(kind.periods)
        return cls(
            origin=near.origin,
            rows=kind.rows[positions],
            ends=ends,
            planar=planar,
            **{name: g[:, j] for j, name in enumerate(PACKED)},
            not_inspected=g[:, len(PACKED)] != 0,
            ceiling_from=[g[:, len(PACKED) + 1 + 2 * p] for p in periods],
            ceiling_to=[g[:, len(PACKED) + 2 + 2 * p] for p in periods],
        )


# The listing columns the checks read, packed side by side per kind (all fit in int32).
PACKED = (
    "needs", "genders", "age_min", "age_max", "max_sibling", "vacancies", "available_from",
    "restricted_until", "rating_rank", "static", "authority",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class KindTable:
    """The listings on one DPV approved for one lot, their check columns packed row-wise.

    A batch queries its own R-tree per (origin, DPV, lot), so a query never touches the
    other kinds' listings, and gathers a few thousand rows: one gather of a packed row costs
    about what one column's gather does. Built per batch (tens of milliseconds at 100k).
    """

    rows: Rows  # registry rows, ascending
    easting: F64
    northing: F64
    spatial: SpatialIndex  # over these listings only: positions here, not registry rows
    packed: I32  # (len(rows), len(PACKED) + 1 + 2 * periods)
    periods: int
    by_authority: dict[int, Rows]  # authority position -> positions here, ascending

    @classmethod
    def build(cls, index: RegistryIndex, dpv: Dpv, lot: Lot) -> KindTable:
        """Gather the kind's rows and columns (a few milliseconds at 100k listings)."""
        reg = index.registry
        rows = np.flatnonzero((reg.dpv == DPV_CODE[dpv]) & ((reg.lots_mask & LOT_BIT[lot]) != 0))
        easting = np.ascontiguousarray(index.easting[rows])
        northing = np.ascontiguousarray(index.northing[rows])
        rating = reg.rating[rows]
        authority = index.authority_positions[rows]
        columns = [
            reg.needs_mask[rows], reg.genders_mask[rows], reg.age_min[rows], reg.age_max[rows],
            reg.max_sibling_group[rows], reg.vacancies[rows], reg.available_from[rows],
            reg.restricted_until[rows], _RATING_RANK[rating], index.static_bits[rows],
            authority, rating == _NYI,
        ]  # fmt: skip
        ceilings = index.lot_ceilings[LOT_CODE[lot]]
        # a period a row does not have is never valid
        for valid_from, valid_to in zip(*ceilings.bounds(rows, _NEVER), strict=True):
            columns += [valid_from, valid_to]
        packed = np.empty((len(rows), len(columns)), dtype=np.int32)
        for j, column in enumerate(columns):
            packed[:, j] = column
        order = np.argsort(authority, kind="stable")
        keys, starts = np.unique(authority[order], return_index=True)
        bounds = [*starts.tolist(), len(order)]
        by_authority = {
            int(a): order[bounds[j] : bounds[j + 1]] for j, a in enumerate(keys.tolist()) if a >= 0
        }
        spatial = build_spatial_index(index.backend, easting, northing)
        return cls(rows, easting, northing, spatial, packed, ceilings.max_count, by_authority)


@dataclass(frozen=True, slots=True)
class Block:
    """A block of referrals' criteria as column vectors (shape (g, 1)) for broadcasting."""

    criteria: list[Criteria]
    needs: I64
    gender: I64
    age: I64
    group: I64
    start: I64
    min_rank: I64
    require_inspected: Matrix
    authority: I64

    @classmethod
    def of(cls, criteria: list[Criteria], table: I64 | None = None) -> Block:
        """Stack the criteria of a block of referrals (`table`: their `criteria_table`)."""
        t = criteria_table(criteria) if table is None else table
        return cls(
            criteria=criteria,
            needs=t[:, 0:1],
            gender=t[:, 1:2],
            age=t[:, 2:3],
            group=t[:, 3:4],
            start=t[:, 4:5],
            min_rank=t[:, 5:6],
            require_inspected=t[:, 6:7] != 0,
            authority=t[:, 7:8],
        )


def criteria_table(criteria: list[Criteria]) -> I64:
    """The referral-side numbers of the checks, one row per referral (see `Block`)."""
    return np.array(
        [
            (c.needs_mask, c.gender_bit, c.age, c.sibling_group_size, c.start_date,
             c.min_rating_rank, not c.accept_not_yet_inspected, c.authority_position)
            for c in criteria
        ],
        dtype=np.int64,
    ).reshape(-1, 8)  # fmt: skip


Check2d = Callable[[RegistryIndex, Candidates, Block], Matrix | None]


def _ceiling(ix: RegistryIndex, cand: Candidates, b: Block) -> Matrix:
    valid = np.zeros((len(b.criteria), len(cand.rows)), dtype=bool)
    for valid_from, valid_to in zip(cand.ceiling_from, cand.ceiling_to, strict=True):
        valid |= (valid_from <= b.start) & (valid_to >= b.start)
    return ~valid


def _excluded(ix: RegistryIndex, cand: Candidates, b: Block) -> Matrix | None:
    if not any(c.exclude_listing_ids for c in b.criteria):
        return None
    out = np.zeros((len(b.criteria), len(cand.rows)), dtype=bool)
    order = np.argsort(cand.rows)
    for i, c in enumerate(b.criteria):
        rows = [ix.registry.row_of(lid) for lid in c.exclude_listing_ids]
        wanted = np.array([r for r in rows if r is not None], dtype=np.intp)
        at = np.searchsorted(cand.rows, wanted, sorter=order).clip(0, max(len(order) - 1, 0))
        hit = order[at][cand.rows[order[at]] == wanted] if len(order) else at[:0]
        out[i, hit] = True
    return out


# The referral-dependent criteria of `eligibility.CHECKS` as (referrals x candidates)
# matrices (None: fails nowhere). DPV and lot are the candidate filter; the static reasons
# (registration, DPV standing, alerts) come from `RegistryIndex.static_bits`.
CHECKS_2D: tuple[tuple[Reason, Check2d], ...] = (
    (Reason.NEEDS_NOT_MET, lambda ix, c, b: (c.needs & b.needs) != b.needs),
    (Reason.GENDER_NOT_ACCEPTED, lambda ix, c, b: (c.genders & b.gender) == 0),
    (Reason.NO_VACANCY, lambda ix, c, b: c.vacancies < b.group),
    (Reason.AGE_OUT_OF_RANGE, lambda ix, c, b: (c.age_min > b.age) | (c.age_max < b.age)),
    (Reason.NOT_AVAILABLE_BY_START_DATE, lambda ix, c, b: c.available_from > b.start),
    (Reason.NO_VALID_CEILING, _ceiling),
    (Reason.SIBLING_GROUP_TOO_LARGE, lambda ix, c, b: c.max_sibling < b.group),
    (
        Reason.OFSTED_RATING_BELOW_MINIMUM,
        lambda ix, c, b: ~c.not_inspected & (c.rating_rank < b.min_rank),
    ),
    (
        Reason.OFSTED_NOT_YET_INSPECTED,
        lambda ix, c, b: (c.not_inspected & b.require_inspected) if b.require_inspected.any()
        else None,
    ),
    (Reason.OFSTED_ADMISSIONS_RESTRICTED, lambda ix, c, b: c.restricted_until >= b.start),
    (Reason.EXCLUDED_BY_REFERRAL, _excluded),
)  # fmt: skip
CANDIDATE_FILTER = (Reason.DPV_MISMATCH, Reason.LOT_NOT_APPROVED)


@dataclass(frozen=True, slots=True)
class Near:
    """One kind's listings within the largest radius of one origin, by radius level.

    `positions` (in the `KindTable`) within radius j come before those only within radius
    j + 1; `ends[j]` is the number within radius j (as in `Candidates`).
    """

    origin: OriginPoint
    positions: Rows
    planar: F64
    ends: list[int]

    @classmethod
    def query(
        cls, index: RegistryIndex, kind: KindTable, origin: OriginPoint, radii_m: list[float]
    ) -> Near:
        """One R-tree query at the largest radius; exact membership of every radius."""
        reach = reach_m(radii_m[-1])
        e, n = origin.easting, origin.northing
        hits = kind.spatial.query_box(e - reach, n - reach, e + reach, n + reach)
        planar = np.hypot(kind.easting[hits] - e, kind.northing[hits] - n)
        level = radius_levels(index, origin, kind.rows[hits], planar, radii_m)
        order = np.argsort(level, kind="stable")
        ends = np.searchsorted(level[order], np.arange(len(radii_m)), side="right").tolist()
        inside = order[: ends[-1]]
        return cls(origin, hits[inside], planar[inside], ends)


def analyse(
    index: RegistryIndex,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_radius_miles: float,
    threads: int | None = None,
    deadline: Deadline | None = None,
) -> list[ReferralSupply]:
    """Per-referral supply, in input order (radii: ascending, distinct).

    The work units, one per (origin, DPV, lot), are independent: `threads` (default: one per
    core, at most 4) share them, in contiguous chunks. numpy, shapely and pyproj release the
    GIL inside their loops, so two cores give most of a second core's worth. Each referral's
    answer depends only on its own unit, so the threads change nothing in it.

    `deadline`: checked every `CHECK_EVERY` referrals resolved and before every unit, in
    each thread; past it, `TimeLimitExceededError` (the other threads stop at their next
    unit).
    """
    radii_m = [r * METRES_PER_MILE for r in radii_miles]
    resolved = []
    for i, r in enumerate(requests):
        if deadline is not None and i % CHECK_EVERY == 0:
            deadline.check("resolving referrals", f"{i} of {len(requests)} resolved")
        resolved.append(_resolve(r, i, max_radius_miles))
    table = criteria_table(resolved)
    units: dict[tuple[float, float, Dpv, Lot], list[int]] = defaultdict(list)
    for i, c in enumerate(resolved):
        units[(c.origin.lat, c.origin.lon, c.dpv, c.lot)].append(i)
    kinds = {k: KindTable.build(index, *k) for k in sorted({(c.dpv, c.lot) for c in resolved})}
    ordered = sorted(units.items())

    def run(chunk: list[tuple[tuple[float, float, Dpv, Lot], list[int]]]) -> list[ReferralSupply]:
        seen = {k: np.zeros(len(t.rows), dtype=bool) for k, t in kinds.items()}  # scratch
        out: list[ReferralSupply] = []
        origin = OriginPoint.of(*chunk[0][0][:2])
        for (lat, lon, dpv, lot), members in chunk:
            if deadline is not None:
                deadline.check("evaluating referrals")
            if (origin.lat, origin.lon) != (lat, lon):
                origin = OriginPoint.of(lat, lon)
            kind = kinds[(dpv, lot)]
            near = Near.query(index, kind, origin, radii_m)
            authorities = sorted({resolved[i].authority_position for i in members})
            cand = _candidates(kind, near, authorities, seen[(dpv, lot)])
            step = max(1, CELLS_PER_BLOCK // max(1, len(cand.rows)))
            for s in range(0, len(members), step):
                block = members[s : s + step]
                out += _evaluate(index, cand, Block.of([resolved[i] for i in block], table[block]),
                                 block)  # fmt: skip
        return out

    workers = threads or min(4, os.cpu_count() or 1)
    size = max(1, -(-len(ordered) // (workers * 8)))
    chunks = [ordered[s : s + size] for s in range(0, len(ordered), size)]
    if workers == 1 or len(chunks) == 1:
        results = [run(c) for c in chunks]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="sufficiency") as pool:
            results = list(pool.map(run, chunks))
    by_position: list[ReferralSupply | None] = [None] * len(requests)
    for supply in chain.from_iterable(results):
        by_position[supply.position] = supply
    return [s for s in by_position if s is not None]


def _resolve(req: ShortlistRequest, i: int, max_radius_miles: float) -> Criteria:
    """Criteria of referral i; an error names the referral's position in the batch."""
    try:
        return resolve_criteria(req, max_radius_miles)
    except RequestError as exc:
        exc.details = [
            ErrorDetail(f"referrals.{i}.{d.field}", d.reason, d.extra) for d in exc.details
        ]
        raise


def _candidates(
    kind: KindTable, near: Near, authorities: list[int], seen: npt.NDArray[np.bool_]
) -> Candidates:
    """The kind's listings near the origin, then those beyond it in the placing
    authorities (for in-area only; `seen` is scratch, all False between calls)."""
    seen[near.positions] = True
    far = [p[~seen[p]] for a in authorities if (p := kind.by_authority.get(a)) is not None]
    seen[near.positions] = False
    positions = np.concatenate([near.positions, *far]).astype(np.intp)
    planar = np.full(len(positions), np.inf)
    planar[: len(near.positions)] = near.planar
    return Candidates.gather(kind, positions, near.ends, near, planar)


_REASON_ROW = {reason: j for j, reason in enumerate(REASONS_BY_BIT)}
_STATIC_BITS = np.array([REASON_BIT[r] for r in REASONS_BY_BIT], dtype=np.int32)


def _evaluate(
    index: RegistryIndex, cand: Candidates, block: Block, members: list[int]
) -> list[ReferralSupply]:
    """Every criterion for a block of referrals at once, then each referral's figures."""
    g, first, widest = len(members), cand.ends[0], cand.ends[-1]
    # failed[j, k]: candidates within the first radius failing reason j for referral k.
    failed = np.zeros((len(REASONS_BY_BIT), g), dtype=np.int64)
    static = cand.static[:first]
    static = static[static != 0]  # few: suspended, barred, alerts, registration
    failed += np.add.reduce((static[:, None] & _STATIC_BITS) != 0, axis=0, dtype=np.int64)[:, None]
    other = np.broadcast_to(cand.static != 0, (g, len(cand.rows))).copy()
    needs_fail = np.zeros_like(other)
    for reason, check in CHECKS_2D:
        fails = check(index, cand, block)
        if fails is None:
            continue
        failed[_REASON_ROW[reason]] = np.add.reduce(fails[:, :first], axis=1, dtype=np.int64)
        if reason is Reason.NEEDS_NOT_MET:
            needs_fail = fails
        else:
            other |= fails
    eligible = ~(other | needs_fail)
    counts = np.stack([np.add.reduce(eligible[:, :end], axis=1, dtype=np.int64)
                       for end in cand.ends], 1)  # fmt: skip
    in_area = np.any(eligible & (cand.authority == block.authority), axis=1)
    gaps = _need_gaps(cand, block, needs_fail[:, :first] & ~other[:, :first])
    nearest = _nearest_m(index, cand, eligible[:, :widest])
    most = np.argmax(failed, axis=0)  # ties: the earlier reason code
    top = failed[most, np.arange(g)]
    return [
        ReferralSupply(
            position=i,
            criteria=block.criteria[k],
            eligible=tuple(counts[k].tolist()),
            candidates=first,
            nearest_m=None if np.isinf(nearest[k]) else float(nearest[k]),
            binding=(
                Reason.TOO_FAR.value
                if first == 0
                else REASONS_BY_BIT[most[k]].value
                if top[k]
                else None
            ),
            binding_excluded=int(top[k]),
            in_area=bool(in_area[k]),
            need_gaps=int(gaps[k]),
        )
        for k, i in enumerate(members)
    ]


def _need_gaps(cand: Candidates, block: Block, only_needs: Matrix) -> I64:
    """Per referral, the OR of the needs that are the single need missing at some candidate
    failing on needs alone (`only_needs`: shape (g, first))."""
    lacking = block.needs & ~cand.needs[: only_needs.shape[1]]
    single = (lacking & (lacking - 1)) == 0  # one bit set (only_needs implies not zero)
    picked = np.where(only_needs & single, lacking, 0)
    return np.bitwise_or.reduce(picked, axis=1) if picked.shape[1] else np.zeros(len(picked), int)


def _nearest_m(index: RegistryIndex, cand: Candidates, eligible: Matrix) -> F64:
    """Per referral, geodesic metres to the nearest eligible candidate (inf: none).

    As `radius.nearest`: only candidates whose planar distance could make them the nearest
    are measured geodesically, each once per candidate set.
    """
    g, width = eligible.shape
    if width == 0:
        return np.full(g, np.inf)
    planar = cand.planar[:width]
    p_min = np.where(eligible, planar, np.inf).min(axis=1)
    bound = (p_min * (1 + PLANAR_REL_TOLERANCE) + 2 * PLANAR_ABS_TOLERANCE_M) / (
        1 - PLANAR_REL_TOLERANCE
    )
    near = eligible & (planar <= bound[:, None])
    cols = np.flatnonzero(near.any(axis=0))
    todo = cols[np.isnan(cand.geo[cols])]
    if len(todo):
        cand.geo[todo] = geodesic_m(index, cand.origin, cand.rows[todo])
    nearest: F64 = np.where(near, cand.geo[:width], np.inf).min(axis=1)
    return nearest
