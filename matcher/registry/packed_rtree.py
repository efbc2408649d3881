"""A static R-tree over points, packed in Hilbert order and queried with numpy.

The registry never changes once loaded, so its R-tree can be packed once (Kamel and
Faloutsos's Hilbert-packed R-tree): points sorted along a Hilbert curve, every
`LEAF_SIZE` consecutive points a leaf, every `NODE_LEAVES` consecutive leaves a node. A node
is then a contiguous range of the packed points, so a query answers with *ranges* rather
than one index per point, and the two levels of boxes are plain arrays tested in a few
vectorised passes. Two things follow that a pointer-based R-tree (shapely's STRtree,
libspatialindex) cannot do from Python at this speed:

- a disc query separates nodes and leaves lying wholly inside an inner radius (counted or
  expanded without testing a point) from those crossing the edge (tested point by point),
  so counting the listings within a radius costs the edge, not the area;
- data laid out in packed order (the per-kind columns of `matcher.registry.kinds`) is read
  with the query's ranges directly.

Queries use planar (British National Grid) metres; what "within" means geodesically is
`matcher.match.radius`'s business, which passes the inner and outer planar bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LEAF_SIZE = 16
NODE_LEAVES = 32
NODE_POINTS = LEAF_SIZE * NODE_LEAVES
FLAT_LEAVES = 1024  # up to this many leaves, no node level
HILBERT_ORDER = 16  # a 65,536 x 65,536 grid over the points' extent
# Box-level decisions keep this margin (metres) from the bounds, so a point whose own
# distance rounds differently from its box's corner is always tested on its own.
MARGIN_M = 1e-6

Rows = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_NO_ROWS = np.empty(0, dtype=np.intp)


def hilbert_keys(x: F64, y: F64, order: int = HILBERT_ORDER) -> I64:
    """Position of each point along a Hilbert curve over the points' bounding box."""
    side = 1 << order
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    span_x = max(float(x.max() - x.min()), 1.0)
    span_y = max(float(y.max() - y.min()), 1.0)
    gx = np.minimum(((x - x.min()) / span_x * (side - 1)).astype(np.int64), side - 1)
    gy = np.minimum(((y - y.min()) / span_y * (side - 1)).astype(np.int64), side - 1)
    key = np.zeros(len(x), dtype=np.int64)
    s = side >> 1
    while s > 0:
        rx = (gx & s) > 0
        ry = (gy & s) > 0
        key += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # Rotate the quadrant so the curve stays continuous (the classic xy -> d step).
        turn = ~ry
        flip = turn & rx
        gx = np.where(flip, side - 1 - gx, gx)
        gy = np.where(flip, side - 1 - gy, gy)
        gx, gy = np.where(turn, gy, gx), np.where(turn, gx, gy)
        s >>= 1
    return key


def _expand(ids: Rows, run: int, size: int) -> Rows:
    """Every point position of the aligned runs `ids` (run i holds [i*run, (i+1)*run))."""
    if len(ids) == 0:
        return _NO_ROWS
    positions = (ids[:, None] * run + np.arange(run)).ravel()
    if (int(ids[-1]) + 1) * run > size:  # the last run may be short
        positions = positions[positions < size]
    return positions


@dataclass(frozen=True, slots=True)
class Disc:
    """What a disc query found, in packed positions.

    The points of `whole_nodes` and `whole_leaves` lie certainly within `inner` (their whole
    box does); `edge` are the other points within `outer`, with their planar distances
    `edge_planar` (metres), for the caller to decide.
    """

    size: int
    whole_nodes: Rows
    whole_leaves: Rows
    edge: Rows
    edge_planar: F64

    @property
    def inside_count(self) -> int:
        """How many points the whole nodes and leaves hold."""
        count = len(self.whole_nodes) * NODE_POINTS + len(self.whole_leaves) * LEAF_SIZE
        for ids, run in ((self.whole_nodes, NODE_POINTS), (self.whole_leaves, LEAF_SIZE)):
            if len(ids) and (int(ids[-1]) + 1) * run > self.size:  # a short last run
                count -= (int(ids[-1]) + 1) * run - self.size
        return count

    def inside_positions(self) -> Rows:
        """Every position of the whole nodes and leaves."""
        nodes = _expand(self.whole_nodes, NODE_POINTS, self.size)
        leaves = _expand(self.whole_leaves, LEAF_SIZE, self.size)
        if len(nodes) == 0:
            return leaves
        return np.concatenate([nodes, leaves]) if len(leaves) else nodes


