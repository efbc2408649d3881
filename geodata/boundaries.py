"""Authority boundaries: which authority a point is in, and each authority's outline.

The polygons are 2011 LSOAs (super-generalised, ~200 m) dissolved into today's authorities
and coverage-simplified at 150 m, so neighbours share edges exactly (no gaps, no overlaps to
speak of). Good for "is this provider in the placing authority's area", not for surveying:
within ~200 m of a boundary or the coast the answer can be wrong.

Everything is built lazily on first use and kept: the parsed polygons (prepared for fast
repeated containment tests) and one STRtree over all of them.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from geodata.authorities import Authority, authority, authority_by_code
from geodata.data_files import read_bytes

if TYPE_CHECKING:
    import shapely

__all__ = ["authority_at", "boundary", "boundary_geojson", "in_authority"]


@dataclass(frozen=True, slots=True)
class _Boundaries:
    codes: tuple[str, ...]
    geoms: Any  # numpy object array of prepared shapely (Multi)Polygons, lon/lat
    features: dict[str, dict[str, Any]]  # GeoJSON Feature by code, as stored


@functools.cache
def _boundaries() -> _Boundaries:
    import shapely

    collection = json.loads(read_bytes("boundaries.geojson.gz"))
    features = {f["properties"]["code"]: f for f in collection["features"]}
    codes = tuple(sorted(features))
    geoms = np.array([shapely.geometry.shape(features[c]["geometry"]) for c in codes])
    shapely.prepare(geoms)
    return _Boundaries(codes, geoms, features)


@functools.cache
def _tree() -> Any:
    import shapely

    return shapely.STRtree(_boundaries().geoms)


def _index(code_or_name: str) -> int:
    data = _boundaries()
    return data.codes.index(authority(code_or_name).code)


def boundary(code: str) -> shapely.Geometry:
    """The (simplified) boundary of an authority as a shapely geometry in lon/lat (WGS84)."""
    return _boundaries().geoms[_index(code)]


def boundary_geojson(code: str) -> dict[str, object]:
    """The boundary as a GeoJSON Feature (lon/lat, 5 decimals) with code, name and type."""
    found = authority(code)
    feature = copy.deepcopy(_boundaries().features[found.code])
    feature["properties"] = {"code": found.code, "name": found.name, "type": found.type}
    return dict(feature)


def authority_at(lat: float, lon: float) -> Authority | None:
    """The English authority containing the point, or None (sea, Wales, Scotland, abroad)."""
    import shapely

    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    hits = _tree().query(shapely.Point(lon, lat), predicate="within")
    if len(hits) == 0:
        return None
    # Edges are shared, so a point exactly on one is in both: take the lowest code.
    return authority_by_code(_boundaries().codes[int(np.min(hits))])


def in_authority(
    code: str, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Vectorised: which points lie inside the authority (any name or code it answers to).

    Parameters
    ----------
    code : authority code (or any query :func:`geodata.authority` accepts)
    lat, lon : arrays of the same shape, degrees WGS84

    Returns
    -------
    inside : bool array of that shape; NaN coordinates are never inside
    """
    import shapely

    geom = boundary(code)
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a = np.asarray(lon, dtype=np.float64)
    return np.asarray(shapely.contains_xy(geom, lon_a, lat_a), dtype=np.bool_)
