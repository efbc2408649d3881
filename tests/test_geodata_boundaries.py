"""geodata.boundaries: authority outlines, point-in-authority and the vectorised flag."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import geodata


def _bng(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda x, y: geodata.to_bng(y, x), interleaved=False)


@pytest.mark.parametrize("a", geodata.authorities(), ids=lambda a: a.code)
def test_representative_point_is_inside_own_boundary(a: geodata.Authority) -> None:
    """Each authority's point lies inside (or within 50 m of) its own polygon."""
    poly = _bng(geodata.boundary(a.code))
    assert shapely.distance(poly, shapely.Point(a.easting, a.northing)) <= 50.0


def test_every_authority_has_a_valid_polygon() -> None:
    """153 valid, non-empty (Multi)Polygons."""
    for a in geodata.authorities():
        geom = geodata.boundary(a.code)
        assert geom.is_valid and not geom.is_empty
        assert geom.geom_type in {"Polygon", "MultiPolygon"}


def test_barking_is_east_of_brent() -> None:
    """A sanity check on orientation: Barking and Dagenham lies east of Brent."""
    assert geodata.authority("Barking and Dagenham").lon > geodata.authority("Brent").lon


@pytest.mark.parametrize(
    ("district", "code"),
    [
        ("IG11", "E09000002"),  # Barking
        ("SW1A", "E09000033"),  # Westminster
        ("M1", "E08000003"),  # Manchester
        ("TR21", "E06000053"),  # Isles of Scilly
        ("CA1", "E06000063"),  # Carlisle, Cumberland
        ("LA9", "E06000064"),  # Kendal, Westmorland and Furness
        ("S1", "E08000039"),  # Sheffield (new code)
    ],
)
def test_district_centroid_lies_in_its_authority(district: str, code: str) -> None:
    """authority_at on a district centroid agrees with the district's authority_code."""
    found = geodata.outcode(district)
    assert found.authority_code == code
    at = geodata.authority_at(found.lat, found.lon)
    assert at is not None and at.code == code


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (54.0, -4.0),  # Irish Sea
        (53.5, 1.5),  # North Sea
        (51.48, -3.18),  # Cardiff, Wales
        (55.95, -3.19),  # Edinburgh, Scotland
        (48.85, 2.35),  # Paris
        (float("nan"), 0.0),
    ],
)
def test_authority_at_outside_england_is_none(lat: float, lon: float) -> None:
    """Sea, Wales, Scotland and abroad belong to no English authority."""
    assert geodata.authority_at(lat, lon) is None


def test_in_authority_is_vectorised() -> None:
    """in_authority flags many points at once and agrees with authority_at."""
    rng = np.random.default_rng(1)
    lat = rng.uniform(51.45, 51.62, 500)
    lon = rng.uniform(-0.2, 0.25, 500)
    flags = geodata.in_authority("E09000002", lat, lon)
    assert flags.dtype == np.bool_ and flags.shape == (500,)
    assert flags.any()
    expected = [
        (a := geodata.authority_at(y, x)) is not None and a.code == "E09000002"
        for y, x in zip(lat, lon, strict=True)
    ]
    assert flags.tolist() == expected


def test_in_authority_accepts_superseded_codes() -> None:
    """The hot path can be handed an old code and still answer for its successor."""
    sheffield = geodata.authority("Sheffield")
    flags = geodata.in_authority("E08000019", np.array([sheffield.lat]), np.array([sheffield.lon]))
    assert flags.tolist() == [True]


def test_boundary_geojson_is_a_feature() -> None:
    """boundary_geojson gives a GeoJSON Feature with code, name and type properties."""
    feature = geodata.boundary_geojson("E09000002")
    assert feature["type"] == "Feature"
    assert feature["properties"] == {
        "code": "E09000002",
        "name": "Barking and Dagenham",
        "type": "london_borough",
    }
    geometry = feature["geometry"]
    assert isinstance(geometry, dict) and geometry["type"] in {"Polygon", "MultiPolygon"}
    assert shapely.geometry.shape(geometry).equals(geodata.boundary("E09000002"))


def test_boundary_geojson_is_a_fresh_copy() -> None:
    """Mutating a returned feature cannot corrupt later answers."""
    first = geodata.boundary_geojson("E09000001")
    first["properties"] = {}
    assert geodata.boundary_geojson("E09000001")["properties"] != {}


def test_unknown_authority_boundary_fails() -> None:
    """Asking for a boundary of an unknown code is an UnknownAuthorityError."""
    with pytest.raises(geodata.UnknownAuthorityError):
        geodata.boundary("E99999999")
