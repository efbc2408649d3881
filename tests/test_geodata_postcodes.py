"""geodata.postcodes: GB postcode districts and reading postcodes down to them."""

from __future__ import annotations

import collections

import pytest

import geodata
from geodata.postcodes import outcodes, outward_code


def test_about_2860_live_districts_across_gb() -> None:
    """Every live GB district is present, Scottish and Welsh ones included."""
    everything = outcodes()
    assert 2800 < len(everything) < 2950
    countries = collections.Counter(o.country for o in everything)
    assert set(countries) == {"england", "scotland", "wales"}


def test_non_english_districts_have_no_authority() -> None:
    """Scottish/Welsh districts are kept (border providers) but belong to no English authority."""
    assert geodata.outcode("CF10").authority_code is None
    assert geodata.outcode("EH1").country == "scotland"
    codes = {a.code for a in geodata.authorities()}
    for o in outcodes():
        assert (o.authority_code is None) == (o.country != "england"), o.outcode
        assert o.authority_code is None or o.authority_code in codes


@pytest.mark.parametrize(
    ("query", "district"),
    [
        ("IG11 7LU", "IG11"),  # standard
        ("ig117lu", "IG11"),  # compact, lower case
        (" IG11  7LU ", "IG11"),  # extra spaces
        ("IG11", "IG11"),  # district alone
        ("SW1A 1AA", "SW1A"),  # letter-suffixed district
        ("W1A 0AX", "W1A"),
        ("M1 1AE", "M1"),  # one-letter area
        ("B33 8TH", "B33"),
        ("CR2 6XH", "CR2"),
        ("DN55 1PT", "DN55"),
        ("EC1A 1BB", "EC1A"),
    ],
)
def test_outward_code_parsing(query: str, district: str) -> None:
    """The inward code is always digit + two letters; the rest is the district."""
    assert outward_code(query) == district


def test_full_postcode_resolves_to_its_district() -> None:
    """IG11 7LU is in IG11, which is Barking and Dagenham's."""
    found = geodata.outcode("IG11 7LU")
    assert found.outcode == "IG11"
    assert found.authority_code == "E09000002"
    assert found == geodata.outcode("ig117lu")


@pytest.mark.parametrize("query", ["BT1", "BT1 1AA", "bt11aa", "BT93 8AD"])
def test_northern_ireland_is_refused(query: str) -> None:
    """BT postcodes are not covered (not in the OGL data): a clear coverage error."""
    with pytest.raises(geodata.OutsideCoverageError, match="Northern Ireland") as err:
        geodata.outcode(query)
    assert err.value.query == query


@pytest.mark.parametrize("query", ["JE2 3AB", "GY1 1AA", "IM1 1AA"])
def test_crown_dependencies_are_refused(query: str) -> None:
    """Channel Islands and Isle of Man postcodes are outside Great Britain."""
    with pytest.raises(geodata.OutsideCoverageError, match="not in Great Britain"):
        geodata.outcode(query)


def test_unknown_district_suggests_close_ones() -> None:
    """A district not in use fails with near misses."""
    with pytest.raises(geodata.UnknownPostcodeError) as err:
        geodata.outcode("SW1Z")
    assert "SW1Y" in err.value.suggestions
    assert err.value.query == "SW1Z"


def test_retired_district_points_to_its_successor_area() -> None:
    """L41 (now CH41, Birkenhead) is explained, with CH41 suggested first."""
    with pytest.raises(geodata.UnknownPostcodeError, match="no longer in use") as err:
        geodata.outcode("L41 1AA")
    assert err.value.suggestions[0] == "CH41"


@pytest.mark.parametrize("query", ["", "hello", "12345", "IG11 7L", "SW1A1AAA"])
def test_malformed_input_is_refused(query: str) -> None:
    """Text that is not postcode-shaped fails as an unknown postcode."""
    with pytest.raises(geodata.UnknownPostcodeError, match="not a UK postcode"):
        geodata.outcode(query)


def test_every_district_centroid_is_in_great_britain() -> None:
    """No district centroid falls foul of the coverage check."""
    import numpy as np

    everything = outcodes()
    lat = np.array([o.lat for o in everything])
    lon = np.array([o.lon for o in everything])
    assert geodata.check_in_great_britain_v(lat, lon).all()
