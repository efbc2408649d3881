"""geodata.authorities: the 153 authorities and finding one by any name or code."""

from __future__ import annotations

import collections

import pytest

import geodata
from geodata.names import name_keys, normalise

ALL = geodata.authorities()


def test_exactly_153_authorities_sorted_with_unique_codes() -> None:
    """153 authorities with children's services, sorted by code, no duplicates."""
    codes = [a.code for a in ALL]
    assert len(ALL) == 153
    assert codes == sorted(codes)
    assert len(set(codes)) == 153


def test_counts_by_type() -> None:
    """33 London boroughs (incl. the City), 36 metropolitan districts, 63 unitaries, 21 counties."""
    counts = collections.Counter(a.type for a in ALL)
    assert counts == {
        "london_borough": 33,
        "metropolitan_district": 36,
        "unitary": 63,
        "county": 21,
    }


def test_type_matches_code_prefix() -> None:
    """E09/E08/E06/E10 codes carry the matching type."""
    prefix = {
        "london_borough": "E09",
        "metropolitan_district": "E08",
        "unitary": "E06",
        "county": "E10",
    }
    assert all(a.code.startswith(prefix[a.type]) for a in ALL)


def test_every_authority_has_postcodes_and_a_point_in_england() -> None:
    """Each authority holds live postcodes and a point inside England's extent."""
    for a in ALL:
        assert a.postcode_count > 0, a.code
        assert 49.8 < a.lat < 55.9 and -6.5 < a.lon < 1.8, a.code


@pytest.mark.parametrize("a", ALL, ids=lambda a: a.code)
def test_name_and_every_alias_resolve_to_the_authority(a: geodata.Authority) -> None:
    """The official name and each stored alias find exactly this authority."""
    for text in (a.name, *a.aliases, a.code, a.code.lower()):
        assert geodata.authority(text) == a, text


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Barking & Dagenham", "E09000002"),  # ampersand
        ("barking and dagenham", "E09000002"),  # lower case
        ("  Barking   and Dagenham ", "E09000002"),  # stray whitespace
        ("LB Barking and Dagenham", "E09000002"),  # "LB" prefix
        ("London Borough of Barking and Dagenham", "E09000002"),  # long prefix
        ("Royal Borough of Greenwich", "E09000011"),  # royal borough prefix
        ("Royal Borough of Kensington & Chelsea", "E09000020"),  # both at once
        ("City of London", "E09000001"),  # "City of" is part of this name
        ("City of Westminster", "E09000033"),
        ("Westminster City Council", "E09000033"),  # "... City Council"
        ("Kent County Council", "E10000016"),  # "... County Council"
        ("Wirral Council", "E08000015"),  # "... Council"
        ("Wigan Metropolitan Borough Council", "E08000010"),
        ("Kingston upon Hull", "E06000010"),
        ("Hull", "E06000010"),
        ("Kingston upon Hull, City of", "E06000010"),  # ONS comma form
        ("Hull City Council", "E06000010"),
        ("Bristol, City of", "E06000023"),
        ("Bristol", "E06000023"),
        ("City of Bristol", "E06000023"),
        ("St Helens", "E08000013"),
        ("St. Helens", "E08000013"),
        ("Southend-on-Sea", "E06000033"),
        ("Southend", "E06000033"),
        ("Herefordshire, County of", "E06000019"),
        ("Herefordshire", "E06000019"),
        ("Durham", "E06000047"),
        ("County Durham", "E06000047"),
        ("Durham County Council", "E06000047"),
        ("Bournemouth, Christchurch and Poole", "E06000058"),
        ("BCP", "E06000058"),
        ("Poole", "E06000058"),  # pre-2019 unitary
        ("Kingston", "E09000021"),  # Kingston upon Thames, not Hull
        ("Nottingham City Council", "E06000018"),
        ("Council of the Isles of Scilly", "E06000053"),
        ("City of Bradford Metropolitan District Council", "E08000032"),
        ("North Yorkshire County Council", "E06000065"),  # the county's successor
    ],
)
def test_name_variants(query: str, code: str) -> None:
    """Common ways councils are written all resolve."""
    assert geodata.authority(query).code == code


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("E08000016", "E08000038"),  # Barnsley recoded
        ("E08000019", "E08000039"),  # Sheffield recoded
        ("E08000020", "E08000037"),  # Gateshead recoded
        ("E06000048", "E06000057"),  # Northumberland recoded
        ("E10000023", "E06000065"),  # North Yorkshire county -> unitary (2023)
        ("E10000027", "E06000066"),  # Somerset county -> unitary (2023)
        ("E10000002", "E06000060"),  # Buckinghamshire county -> unitary (2020)
        ("E06000028", "E06000058"),  # Bournemouth -> BCP (2019)
        ("E06000029", "E06000058"),  # Poole -> BCP (2019)
        ("E10000009", "E06000059"),  # Dorset county -> unitary (2019)
    ],
)
def test_superseded_codes_resolve_to_successor(old: str, new: str) -> None:
    """An old ONS code finds its successor, which lists it among its superseded codes."""
    found = geodata.authority(old)
    assert found.code == new
    assert old in found.superseded_codes


@pytest.mark.parametrize(
    ("query", "successors"),
    [
        ("E10000006", ["Cumberland", "Westmorland and Furness"]),  # Cumbria, split 2023
        ("Cumbria", ["Cumberland", "Westmorland and Furness"]),
        ("E10000021", ["North Northamptonshire", "West Northamptonshire"]),  # split 2021
        ("Northamptonshire County Council", ["North Northamptonshire", "West Northamptonshire"]),
    ],
)
def test_split_authorities_fail_naming_both_successors(query: str, successors: list[str]) -> None:
    """A code or name of a split authority is refused, never silently resolved to one half."""
    with pytest.raises(geodata.UnknownAuthorityError) as err:
        geodata.authority(query)
    assert err.value.suggestions == successors
    assert all(name in err.value.message for name in successors)
    assert err.value.query == query


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("Barkng and Dagenham", "Barking and Dagenham"),  # typo
        ("Sheffeld", "Sheffield"),
        ("Hammersmith & Fullham", "Hammersmith and Fulham"),
        ("Norfolk CC", "Norfolk"),
    ],
)
def test_unknown_name_suggests_closest(query: str, best: str) -> None:
    """Unknown names fail with close suggestions, best first."""
    with pytest.raises(geodata.UnknownAuthorityError) as err:
        geodata.authority(query)
    assert err.value.suggestions[0] == best
    assert best in err.value.message


def test_london_alone_is_not_the_city() -> None:
    """'London' is a region; it must not quietly become the City of London."""
    with pytest.raises(geodata.UnknownAuthorityError, match="33"):
        geodata.authority("London")


@pytest.mark.parametrize("query", ["Cardiff", "W06000015", "E07000099", "", "Narnia"])
def test_non_english_or_unknown_fail(query: str) -> None:
    """Welsh, lower-tier and invented names or codes are refused."""
    with pytest.raises(geodata.UnknownAuthorityError):
        geodata.authority(query)


def test_no_two_authorities_share_a_lookup_key() -> None:
    """Normalisation never makes two current names collide."""
    owners: dict[str, set[str]] = collections.defaultdict(set)
    for a in ALL:
        for text in (a.name, *a.aliases):
            for key in name_keys(text):
                owners[key].add(a.code)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_normalise() -> None:
    """Lower case, '&' as 'and', punctuation and repeated spaces dropped."""
    assert normalise("  St. Helens &  Co-op ") == "st helens and co op"
