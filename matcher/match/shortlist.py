"""The referral shortlist: eligible listings within the radius, nearest first, explained.

Flow per request, each step proportional to what it reports:
- eligible listings: one disc query on the R-tree of the referral's own (DPV, lot) table
  (`matcher.registry.kinds`), the accept-word test over its entries, and the exact radius
  test (planar bounds, geodesic only in the narrow band between them);
- listings within the radius (all kinds): the registry's R-tree counts whole nodes lying
  inside the radius without touching their points, and tests only those near its edge;
- the excluded listings an answer explains: the nearest ones, found by a disc that grows
  until it provably holds the `explain_limit` nearest;
- geodesic distances only for the rows an answer shows, and whole-registry exclusion counts
  from the index's count tables.
`shortlist_bruteforce` is the same answer computed by scanning every row with the reason
bits of `matcher.match.eligibility`; tests require the two to agree, so the index is an
optimisation, never a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from matcher.match.criteria import Criteria
from matcher.match.eligibility import (
    Rows,
    reason_bits,
    required_bits,
    row_facts,
    whole_registry_counts,
)
from matcher.match.radius import (
    F64,
    OriginPoint,
    by_distance,
    decide_within,
    farther_than,
    geodesic_m,
    nearest,
    nearest_candidates,
    planar_bounds,
)
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import DPV_CODE, LOT_CODE
from matcher.vocabulary.reasons import REASON_BIT, Reason

_NO_ROWS = np.empty(0, dtype=np.intp)
# Below this many eligible listings, the answer says how many wider radii would give.
WIDEN_BELOW = 5
WIDEN_FACTORS = (1.5, 2.5)


class Hit(NamedTuple):
    """A listing shown in an answer: its row, geodesic distance and reason bits.

    A named tuple: immutable as a frozen dataclass is, and built in half the time (an
    answer builds one per listing it shows).
    """

    row: int
    listing_id: str
    distance_m: float
    bits: int


@dataclass(frozen=True, slots=True)
class Widened:
    """How many listings would be eligible at a wider radius."""

    radius_m: float
    eligible_count: int


@dataclass(frozen=True, slots=True)
class ShortlistResult:
    """Everything a shortlist answer reports, as rows of the index."""

    eligible_count: int
    shortlist: list[Hit]
    within_radius_count: int
    excluded_within_radius_count: int
    excluded_within_radius: list[Hit]
    excluded_counts: dict[str, int]
    widened: list[Widened]


def shortlist(
    index: RegistryIndex,
    criteria: Criteria,
    limit: int,
    explain_limit: int,
    origin: OriginPoint | None = None,
) -> ShortlistResult:
    """Shortlist a referral through the R-trees (see module docstring)."""
    origin = origin or OriginPoint.of(criteria.origin.lat, criteria.origin.lon)
    radius = criteria.max_distance_m
    within = Within.of(index, origin, radius)
    rows, planar = eligible_within(index, criteria, origin, radius, within)
    counts = whole_registry_counts(index, criteria, within_radius=within.count)
    top = nearest_candidates(rows, planar, limit) if limit > 0 else rows[:0]
    near = _excluded_candidates(index, origin, within, np.sort(rows), explain_limit)
    geo = geodesic_m(index, origin, np.concatenate([top, near]))  # one call for both lists
    shown = by_distance(index, top, geo[: len(top)], limit)
    explained = by_distance(index, near, geo[len(top) :], explain_limit)
    explained_rows = np.array([row for _, _, row in explained], dtype=np.intp)
    explained_bits = row_facts(index, explained_rows, criteria).bits.tolist()
    widened: list[Widened] = []
    if len(rows) < WIDEN_BELOW:
        for factor in WIDEN_FACTORS:
            wide = radius * factor
            count = len(eligible_within(index, criteria, origin, wide)[0])
            widened.append(Widened(radius_m=wide, eligible_count=count))
    return ShortlistResult(
        eligible_count=len(rows),
        shortlist=[Hit(row, lid, d, 0) for d, lid, row in shown],
        within_radius_count=within.count,
        excluded_within_radius_count=within.count - len(rows),
        excluded_within_radius=[
            Hit(row, lid, d, bits)
            for (d, lid, row), bits in zip(explained, explained_bits, strict=True)
        ],
        excluded_counts=counts,
        widened=widened,
    )


@dataclass(frozen=True, slots=True)
class Within:
    """The listings (of any kind) within a radius of an origin: how many, and the exact
    answer for those in the narrow band between the planar bounds (measured once per
    request and looked up by every step that meets them)."""

    origin: OriginPoint
    radius_m: float
    inner: float
    outer: float
    count: int
    band_rows: Rows  # ascending
    band_inside: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, index: RegistryIndex, origin: OriginPoint, radius_m: float) -> Within:
        """Count the listings within `radius_m`: whole R-tree nodes inside the inner planar
        bound without reading their points, the band geodesically."""
        inner, outer = planar_bounds(origin, radius_m)
        tree = index.spatial
        count, band, _ = tree.count_disc(origin.easting, origin.northing, inner, outer)
        band_rows = tree.order.take(band)
        band_rows.sort()
        band_inside = geodesic_m(index, origin, band_rows) <= radius_m
        count += int(np.count_nonzero(band_inside))
        return cls(origin, radius_m, inner, outer, count, band_rows, band_inside)

    def band(self, rows: Rows) -> npt.NDArray[np.bool_]:
        """For rows in the band (planar distance in (inner, outer]): within the radius?"""
        return self.band_inside.take(np.searchsorted(self.band_rows, rows))


def eligible_within(
    index: RegistryIndex,
    criteria: Criteria,
    origin: OriginPoint,
    radius_m: float,
    within: Within | None = None,
) -> tuple[Rows, F64]:
    """The eligible listings within `radius_m` (geodesic) and their planar distances (m).

    Only the referral's own (DPV, lot) table is searched: every listing outside it fails a
    criterion that no distance can change. `within` (for this origin and radius) answers
    the band without measuring again.
    """
    kind = index.kinds[(DPV_CODE[criteria.dpv], LOT_CODE[criteria.lot])]
    inner, outer = planar_bounds(origin, radius_m)
    keep = kind.keep(required_bits(criteria), np.int32(criteria.start_date))
    found = kind.tree.select_disc(origin.easting, origin.northing, inner, outer, keep)
    positions, planar = found.positions, found.planar
    band = np.flatnonzero(found.band)
    if len(band):  # between the planar bounds: the geodesic decides
        band_rows = kind.row.take(positions[band])
        keep_rows = np.ones(len(positions), dtype=bool)
        keep_rows[band] = (
            within.band(band_rows)
            if within is not None
            else geodesic_m(index, origin, band_rows) <= radius_m
        )
        positions, planar = positions[keep_rows], planar[keep_rows]
    rows = kind.row.take(positions)
    if criteria.exclude_listing_ids:
        excluded = index.registry.rows_of(sorted(criteria.exclude_listing_ids))
        kept = ~np.isin(rows, excluded[excluded >= 0])
        rows, planar = rows[kept], planar[kept]
    return rows, planar


def _excluded_candidates(
    index: RegistryIndex, origin: OriginPoint, within: Within, eligible_sorted: Rows, k: int
) -> Rows:
    """The listings within the radius, not eligible, that could be among the k nearest.

    Searches a disc of planar radius q, starting small when the radius holds many listings,
    and widens it until the k-th nearest in the plane is at least `farther_than` inside it:
    nothing beyond q can then be among the k geodesically nearest.
    """
    if k <= 0 or within.count - len(eligible_sorted) <= 0:
        return _NO_ROWS
    q = within.outer
    if within.count > 8 * k:  # the nearest few: a disc holding about 2k listings to begin
        q = within.outer * float(np.sqrt(2.0 * k / within.count))
    while True:
        rows, planar = _excluded_in_disc(index, within, q, eligible_sorted)
        if q >= within.outer:
            return nearest_candidates(rows, planar, k)
        if len(rows) >= k:
            kth = float(np.partition(planar, k - 1)[k - 1])
            needed = farther_than(kth)
            if q >= needed:
                return rows[planar <= needed]
            q = min(within.outer, needed)
        else:
            q = min(within.outer, 2.0 * q)


def _excluded_in_disc(
    index: RegistryIndex, within: Within, q: float, eligible_sorted: Rows
) -> tuple[Rows, F64]:
    """Listings within planar q and within the radius that are not eligible, with their
    planar distances."""
    tree, origin = index.spatial, within.origin
    found = tree.select_disc(origin.easting, origin.northing, min(q, within.inner), q)
    rows, planar = tree.order.take(found.positions), found.planar
    band = np.flatnonzero(found.band)
    if len(band):
        keep = np.ones(len(rows), dtype=bool)
        keep[band] = within.band(rows[band])
        rows, planar = rows[keep], planar[keep]
    if len(eligible_sorted):
        at = np.searchsorted(eligible_sorted, rows).clip(max=len(eligible_sorted) - 1)
        keep = eligible_sorted.take(at) != rows
        rows, planar = rows[keep], planar[keep]
    return rows, planar


def shortlist_bruteforce(
    index: RegistryIndex, criteria: Criteria, limit: int, explain_limit: int
) -> ShortlistResult:
    """The same answer with no index: every criterion and distance over every row.

    This is the reference the tests compare against (including the whole-registry counts,
    which it tallies row by row instead of reading the count tables) and the brute-force
    baseline of the benchmarks.
    """
    origin = OriginPoint.of(criteria.origin.lat, criteria.origin.lon)
    every = np.arange(index.registry.size, dtype=np.intp)
    all_bits = reason_bits(index, every, criteria)
    rows, planar = decide_within(index, origin, every, criteria.max_distance_m)
    counts = {
        reason.value: int(np.count_nonzero(all_bits & np.uint32(bit)))
        for reason, bit in REASON_BIT.items()
    }
    counts[Reason.TOO_FAR.value] = index.registry.size - len(rows)
    counts = {k: v for k, v in counts.items() if v}
    eligible = all_bits[rows] == 0
    top = nearest(index, origin, rows[eligible], planar[eligible], limit)
    explained = nearest(index, origin, rows[~eligible], planar[~eligible], explain_limit)
    eligible_count = int(eligible.sum())
    widened: list[Widened] = []
    if eligible_count < WIDEN_BELOW:
        for factor in WIDEN_FACTORS:
            wide = criteria.max_distance_m * factor
            wide_rows, _ = decide_within(index, origin, every, wide)
            count = int(np.count_nonzero(all_bits[wide_rows] == 0))
            widened.append(Widened(radius_m=wide, eligible_count=count))
    return ShortlistResult(
        eligible_count=eligible_count,
        shortlist=[Hit(row, lid, d, 0) for d, lid, row in top],
        within_radius_count=len(rows),
        excluded_within_radius_count=len(rows) - eligible_count,
        excluded_within_radius=[Hit(row, lid, d, int(all_bits[row])) for d, lid, row in explained],
        excluded_counts=counts,
        widened=widened,
    )
