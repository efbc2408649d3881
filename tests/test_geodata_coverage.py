"""geodata.coverage: refusing points outside Great Britain, one at a time or a million."""

from __future__ import annotations

import numpy as np
import pytest

import geodata

INSIDE = [
    (51.5007, -0.1246),  # Westminster
    (49.9146, -6.3153),  # St Mary's, Isles of Scilly
    (60.1550, -1.1450),  # Lerwick, Shetland
    (57.4778, -4.2247),  # Inverness
    (51.4816, -3.1791),  # Cardiff
    (52.4816, 1.7560),  # Lowestoft, near GB's easternmost point
    (54.9966, -2.0000),  # Hexham area, rural Northumberland
]
OUTSIDE = [
    (48.85, 2.35),  # Paris: outside the box
    (54.0, -4.0),  # Irish Sea, between Lancashire and the Isle of Man
    (55.0, 0.5),  # North Sea
    (53.5, 1.5),  # North Sea off Norfolk, inside the box
    (50.2, -1.5),  # English Channel
    (54.6, -5.9),  # Belfast, Northern Ireland
    (54.5, -5.45),  # Ards peninsula, Northern Ireland's eastern edge
    (54.2, -4.5),  # Isle of Man
]


@pytest.mark.parametrize(("lat", "lon"), INSIDE)
def test_places_in_great_britain_pass(lat: float, lon: float) -> None:
    """Towns from Scilly to Shetland are accepted."""
    geodata.check_in_great_britain(lat, lon)


@pytest.mark.parametrize(("lat", "lon"), OUTSIDE)
def test_places_outside_great_britain_are_refused(lat: float, lon: float) -> None:
    """France, open sea, Northern Ireland and the Isle of Man are refused."""
    with pytest.raises(geodata.OutsideCoverageError) as err:
        geodata.check_in_great_britain(lat, lon)
    assert err.value.query == f"{lat}, {lon}"


def test_northern_ireland_is_named() -> None:
    """The message says why: Northern Ireland is not covered."""
    with pytest.raises(geodata.OutsideCoverageError, match="Northern Ireland"):
        geodata.check_in_great_britain(54.6, -5.9)


def test_swapped_coordinates_get_a_hint() -> None:
    """lon/lat passed the wrong way round is a common mistake; say so."""
    with pytest.raises(geodata.OutsideCoverageError, match="swapped"):
        geodata.check_in_great_britain(-0.12, 51.5)


def test_vectorised_check_agrees_with_scalar() -> None:
    """check_in_great_britain_v gives the same verdicts, NaN counted outside."""
    points = INSIDE + OUTSIDE + [(float("nan"), 0.0)]
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    expected = [True] * len(INSIDE) + [False] * (len(OUTSIDE) + 1)
    assert geodata.check_in_great_britain_v(lat, lon).tolist() == expected


def test_every_authority_point_is_covered() -> None:
    """All 153 authority points pass the coverage check."""
    lat = np.array([a.lat for a in geodata.authorities()])
    lon = np.array([a.lon for a in geodata.authorities()])
    assert geodata.check_in_great_britain_v(lat, lon).all()
