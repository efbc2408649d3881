"""Exact radius semantics: geodesic WGS84 distance <= radius, decided cheaply.

Planar British National Grid distance is geodesic distance times the grid's point scale
factor k (0.9996 on the central meridian 2 W, growing with the square of the distance from
it, about 1.0016 at Great Britain's east and west edges), give or take the Airy/WGS84
ellipsoid difference. For the box a query searches, k is bounded from its eastings, so a
planar distance clearly inside or outside the radius decides a row at once and only rows
in a narrow band around the radius pay for a geodesic computation. The answer is the one
PostGIS gives for `ST_DWithin(geography, geography, radius, use_spheroid => true)`;
`tests/test_radius.py` checks the bounds on random pairs across Great Britain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

import geodata
from matcher.registry.index import RegistryIndex

PLANAR_REL_TOLERANCE = 0.0025  # global bound on |planar/geodesic - 1| over Great Britain
PLANAR_ABS_TOLERANCE_M = 50.0
BNG_F0 = 0.9996012717  # central meridian scale factor
BNG_E0 = 400_000.0  # false easting of the central meridian (m)
EARTH_RADIUS_M = 6_371_000.0
ELLIPSOID_REL = 3e-4  # Airy 1830 vs WGS84, latitude dependence of curvature, and margin
BAND_ABS_M = 10.0

Rows = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OriginPoint:
    """An origin in both coordinate systems (projected once per request)."""

    lat: float
    lon: float
    easting: float
    northing: float

    @classmethod
    def of(cls, lat: float, lon: float) -> OriginPoint:
        """Project a WGS84 point to BNG (memoised: most origins are an authority's point)."""
        return _origin(lat, lon)


@lru_cache(maxsize=4096)
def _origin(lat: float, lon: float) -> OriginPoint:
    e, n = geodata.to_bng(lat, lon)
    return OriginPoint(
        lat=lat, lon=lon, easting=float(np.asarray(e)), northing=float(np.asarray(n))
    )


def reach_m(radius_m: float) -> float:
    """The planar distance beyond which a row is certainly outside the radius."""
    return radius_m * (1.0 + PLANAR_REL_TOLERANCE) + PLANAR_ABS_TOLERANCE_M


def rows_within(index: RegistryIndex, origin: OriginPoint, radius_m: float) -> tuple[Rows, F64]:
    """Rows whose geodesic distance from `origin` is <= `radius_m`, through the R-tree.

    Returns
    -------
    (rows, planar_m): ascending row positions, shape (k,), and their planar distances (m).
    """
    reach = reach_m(radius_m)
    cand = index.spatial.query_box(
        origin.easting - reach, origin.northing - reach,
        origin.easting + reach, origin.northing + reach,
    )  # fmt: skip
    return decide_within(index, origin, cand, radius_m)


def scale_bounds(min_e: float, max_e: float) -> tuple[float, float]:
    """Bounds on planar/geodesic distance for segments with eastings in [min_e, max_e]."""
    near = 0.0 if min_e <= BNG_E0 <= max_e else min(abs(min_e - BNG_E0), abs(max_e - BNG_E0))
    far = max(abs(min_e - BNG_E0), abs(max_e - BNG_E0))

    def k(x: float) -> float:
        q = x * x / (EARTH_RADIUS_M * EARTH_RADIUS_M)
        return BNG_F0 * (1.0 + q / 2.0 + q * q / 24.0)

    return k(near) * (1.0 - ELLIPSOID_REL), k(far) * (1.0 + ELLIPSOID_REL)


def planar_bounds(origin: OriginPoint, radius_m: float) -> tuple[float, float]:
    """(inner, outer): a planar distance <= inner is certainly within `radius_m`
    geodesically, one > outer certainly not; in between, only a geodesic says."""
    reach = reach_m(radius_m)
    k_low, k_high = scale_bounds(origin.easting - reach, origin.easting + reach)
    return radius_m * k_low - BAND_ABS_M, radius_m * k_high + BAND_ABS_M


def decide_within(
    index: RegistryIndex, origin: OriginPoint, rows: Rows, radius_m: float
) -> tuple[Rows, F64]:
    """Of `rows`, those within `radius_m` geodesically, and their planar distances."""
    planar = np.hypot(index.easting[rows] - origin.easting, index.northing[rows] - origin.northing)
    inside = within_mask(index, origin, rows, planar, radius_m)
    return rows[inside], planar[inside]


def within_mask(
    index: RegistryIndex, origin: OriginPoint, rows: Rows, planar: F64, radius_m: float
) -> npt.NDArray[np.bool_]:
    """Which of `rows` (planar distances `planar`, metres) lie within `radius_m` geodesically.

    The scale bounds hold inside the radius's reach; a row beyond it is outside on its planar
    distance alone, so `rows` may come from a query at a larger radius.
    """
    inner, outer = planar_bounds(origin, radius_m)
    inside: npt.NDArray[np.bool_] = planar <= inner
    band = np.flatnonzero(~inside & (planar <= outer))
    if len(band):
        geo = geodesic_m(index, origin, rows[band])
        inside[band[geo <= radius_m]] = True
    return inside


def radius_levels(
    index: RegistryIndex, origin: OriginPoint, rows: Rows, planar: F64, radii_m: list[float]
) -> npt.NDArray[np.int8]:
    """For each row, the smallest of the ascending `radii_m` containing it (len(radii_m): none).

    `within_mask` for every radius at once: one geodesic call for all the radii's bands.
    """
    level = np.full(len(rows), len(radii_m), dtype=np.int8)
    undecided = np.zeros(len(rows), dtype=bool)
    for j in range(len(radii_m) - 1, -1, -1):  # nested: the smallest radius wins
        reach = reach_m(radii_m[j])
        k_low, k_high = scale_bounds(origin.easting - reach, origin.easting + reach)
        level[planar <= radii_m[j] * k_low - BAND_ABS_M] = j
        undecided |= (planar > radii_m[j] * k_low - BAND_ABS_M) & (
            planar <= radii_m[j] * k_high + BAND_ABS_M
        )
    band = np.flatnonzero(undecided)
    if len(band):
        geo = geodesic_m(index, origin, rows[band])
        for j in range(len(radii_m) - 1, -1, -1):
            level[band[geo <= radii_m[j]]] = j
    return level


def geodesic_m(index: RegistryIndex, origin: OriginPoint, rows: Rows) -> F64:
    """Geodesic distances (m) from `origin` to `rows`."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.float64)
    reg = index.registry
    return geodata.distances_from(origin.lat, origin.lon, reg.lat[rows], reg.lon[rows])


def nearest(
    index: RegistryIndex, origin: OriginPoint, rows: Rows, planar_m: F64, k: int
) -> list[tuple[float, str, int]]:
    """The k rows nearest by geodesic distance, ties by listing id: [(metres, id, row)].

    Only rows whose planar distance could place them among the k nearest are measured
    geodesically, so the cost follows k, not the number of rows.
    """
    if len(rows) == 0 or k <= 0:
        return []
    candidates = nearest_candidates(rows, planar_m, k)
    return by_distance(index, candidates, geodesic_m(index, origin, candidates), k)


def farther_than(planar_m: float) -> float:
    """A planar distance (m) beyond which a row is geodesically farther than a row at
    planar distance `planar_m` is."""
    return (planar_m * (1 + PLANAR_REL_TOLERANCE) + 2 * PLANAR_ABS_TOLERANCE_M) / (
        1 - PLANAR_REL_TOLERANCE
    )


def nearest_candidates(rows: Rows, planar_m: F64, k: int) -> Rows:
    """The rows that could be among the k geodesically nearest, judged in the plane: a row
    farther than `farther_than` the k-th planar distance is farther than k rows are."""
    if len(rows) <= k:
        return rows
    kth = float(np.partition(planar_m, k - 1)[k - 1])
    return rows[planar_m <= farther_than(kth)]


def by_distance(
    index: RegistryIndex, rows: Rows, geodesic: F64, k: int
) -> list[tuple[float, str, int]]:
    """The first k of `rows` by geodesic distance, then listing id: [(metres, id, row)]."""
    ids = index.registry.ids
    row_list = rows.tolist()
    ranked = sorted(zip(geodesic.tolist(), [ids[r] for r in row_list], row_list, strict=True))
    return ranked[:k]