class PackedRtree:
    """Points in Hilbert order with leaf and node boxes; every query is a few numpy passes.

    `order[p]` is the original position of packed point p; `x`, `y` are the coordinates in
    packed order (metres). A small tree (at most `FLAT_LEAVES` leaves) has no node level:
    testing every leaf at once is then cheaper than two passes.
    """

    def __init__(self, easting: F64, northing: F64) -> None:
        keys = hilbert_keys(easting, northing)
        self.order: Rows = np.argsort(keys, kind="stable").astype(np.intp)
        self.x: F64 = np.ascontiguousarray(easting[self.order], dtype=np.float64)
        self.y: F64 = np.ascontiguousarray(northing[self.order], dtype=np.float64)
        self.size = len(self.order)
        self._leaf = _Boxes.of(self.x, self.y, LEAF_SIZE, self.size)
        self._node = (
            None
            if self._leaf.count <= FLAT_LEAVES
            else _Boxes.merge(self._leaf, NODE_LEAVES, NODE_POINTS, self.size)
        )

    def _leaves_near(self, near: Rows | None = None) -> Rows:
        """All leaves, or the leaves of the nodes `near`."""
        if near is None:
            return np.arange(self._leaf.count, dtype=np.intp)
        return _expand(near, NODE_LEAVES, self._leaf.count)

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Original positions of the points inside the box, ascending (`SpatialIndex`)."""
        leaves = self._leaves_near(
            None
            if self._node is None
            else np.flatnonzero(self._node.meets_box(min_e, min_n, max_e, max_n))
        )
        leaves = leaves[self._leaf.meets_box(min_e, min_n, max_e, max_n, leaves)]
        pos = _expand(leaves, LEAF_SIZE, self.size)
        x, y = self.x.take(pos), self.y.take(pos)
        pos = pos[(x >= min_e) & (x <= max_e) & (y >= min_n) & (y <= max_n)]
        rows = self.order.take(pos)
        rows.sort()
        return rows

    def disc(self, cx: float, cy: float, inner: float, outer: float) -> Disc:
        """Points within planar distance `outer` of (cx, cy), those within `inner` by boxes.

        A node or leaf whose farthest corner is within `inner` is taken whole; one whose
        nearest point is beyond `outer` is dropped; the points of the leaves in between
        are measured one by one.
        """
        inner2 = max(inner - MARGIN_M, 0.0) ** 2
        outer2 = (outer + MARGIN_M) ** 2
        centre = np.array((cx, cy))
        whole_nodes = _NO_ROWS
        leaves = None
        if self._node is not None:
            near, far = self._node.distances2(centre)
            whole_nodes = np.flatnonzero(far <= inner2)
            leaves = self._leaves_near(np.flatnonzero((near <= outer2) & (far > inner2)))
        near, far = self._leaf.distances2(centre, leaves)
        if leaves is None:
            whole_leaves = np.flatnonzero(far <= inner2)
            open_leaves = np.flatnonzero((near <= outer2) & (far > inner2))
        else:
            whole_leaves = leaves[far <= inner2]
            open_leaves = leaves[(near <= outer2) & (far > inner2)]
        edge = _expand(open_leaves, LEAF_SIZE, self.size)
        planar = np.hypot(self.x.take(edge) - cx, self.y.take(edge) - cy)
        keep = planar <= outer
        return Disc(self.size, whole_nodes, whole_leaves, edge[keep], planar[keep])


@dataclass(frozen=True, slots=True)
class _Boxes:
    """Bounding boxes of consecutive runs of packed points: [start, end) and extent.

    `mins[i]` is (min_x, min_y) and `negmax[i]` is (-max_x, -max_y): with the maxima
    negated, each distance or overlap test is a couple of whole-array operations (numpy's
    per-call cost, not the arithmetic, is what a query pays here).
    """

    start: I64
    end: I64
    mins: npt.NDArray[np.float64]  # shape (count, 2)
    negmax: npt.NDArray[np.float64]  # shape (count, 2)

    @property
    def count(self) -> int:
        return len(self.start)

    @classmethod
    def of(cls, x: F64, y: F64, run: int, size: int) -> _Boxes:
        """Boxes of every `run` consecutive points."""
        start = np.arange(0, size, run, dtype=np.int64)
        if size == 0:
            empty = np.empty((0, 2), dtype=np.float64)
            return cls(start, start.copy(), empty, empty.copy())
        mins = np.column_stack([np.minimum.reduceat(x, start), np.minimum.reduceat(y, start)])
        maxs = np.column_stack([np.maximum.reduceat(x, start), np.maximum.reduceat(y, start)])
        return cls(start=start, end=np.minimum(start + run, size), mins=mins, negmax=-maxs)

    @classmethod
    def merge(cls, child: _Boxes, run: int, points: int, size: int) -> _Boxes:
        """Boxes of every `run` consecutive child boxes (`points` points each, at most)."""
        first = np.arange(0, child.count, run, dtype=np.int64)
        if child.count == 0:
            return child
        return cls(
            start=child.start[first],
            end=np.minimum(child.start[first] + points, size),
            mins=np.minimum.reduceat(child.mins, first, axis=0),
            negmax=np.minimum.reduceat(child.negmax, first, axis=0),
        )

    def meets_box(
        self, min_x: float, min_y: float, max_x: float, max_y: float, which: Rows | None = None
    ) -> npt.NDArray[np.bool_]:
        """Which boxes (all, or those in `which`) intersect the query box."""
        mins = self.mins if which is None else self.mins.take(which, axis=0)
        negmax = self.negmax if which is None else self.negmax.take(which, axis=0)
        ok = (mins <= (max_x, max_y)) & (negmax <= (-min_x, -min_y))
        return ok[:, 0] & ok[:, 1]

    def distances2(self, centre: F64, which: Rows | None = None) -> tuple[F64, F64]:
        """Squared distance from `centre` (x, y) to each box's nearest point and farthest
        corner (all boxes, or those in `which`)."""
        mins = self.mins if which is None else self.mins.take(which, axis=0)
        negmax = self.negmax if which is None else self.negmax.take(which, axis=0)
        below = mins - centre  # > 0: the point is below the box on that axis
        above = negmax + centre  # > 0: above it
        near = np.maximum(np.maximum(below, above), 0.0)
        far = np.minimum(below, above)  # minus the distance to the farther side
        return np.square(near) @ _ONES, np.square(far) @ _ONES


_ONES = np.ones(2)
