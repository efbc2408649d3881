"""geodata.projection: the pinned WGS84 <-> BNG transformation and geodesic distance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geodata
from geodata.projection import transformation_description

# East Anglia is where a ballpark fallback would bite first; Lowestoft Ness is GB's
# easternmost point (~1.76E); the last point is offshore, east of 1.9E.
EAST = [
    (52.4816, 1.7629),  # Lowestoft Ness
    (52.6080, 1.7300),  # Great Yarmouth
    (52.6309, 1.2974),  # Norwich
    (52.5000, 2.0000),  # North Sea, east of 1.9E
]

lats = st.floats(49.9, 58.6)
lons = st.floats(-6.3, 1.7)


def _ballpark() -> object:
    from pyproj.transformer import TransformerGroup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(4326, 27700, always_xy=True)
    return next(t for t in group.transformers if "Ballpark" in t.description)


def test_pinned_transformation_is_the_helmert_one() -> None:
    """The transformation in use is EPSG:1314, OSGB36 to WGS 84 (6), inverted."""
    assert "OSGB36 to WGS 84 (6)" in transformation_description()


@pytest.mark.parametrize(("lat", "lon"), EAST)
def test_round_trip_east_of_greenwich_is_sub_metre(lat: float, lon: float) -> None:
    """WGS84 -> BNG -> WGS84 returns within 1 m, in the east as elsewhere."""
    e, n = geodata.to_bng(lat, lon)
    back_lat, back_lon = geodata.to_wgs84(e, n)
    assert float(geodata.distance_m(lat, lon, back_lat, back_lon)) < 1.0


@pytest.mark.parametrize(("lat", "lon"), EAST)
def test_pinned_transform_is_not_the_ballpark(lat: float, lon: float) -> None:
    """The datum shift is applied: the ballpark answer is ~100 m away from ours."""
    e, n = geodata.to_bng(lat, lon)
    be, bn = _ballpark().transform(lon, lat)  # type: ignore[attr-defined]
    assert np.hypot(float(e) - be, float(n) - bn) > 50.0


def test_known_bng_position() -> None:
    """Harrow's Code-Point-derived easting/northing maps back onto its stored lat/lon."""
    harrow = geodata.authority("E09000015")
    e, n = geodata.to_bng(harrow.lat, harrow.lon)
    assert abs(float(e) - harrow.easting) < 1.0
    assert abs(float(n) - harrow.northing) < 1.0


def test_arrays_keep_their_shape() -> None:
    """Vectorised conversion preserves (and broadcasts) input shapes."""
    lat = np.full((2, 3), 51.5)
    e, n = geodata.to_bng(lat, -0.1)
    assert e.shape == n.shape == (2, 3)
    la, lo = geodata.to_wgs84(e, n)
    np.testing.assert_allclose(la, 51.5, atol=1e-8)
    np.testing.assert_allclose(lo, -0.1, atol=1e-8)


def test_harrow_to_cardiff_is_about_122_miles() -> None:
    """Harrow's point to the CF10 district centroid is 115-130 miles as the crow flies."""
    harrow = geodata.authority("E09000015")
    cf10 = geodata.outcode("CF10")
    miles = float(geodata.distance_m(harrow.lat, harrow.lon, cf10.lat, cf10.lon))
    miles /= geodata.METRES_PER_MILE
    assert 115 < miles < 130


def test_distance_broadcasts() -> None:
    """One origin against many destinations gives one distance each."""
    d = geodata.distance_m(51.5, -0.1, np.array([51.5, 52.5, 53.5]), np.array([-0.1, -0.1, -0.1]))
    assert d.shape == (3,)
    assert d[0] == 0.0
    assert 110_000 < d[1] < 112_000  # one degree of latitude


@settings(max_examples=200, deadline=None)
@given(lats, lons, st.lists(st.tuples(lats, lons), max_size=40))
def test_distances_from_one_point_are_distance_m_exactly(
    lat: float, lon: float, points: list[tuple[float, float]]
) -> None:
    """The one-origin fast path gives `distance_m`'s numbers bit for bit, and leaves its
    inputs as they were (pyproj writes into copies)."""
    to_lat = np.array([p[0] for p in points], dtype=np.float64)
    to_lon = np.array([p[1] for p in points], dtype=np.float64)
    before = (to_lat.copy(), to_lon.copy())
    fast = geodata.distances_from(lat, lon, to_lat, to_lon)
    assert fast.dtype == np.float64 and fast.shape == (len(points),)
    assert np.array_equal(fast, geodata.distance_m(lat, lon, to_lat, to_lon))
    assert np.array_equal(to_lat, before[0]) and np.array_equal(to_lon, before[1])


@settings(max_examples=200, deadline=None)
@given(lats, lons, lats, lons)
def test_distance_is_symmetric(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    """d(a, b) == d(b, a)."""
    ab = float(geodata.distance_m(lat1, lon1, lat2, lon2))
    ba = float(geodata.distance_m(lat2, lon2, lat1, lon1))
    assert ab == pytest.approx(ba, rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(lats, lons)
def test_distance_to_itself_is_zero(lat: float, lon: float) -> None:
    """d(a, a) == 0."""
    assert float(geodata.distance_m(lat, lon, lat, lon)) == 0.0


def test_geodesic_and_planar_bng_agree_within_0_1_percent_under_40_km() -> None:
    """Across England, BNG's scale error stays under 0.1% for pairs under 40 km."""
    rng = np.random.default_rng(0)
    anchors = [o for o in geodata.postcodes.outcodes() if o.country == "england"]
    picks = rng.choice(len(anchors), size=2000)
    e1 = np.array([anchors[i].easting for i in picks])
    n1 = np.array([anchors[i].northing for i in picks])
    length = rng.uniform(1_000, 40_000, size=2000)
    bearing = rng.uniform(0, 2 * np.pi, size=2000)
    e2, n2 = e1 + length * np.sin(bearing), n1 + length * np.cos(bearing)
    lat1, lon1 = geodata.to_wgs84(e1, n1)
    lat2, lon2 = geodata.to_wgs84(e2, n2)
    geodesic = geodata.distance_m(lat1, lon1, lat2, lon2)
    planar = np.hypot(e2 - e1, n2 - n1)
    assert np.max(np.abs(geodesic / planar - 1)) < 0.001
