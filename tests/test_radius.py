"""Radius semantics: the planar band bounds hold, so the geodesic decision is exact."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import geodata
from matcher.match.radius import (
    PLANAR_REL_TOLERANCE,
    OriginPoint,
    radius_levels,
    rows_within,
    scale_bounds,
)
from matcher.registry.index import RegistryIndex

# Points spread over Great Britain's land (lat, lon), incl. far east and far west.
GB_POINTS = [
    (50.07, -5.70),
    (52.48, 1.75),
    (51.50, -0.12),
    (54.97, -1.61),
    (57.48, -4.22),
    (53.41, -2.98),
    (51.45, -2.59),
    (52.63, 1.30),
    (55.95, -3.19),
    (50.37, -4.14),
]


@given(
    base=st.sampled_from(GB_POINTS),
    dlat=st.floats(-0.9, 0.9),
    dlon=st.floats(-1.4, 1.4),
    base2=st.sampled_from(GB_POINTS),
)
def test_planar_over_geodesic_is_within_the_local_scale_bounds(
    base: tuple[float, float], dlat: float, dlon: float, base2: tuple[float, float]
) -> None:
    """For any pair, planar BNG / geodesic lies in the bounds derived from the eastings."""
    lat1, lon1 = base
    lat2, lon2 = base2[0] + dlat * 0.2, base2[1] + dlon * 0.2
    if abs(lat1 - lat2) + abs(lon1 - lon2) < 1e-3:
        lat2 += 0.01
    e, n = geodata.to_bng(np.array([lat1, lat2]), np.array([lon1, lon2]))
    planar = float(np.hypot(e[1] - e[0], n[1] - n[0]))
    geodesic = float(geodata.distance_m(lat1, lon1, lat2, lon2))
    k_low, k_high = scale_bounds(float(min(e)), float(max(e)))
    assert k_low <= planar / geodesic <= k_high
    assert abs(planar / geodesic - 1) <= PLANAR_REL_TOLERANCE


@given(
    origin_row=st.integers(0, 2999),
    target_row=st.integers(0, 2999),
    nudge=st.sampled_from([-0.01, 0.0, 0.01]),
)
def test_radius_at_a_listing_distance_is_decided_geodesically(
    index: RegistryIndex, origin_row: int, target_row: int, nudge: float
) -> None:
    """With the radius set to a listing's exact geodesic distance (+-1 cm), the R-tree path
    includes exactly the rows whose geodesic distance is <= the radius (the ST_DWithin answer)."""
    reg = index.registry
    origin = OriginPoint.of(float(reg.lat[origin_row]), float(reg.lon[origin_row]))
    exact = np.asarray(geodata.distance_m(origin.lat, origin.lon, reg.lat, reg.lon))
    radius = float(exact[target_row]) + nudge
    if radius <= 0:
        return
    rows, _ = rows_within(index, origin, radius)
    assert rows.tolist() == np.flatnonzero(exact <= radius).tolist()


@given(
    origin_row=st.integers(0, 2999),
    target_rows=st.lists(st.integers(0, 2999), min_size=1, max_size=3),
    nudge=st.sampled_from([-0.01, 0.0, 0.01]),
)
def test_radius_levels_give_each_row_its_smallest_containing_radius(
    index: RegistryIndex, origin_row: int, target_rows: list[int], nudge: float
) -> None:
    """The batch path's levels (one geodesic call for all radii) equal the exact geodesic
    answer, with radii set at listings' exact distances (+-1 cm)."""
    reg = index.registry
    origin = OriginPoint.of(float(reg.lat[origin_row]), float(reg.lon[origin_row]))
    exact = np.asarray(geodata.distance_m(origin.lat, origin.lon, reg.lat, reg.lon))
    radii = sorted({float(exact[r]) + nudge for r in target_rows if exact[r] + nudge > 0})
    if not radii:
        return
    rows = np.arange(reg.size)
    planar = np.hypot(index.easting - origin.easting, index.northing - origin.northing)
    level = radius_levels(index, origin, rows, planar, radii)
    expected = np.searchsorted(np.array(radii), exact, side="left")  # first radius >= distance
    assert level.tolist() == expected.tolist()
