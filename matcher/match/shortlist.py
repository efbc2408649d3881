"""The referral shortlist: eligible listings within the radius, nearest first, explained.

Flow per request: one R-tree box query around the origin, exact radius test (planar with a
geodesic band), all other criteria as reason bits over the candidates, then geodesic
distances only for the rows the answer shows. Whole-registry exclusion counts come from the
index's count tables. `shortlist_bruteforce` is the same answer computed by scanning every
row; tests require the two to agree, so the index is an optimisation, never a change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.match.criteria import Criteria
from matcher.match.eligibility import Rows, eligible_positions, reason_bits, whole_registry_counts
from matcher.match.radius import F64, OriginPoint, decide_within, nearest, rows_within
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.reasons import REASON_BIT, Reason

# Below this many eligible listings, the answer says how many wider radii would give.
WIDEN_BELOW = 5
WIDEN_FACTORS = (1.5, 2.5)


@dataclass(frozen=True, slots=True)
class Hit:
    """A listing shown in an answer: its row, geodesic distance and reason bits."""

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
    """Shortlist a referral through the R-tree (see module docstring)."""
    origin = origin or OriginPoint.of(criteria.origin.lat, criteria.origin.lon)
    rows, planar = rows_within(index, origin, criteria.max_distance_m)
    eligible = np.zeros(len(rows), dtype=bool)
    eligible[eligible_positions(index, rows, criteria)] = True
    counts = whole_registry_counts(index, criteria, within_radius=len(rows))
    return _result(index, criteria, origin, rows, planar, eligible, counts, limit, explain_limit)


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
    return _result(index, criteria, origin, rows, planar, eligible, counts, limit, explain_limit)


def _result(
    index: RegistryIndex,
    criteria: Criteria,
    origin: OriginPoint,
    rows: Rows,
    planar: F64,
    eligible: npt.NDArray[np.bool_],
    counts: dict[str, int],
    limit: int,
    explain_limit: int,
) -> ShortlistResult:
    top = nearest(index, origin, rows[eligible], planar[eligible], limit)
    explained = nearest(index, origin, rows[~eligible], planar[~eligible], explain_limit)
    explained_rows = np.array([row for _, _, row in explained], dtype=np.intp)
    explained_bits = reason_bits(index, explained_rows, criteria).tolist() if explained else []
    eligible_count = int(eligible.sum())
    widened: list[Widened] = []
    if eligible_count < WIDEN_BELOW:
        for factor in WIDEN_FACTORS:
            radius = criteria.max_distance_m * factor
            wide_rows, _ = rows_within(index, origin, radius)
            count = len(eligible_positions(index, wide_rows, criteria))
            widened.append(Widened(radius_m=radius, eligible_count=count))
    return ShortlistResult(
        eligible_count=eligible_count,
        shortlist=[Hit(row, lid, d, 0) for d, lid, row in top],
        within_radius_count=len(rows),
        excluded_within_radius_count=len(rows) - eligible_count,
        excluded_within_radius=[
            Hit(row, lid, d, bits)
            for (d, lid, row), bits in zip(explained, explained_bits, strict=True)
        ],
        excluded_counts=counts,
        widened=widened,
    )
