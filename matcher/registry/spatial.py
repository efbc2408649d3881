"""R-tree spatial indexes over British National Grid points; queries return row positions.

Two interchangeable backends, both packed R-trees bulk-loaded from numpy arrays:
- `StrTreeIndex`: shapely's STRtree (Sort-Tile-Recursive), queried with one box;
- `RtreeIndex`: libspatialindex through `rtree`, bulk-loaded from arrays and queried with
  the vectorised `intersection_v`.
`benchmarks/core.py` times both against a numpy scan; the default is the faster one here
(STRtree; see README "Performance"). Both are tested to return identical row sets.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt
import shapely
from rtree import index as rtree_index

Rows = npt.NDArray[np.intp]


class SpatialIndex(Protocol):
    """Rows whose point lies in an axis-aligned box (metres, EPSG:27700)."""

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, in ascending order."""
        ...


class StrTreeIndex:
    """shapely STRtree over points; a box query returns positions (never geometries)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        self._tree = shapely.STRtree(shapely.points(easting, northing), node_capacity=10)

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, ascending."""
        hits = self._tree.query(shapely.box(min_e, min_n, max_e, max_n))
        hits.sort()
        return hits.astype(np.intp, copy=False)


class RtreeIndex:
    """libspatialindex R*-tree, bulk-loaded from arrays (points as degenerate boxes)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        coords = np.column_stack([easting, northing]).astype(np.float64)
        ids = np.arange(len(easting), dtype=np.int64)
        props = rtree_index.Property()
        props.dimension = 2
        self._empty = len(easting) == 0
        # libspatialindex's bulk loader refuses an empty stream; an empty tree answers nothing.
        self._tree = (
            rtree_index.Index(properties=props)
            if self._empty
            else rtree_index.Index((ids, coords, coords), properties=props)
        )

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, ascending."""
        if self._empty:
            return np.empty(0, dtype=np.intp)
        ids, _counts = self._tree.intersection_v(  # type: ignore[no-untyped-call]
            np.array([[min_e, min_n]], dtype=np.float64),
            np.array([[max_e, max_n]], dtype=np.float64),
        )
        ids.sort()
        return ids.astype(np.intp, copy=False)


class ScanIndex:
    """No index: a numpy scan over every row (the brute-force reference and baseline)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        self._e = easting
        self._n = northing

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, ascending."""
        inside = (self._e >= min_e) & (self._e <= max_e) & (self._n >= min_n) & (self._n <= max_n)
        return np.flatnonzero(inside)


BACKENDS: dict[str, type[StrTreeIndex] | type[RtreeIndex] | type[ScanIndex]] = {
    "strtree": StrTreeIndex,
    "rtree": RtreeIndex,
    "scan": ScanIndex,
}


def build_spatial_index(
    backend: str, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]
) -> SpatialIndex:
    """Build the named backend over the given BNG coordinates."""
    return BACKENDS[backend](easting, northing)
