"""Geography for matcher: English children's-services authorities, GB postcode districts,
authority boundaries, WGS84 <-> British National Grid and geodesic distance.

Pure Python over small committed files in ``geodata/data`` (built by ``python -m
geodata.build`` from pinned open data; see ATTRIBUTION.md). Importing is cheap: numpy
only. Data files, shapely and pyproj load on first use and stay loaded.
"""

from __future__ import annotations

from geodata.authorities import Authority, authorities, authority
from geodata.boundaries import authority_at, boundary, boundary_geojson, in_authority
from geodata.coverage import check_in_great_britain, check_in_great_britain_v
from geodata.errors import (
    GeodataError,
    OutsideCoverageError,
    UnknownAuthorityError,
    UnknownPostcodeError,
)
from geodata.locate import locate
from geodata.postcodes import Outcode, outcode
from geodata.projection import METRES_PER_MILE, distance_m, distances_from, to_bng, to_wgs84

__all__ = [
    "METRES_PER_MILE",
    "Authority",
    "GeodataError",
    "Outcode",
    "OutsideCoverageError",
    "UnknownAuthorityError",
    "UnknownPostcodeError",
    "authorities",
    "authority",
    "authority_at",
    "boundary",
    "boundary_geojson",
    "check_in_great_britain",
    "check_in_great_britain_v",
    "distance_m",
    "distances_from",
    "in_authority",
    "locate",
    "outcode",
    "to_bng",
    "to_wgs84",
]
