"""The public surface of geodata: what other packages code against, and how cheap it is."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

import geodata


def test_public_names_are_exported() -> None:
    """Every name in the API contract is importable from the package root."""
    expected = {
        "GeodataError",
        "UnknownAuthorityError",
        "UnknownPostcodeError",
        "OutsideCoverageError",
        "Authority",
        "Outcode",
        "authorities",
        "authority",
        "outcode",
        "locate",
        "authority_at",
        "in_authority",
        "boundary",
        "boundary_geojson",
        "to_bng",
        "to_wgs84",
        "distance_m",
        "METRES_PER_MILE",
        "check_in_great_britain",
        "check_in_great_britain_v",
    }
    assert expected <= set(geodata.__all__)
    assert all(hasattr(geodata, name) for name in expected)


def test_errors_form_one_tree_under_value_error() -> None:
    """Callers can catch GeodataError (or ValueError) for every geodata failure."""
    for cls in (
        geodata.UnknownAuthorityError,
        geodata.UnknownPostcodeError,
        geodata.OutsideCoverageError,
    ):
        assert issubclass(cls, geodata.GeodataError)
    assert issubclass(geodata.GeodataError, ValueError)


def test_import_is_cheap_and_framework_free() -> None:
    """Importing geodata loads no web framework and defers shapely, pyproj and the data."""
    code = (
        "import sys, geodata; "
        "heavy = [m for m in ('fastapi', 'starlette', 'shapely', 'pyproj', 'scipy') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
    assert out.stderr == ""


def test_committed_data_is_small() -> None:
    """The data shipped in the wheel stays well under 1.5 MB."""
    folder = resources.files("geodata").joinpath("data")
    total = sum(f.read_bytes().__len__() for f in folder.iterdir() if f.is_file())
    assert total < 1_500_000


@pytest.mark.parametrize(
    ("query", "how"),
    [
        ("IG11 7LU", "postcode_district"),  # full postcode, read down to its district
        ("ig117lu", "postcode_district"),  # no space, lower case
        ("SW1A", "postcode_district"),  # outward code alone
        ("Harrow", "authority"),  # authority name
        ("E09000015", "authority"),  # authority code
    ],
)
def test_locate_says_what_the_point_stands_for(query: str, how: str) -> None:
    """locate returns a GB point and how it was found."""
    lat, lon, found_how = geodata.locate(query)
    assert found_how == how
    geodata.check_in_great_britain(lat, lon)


def test_locate_postcode_is_the_district_centroid() -> None:
    """A full postcode locates to its district's centroid."""
    district = geodata.outcode("IG11")
    assert geodata.locate("IG11 7LU") == (district.lat, district.lon, "postcode_district")


def test_locate_refuses_northern_ireland() -> None:
    """BT postcodes are refused by locate too, not mistaken for an authority name."""
    with pytest.raises(geodata.OutsideCoverageError, match="Northern Ireland"):
        geodata.locate("BT1 1AA")


def test_locate_unknown_text_suggests_authorities() -> None:
    """Text that is neither postcode nor authority fails with authority suggestions."""
    with pytest.raises(geodata.UnknownAuthorityError) as err:
        geodata.locate("Barkng and Dagenham")
    assert err.value.suggestions[0] == "Barking and Dagenham"
