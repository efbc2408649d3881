"""R-tree spatial indexes over British National Grid points; queries return row positions.

Interchangeable backends, all R-trees bulk-loaded from numpy arrays:
- `PackedRtree` (`matcher.registry.packed_rtree`, the default): Hilbert-packed, queried by
  compiled loops that count whole boxes inside a disc and filter points as they go;
- `StrTreeIndex`: shapely's STRtree (Sort-Tile-Recursive), queried with one box;
- `RtreeIndex`: libspatialindex through `rtree`, bulk-loaded from arrays and queried with
  the vectorised `intersection_v`;
and `ScanIndex`, no index at all, as the reference. `benchmarks/core.py` times them side
by side; every backend is tested to give identical answers.

Each keeps its points in a storage order (`order[p]` is the input position of stored point
p): `query_box` answers input positions, the disc queries answer storage positions, so data
laid out in storage order (`matcher.registry.kinds`) is read with them directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np
import numpy.typing as npt
import shapely
from rtree import index as rtree_index

from matcher.registry.packed_rtree import Found, Keep, PackedRtree

Rows = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]


class SpatialIndex(Protocol):
    """Points in an axis-aligned box or a disc (metres, EPSG:27700)."""

    order: Rows

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Input positions inside the box, in ascending order."""
        ...

    def count_disc(self, cx: float, cy: float, inner: float, outer: float) -> tuple[int, Rows, F64]:
        """Points within planar `inner`, counted; those in (inner, outer], listed."""
        ...

    def select_disc(
        self, cx: float, cy: float, inner: float, outer: float, keep: Keep | None = None
    ) -> Found:
        """Storage positions within planar `outer` passing `keep`, with distances."""
        ...


class _BoxDisc(ABC):
    """The disc queries for an index that can only answer boxes: every point of the disc's
    box is measured (storage order = input order)."""

    _e: F64
    _n: F64

    def _init_points(self, easting: F64, northing: F64) -> None:
        self._e = np.ascontiguousarray(easting, dtype=np.float64)
        self._n = np.ascontiguousarray(northing, dtype=np.float64)
        self.order: Rows = np.arange(len(easting), dtype=np.intp)

    @abstractmethod
    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Input positions inside the box, ascending."""

    def _near(self, cx: float, cy: float, outer: float) -> tuple[Rows, F64]:
        pos = self.query_box(cx - outer, cy - outer, cx + outer, cy + outer)
        planar = np.hypot(self._e.take(pos) - cx, self._n.take(pos) - cy)
        keep = planar <= outer
        return pos[keep], planar[keep]

    def count_disc(self, cx: float, cy: float, inner: float, outer: float) -> tuple[int, Rows, F64]:
        """Points within planar `inner`, counted; those in (inner, outer], listed."""
        pos, planar = self._near(cx, cy, outer)
        band = planar > inner
        return int(np.count_nonzero(~band)), pos[band], planar[band]

    def select_disc(
        self, cx: float, cy: float, inner: float, outer: float, keep: Keep | None = None
    ) -> Found:
        """Storage positions within planar `outer` passing `keep`, with distances."""
        pos, planar = self._near(cx, cy, outer)
        if keep is not None:
            ok = keep.passes(pos)
            pos, planar = pos[ok], planar[ok]
        return Found(pos, planar, planar > inner)


class StrTreeIndex(_BoxDisc):
    """shapely STRtree over points; a box query returns positions (never geometries)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        self._init_points(easting, northing)
        self._tree = shapely.STRtree(shapely.points(easting, northing), node_capacity=10)

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, ascending."""
        hits = self._tree.query(shapely.box(min_e, min_n, max_e, max_n))
        hits.sort()
        return hits.astype(np.intp, copy=False)


class RtreeIndex(_BoxDisc):
    """libspatialindex R*-tree, bulk-loaded from arrays (points as degenerate boxes)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        self._init_points(easting, northing)
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


class ScanIndex(_BoxDisc):
    """No index: a numpy scan over every row (the brute-force reference and baseline)."""

    def __init__(self, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]):
        self._init_points(easting, northing)

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Row positions inside the box, ascending."""
        inside = (self._e >= min_e) & (self._e <= max_e) & (self._n >= min_n) & (self._n <= max_n)
        return np.flatnonzero(inside)


BACKENDS: dict[str, type[PackedRtree] | type[StrTreeIndex] | type[RtreeIndex] | type[ScanIndex]] = {
    "packed": PackedRtree,
    "strtree": StrTreeIndex,
    "rtree": RtreeIndex,
    "scan": ScanIndex,
}


def build_spatial_index(
    backend: str, easting: npt.NDArray[np.float64], northing: npt.NDArray[np.float64]
) -> SpatialIndex:
    """Build the named backend over the given BNG coordinates."""
    return BACKENDS[backend](easting, northing)
