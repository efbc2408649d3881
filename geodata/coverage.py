"""Is a coordinate in Great Britain? Refusing points our data cannot speak for.

A bounding box alone lets through the Irish Sea, the North Sea and Northern Ireland's
east coast. Instead we ship a 1 km grid marking every cell within ~5 km of a live GB
postcode (built from Code-Point Open): a point passes if it is inside the box and its
cell is marked, or it lies inside an English authority's boundary (moorland can be more
than 5 km from any postcode). That accepts every real address in GB (each is near its own postcode)
and rejects Northern Ireland (~37 km from the nearest GB postcode at the Ards peninsula),
the Isle of Man, France and open sea. It is O(1) per point, so validating a
million-row registry costs one vectorised projection and one array lookup.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geodata.data_files import read_bytes
from geodata.errors import OutsideCoverageError
from geodata.projection import to_bng

__all__ = ["GB_LAT_RANGE", "GB_LON_RANGE", "check_in_great_britain", "check_in_great_britain_v"]

GB_LAT_RANGE = (49.8, 60.95)
GB_LON_RANGE = (-8.7, 1.8)


@dataclass(frozen=True, slots=True)
class _Grid:
    covered: npt.NDArray[np.bool_]  # (rows, cols), row 0 at northing 0
    cell_m: float
    radius_m: float


@functools.cache
def _grid() -> _Grid:
    raw = read_bytes("coverage_grid.bin.gz")
    head, _, body = raw.partition(b"\n")
    header = json.loads(head)
    rows, cols = int(header["rows"]), int(header["cols"])
    bits = np.unpackbits(np.frombuffer(body, dtype=np.uint8), count=rows * cols)
    return _Grid(
        bits.astype(np.bool_).reshape(rows, cols),
        float(header["cell_m"]),
        float(header["radius_m"]),
    )


def check_in_great_britain_v(lat: npt.ArrayLike, lon: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Vectorised coverage test: True where the point is in Great Britain.

    Parameters
    ----------
    lat, lon : array_like, degrees WGS84 (broadcast together)

    Returns
    -------
    inside : bool array of the broadcast shape; NaN is never inside
    """
    la, lo = np.broadcast_arrays(
        np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    )
    inside = (
        (la >= GB_LAT_RANGE[0])
        & (la <= GB_LAT_RANGE[1])
        & (lo >= GB_LON_RANGE[0])
        & (lo <= GB_LON_RANGE[1])
    )
    if not inside.any():
        return inside
    grid = _grid()
    easting, northing = to_bng(la[inside], lo[inside])
    row = np.floor(northing / grid.cell_m)
    col = np.floor(easting / grid.cell_m)
    rows, cols = grid.covered.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    hit = np.zeros(row.shape, dtype=np.bool_)
    hit[ok] = grid.covered[row[ok].astype(np.intp), col[ok].astype(np.intp)]
    result = np.zeros(la.shape, dtype=np.bool_)
    result[inside] = hit
    # Land far from any postcode (moorland, mountains: the North Pennines are more than 5 km
    # from one) is still Great Britain: a point inside an authority's boundary passes.
    missed = np.flatnonzero(inside.ravel() & ~result.ravel())
    if len(missed):
        result.ravel()[missed[_inside_any_authority(la.ravel()[missed], lo.ravel()[missed])]] = True
    return result


def _inside_any_authority(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Positions (into lat/lon) of the points inside some English authority's boundary."""
    import shapely

    from geodata.boundaries import _tree

    points_idx, _ = _tree().query(shapely.points(lon, lat), predicate="within")
    return np.unique(points_idx)


def check_in_great_britain(lat: float, lon: float) -> None:
    """Raise OutsideCoverageError, saying why, unless (lat, lon) is in Great Britain."""
    query = f"{lat}, {lon}"
    if not (
        GB_LAT_RANGE[0] <= lat <= GB_LAT_RANGE[1] and GB_LON_RANGE[0] <= lon <= GB_LON_RANGE[1]
    ):
        raise OutsideCoverageError(
            f"({query}) is outside Great Britain: expected latitude "
            f"{GB_LAT_RANGE[0]}..{GB_LAT_RANGE[1]} and longitude "
            f"{GB_LON_RANGE[0]}..{GB_LON_RANGE[1]} (WGS84 degrees; are lat and lon swapped?)",
            query=query,
        )
    if bool(check_in_great_britain_v(lat, lon)):
        return
    if 54.0 <= lat <= 55.35 and lon <= -5.4:
        where = "this looks like Northern Ireland, which is not covered"
    else:
        where = (
            "it is at sea, or outside Great Britain (Northern Ireland, the Isle of Man "
            "and the Channel Islands are not covered)"
        )
    raise OutsideCoverageError(
        f"({query}) is more than ~{_grid().radius_m / 1000:.0f} km from any postcode in "
        f"Great Britain: {where}",
        query=query,
    )
