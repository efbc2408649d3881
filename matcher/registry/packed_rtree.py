"""A static R-tree over points, packed in Hilbert order, queried by compiled kernels.

The registry never changes once loaded, so its R-tree can be packed once (Kamel and
Faloutsos's Hilbert-packed R-tree): points sorted along a Hilbert curve, every
`LEAF_SIZE` consecutive points a leaf, every `NODE_LEAVES` consecutive leaves a node. A node
is then a contiguous range of the packed points, its box one row of an array, and a query
is a plain loop over nodes, leaves and points (`matcher.registry.jit`) that:

- counts a node or leaf lying wholly within an inner radius without touching its points,
  so counting the listings within a radius costs the edge, not the area;
- tests the points of the other boxes near the disc one by one, keeping those that pass a
  filter on columns laid out in the same packed order (`matcher.registry.kinds`), with
  their planar distances, in one pass.

Queries use planar (British National Grid) metres; what "within" means geodesically is
`matcher.match.radius`'s business, which passes the inner and outer planar bounds: a
point within `inner` is certainly within the radius, one beyond `outer` certainly not,
one in between (the band) is for a geodesic to decide.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.registry.jit import kernel

LEAF_SIZE = 16
NODE_LEAVES = 32
HILBERT_ORDER = 16  # a 65,536 x 65,536 grid over the points' extent
# Box-level decisions keep this margin (metres) from the bounds, so a point whose own
# distance rounds differently from its box's corner is always tested on its own.
MARGIN_M = 1e-6

Rows = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Boxes = npt.NDArray[np.float64]  # shape (count, 4): min_x, min_y, max_x, max_y


@dataclass(frozen=True, slots=True)
class Keep:
    """A filter on stored points: the accept word has every `required` bit and `start`
    lies in [lo, hi] (columns in storage order, see `matcher.registry.kinds`)."""

    accept: U64
    lo: I32
    hi: I32
    required: np.uint64
    start: np.int32

    def passes(self, positions: Rows) -> npt.NDArray[np.bool_]:
        """Which stored points at `positions` pass (the compiled queries test the same)."""
        ok = (self.accept.take(positions) & self.required) == self.required
        ok &= self.lo.take(positions) <= self.start
        ok &= self.hi.take(positions) >= self.start
        return ok


@dataclass(frozen=True, slots=True)
class Found:
    """Points within `outer` of a disc: storage positions, planar distances (metres), and
    whether each lies in the band (beyond `inner`: a geodesic decides)."""

    positions: Rows
    planar: F64
    band: npt.NDArray[np.bool_]


_NO_KEEP = Keep(
    np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int32), np.zeros(1, dtype=np.int32),
    np.uint64(0), np.int32(0),
)  # fmt: skip


def hilbert_keys(x: F64, y: F64, order: int = HILBERT_ORDER) -> I64:
    """Position of each point along a Hilbert curve over the points' bounding box."""
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    side = 1 << order
    span_x = max(float(x.max() - x.min()), 1.0)
    span_y = max(float(y.max() - y.min()), 1.0)
    gx = np.minimum(((x - x.min()) / span_x * (side - 1)).astype(np.int64), side - 1)
    gy = np.minimum(((y - y.min()) / span_y * (side - 1)).astype(np.int64), side - 1)
    return _hilbert(gx, gy, side)


@kernel
def _hilbert(gx: I64, gy: I64, side: int) -> I64:  # pragma: no cover - compiled
    """The classic (x, y) -> d walk of a Hilbert curve, one point at a time."""
    out = np.empty(gx.shape[0], dtype=np.int64)
    for i in range(gx.shape[0]):
        x, y, d = gx[i], gy[i], 0
        s = side >> 1
        while s > 0:
            rx = 1 if (x & s) > 0 else 0
            ry = 1 if (y & s) > 0 else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:  # rotate the quadrant so the curve stays continuous
                if rx == 1:
                    x = side - 1 - x
                    y = side - 1 - y
                x, y = y, x
            s >>= 1
        out[i] = d
    return out


def boxes(x: F64, y: F64, run: int) -> Boxes:
    """The box of every `run` consecutive points."""
    if len(x) == 0:
        return np.empty((0, 4), dtype=np.float64)
    start = np.arange(0, len(x), run)
    return np.column_stack(
        [
            np.minimum.reduceat(x, start),
            np.minimum.reduceat(y, start),
            np.maximum.reduceat(x, start),
            np.maximum.reduceat(y, start),
        ]
    )


def merged(child: Boxes, run: int) -> Boxes:
    """The box of every `run` consecutive child boxes."""
    if len(child) == 0:
        return child
    start = np.arange(0, len(child), run)
    return np.column_stack(
        [
            np.minimum.reduceat(child[:, 0], start),
            np.minimum.reduceat(child[:, 1], start),
            np.maximum.reduceat(child[:, 2], start),
            np.maximum.reduceat(child[:, 3], start),
        ]
    )


class PackedRtree:
    """Points in Hilbert order with leaf and node boxes, queried by compiled loops.

    `order[p]` is the input position of stored point p; `x`, `y` are the coordinates in
    storage order (metres).
    """

    def __init__(self, easting: F64, northing: F64) -> None:
        keys = hilbert_keys(easting, northing)
        self.order: Rows = np.argsort(keys, kind="stable").astype(np.intp)
        self.x: F64 = np.ascontiguousarray(easting[self.order], dtype=np.float64)
        self.y: F64 = np.ascontiguousarray(northing[self.order], dtype=np.float64)
        self.size = len(self.order)
        self._leaves = boxes(self.x, self.y, LEAF_SIZE)
        self._nodes = merged(self._leaves, NODE_LEAVES)

    def query_box(self, min_e: float, min_n: float, max_e: float, max_n: float) -> Rows:
        """Input positions of the points inside the box, ascending (`SpatialIndex`)."""
        stored = _box_query(self._nodes, self._leaves, self.x, self.y, min_e, min_n, max_e, max_n)
        rows = self.order.take(stored)
        rows.sort()
        return rows

    def count_disc(self, cx: float, cy: float, inner: float, outer: float) -> tuple[int, Rows, F64]:
        """How many points lie within planar `inner` of (cx, cy), and the storage positions
        and planar distances of those beyond it but within `outer` (the band)."""
        count, band, planar = _count_disc(
            self._nodes, self._leaves, self.x, self.y, cx, cy, inner, outer
        )
        return int(count), band, planar

    def select_disc(
        self, cx: float, cy: float, inner: float, outer: float, keep: Keep | None = None
    ) -> Found:
        """The points within planar `outer` of (cx, cy) that pass `keep` (all when None)."""
        k = _NO_KEEP if keep is None else keep
        positions, planar, band = _select_disc(
            self._nodes, self._leaves, self.x, self.y, cx, cy, inner, outer,
            k.accept, k.lo, k.hi, k.required, k.start, keep is not None,
        )  # fmt: skip
        return Found(positions, planar, band)


@functools.cache
def compile_kernels() -> None:
    """Compile (or load from numba's cache) every query kernel now, on a tiny tree, so that
    no request pays for it: runs once per process, when the first index is built."""
    points = np.arange(40, dtype=np.float64)
    tree = PackedRtree(points, points)
    tree.query_box(0.0, 0.0, 10.0, 10.0)
    tree.count_disc(5.0, 5.0, 3.0, 4.0)
    tree.select_disc(5.0, 5.0, 3.0, 4.0)
    words = np.zeros(40, dtype=np.uint64)
    dates = np.zeros(40, dtype=np.int32)
    tree.select_disc(5.0, 5.0, 3.0, 4.0, Keep(words, dates, dates, np.uint64(0), np.int32(0)))


@kernel
def _box_class(
    box: Boxes, i: int, cx: float, cy: float, inner2: float, outer2: float
) -> int:  # pragma: no cover - compiled
    """0: box i lies beyond outer; 2: wholly within inner; 1: it meets the band."""
    gap_x = max(box[i, 0] - cx, cx - box[i, 2], 0.0)
    gap_y = max(box[i, 1] - cy, cy - box[i, 3], 0.0)
    if gap_x * gap_x + gap_y * gap_y > outer2:
        return 0
    far_x = max(cx - box[i, 0], box[i, 2] - cx)
    far_y = max(cy - box[i, 1], box[i, 3] - cy)
    return 2 if far_x * far_x + far_y * far_y <= inner2 else 1


@kernel
def _count_disc(
    nodes: Boxes, leaves: Boxes, x: F64, y: F64, cx: float, cy: float, inner: float, outer: float
) -> tuple[int, Rows, F64]:  # pragma: no cover - compiled
    inner2 = max(inner - MARGIN_M, 0.0) ** 2
    outer2 = (outer + MARGIN_M) ** 2
    n = x.shape[0]
    band = np.empty(n, dtype=np.intp)
    planar = np.empty(n, dtype=np.float64)
    count = 0
    found = 0
    for node in range(nodes.shape[0]):
        where = _box_class(nodes, node, cx, cy, inner2, outer2)
        if where == 0:
            continue
        first = node * NODE_LEAVES
        last = min(first + NODE_LEAVES, leaves.shape[0])
        if where == 2:
            count += min(last * LEAF_SIZE, n) - first * LEAF_SIZE
            continue
        for leaf in range(first, last):
            at = _box_class(leaves, leaf, cx, cy, inner2, outer2)
            if at == 0:
                continue
            p0 = leaf * LEAF_SIZE
            p1 = min(p0 + LEAF_SIZE, n)
            if at == 2:
                count += p1 - p0
                continue
            for p in range(p0, p1):
                d = math.hypot(x[p] - cx, y[p] - cy)
                if d <= inner:
                    count += 1
                elif d <= outer:
                    band[found] = p
                    planar[found] = d
                    found += 1
    return count, band[:found].copy(), planar[:found].copy()


@kernel
def _select_disc(
    nodes: Boxes,
    leaves: Boxes,
    x: F64,
    y: F64,
    cx: float,
    cy: float,
    inner: float,
    outer: float,
    accept: U64,
    lo: I32,
    hi: I32,
    required: np.uint64,
    start: np.int32,
    use_keep: bool,
) -> tuple[Rows, F64, npt.NDArray[np.bool_]]:  # pragma: no cover - compiled
    inner2 = max(inner - MARGIN_M, 0.0) ** 2
    outer2 = (outer + MARGIN_M) ** 2
    n = x.shape[0]
    positions = np.empty(n, dtype=np.intp)
    planar = np.empty(n, dtype=np.float64)
    band = np.empty(n, dtype=np.bool_)
    found = 0
    for node in range(nodes.shape[0]):
        where = _box_class(nodes, node, cx, cy, inner2, outer2)
        if where == 0:
            continue
        first = node * NODE_LEAVES
        last = min(first + NODE_LEAVES, leaves.shape[0])
        for leaf in range(first, last):
            at = 2 if where == 2 else _box_class(leaves, leaf, cx, cy, inner2, outer2)
            if at == 0:
                continue
            p0 = leaf * LEAF_SIZE
            p1 = min(p0 + LEAF_SIZE, n)
            for p in range(p0, p1):
                if use_keep and (
                    (accept[p] & required) != required or lo[p] > start or hi[p] < start
                ):
                    continue
                d = math.hypot(x[p] - cx, y[p] - cy)
                if at == 1 and d > outer:
                    continue
                positions[found] = p
                planar[found] = d
                band[found] = at == 1 and d > inner
                found += 1
    return positions[:found].copy(), planar[:found].copy(), band[:found].copy()


@kernel
def _box_query(
    nodes: Boxes,
    leaves: Boxes,
    x: F64,
    y: F64,
    min_x: float,
    min_y: float,
    max_x: float,
    max_y: float,
) -> Rows:  # pragma: no cover - compiled
    n = x.shape[0]
    out = np.empty(n, dtype=np.intp)
    found = 0
    for node in range(nodes.shape[0]):
        if (nodes[node, 0] > max_x or nodes[node, 2] < min_x or nodes[node, 1] > max_y
                or nodes[node, 3] < min_y):  # fmt: skip
            continue
        first = node * NODE_LEAVES
        for leaf in range(first, min(first + NODE_LEAVES, leaves.shape[0])):
            if (leaves[leaf, 0] > max_x or leaves[leaf, 2] < min_x or leaves[leaf, 1] > max_y
                    or leaves[leaf, 3] < min_y):  # fmt: skip
                continue
            for p in range(leaf * LEAF_SIZE, min(leaf * LEAF_SIZE + LEAF_SIZE, n)):
                if min_x <= x[p] <= max_x and min_y <= y[p] <= max_y:
                    out[found] = p
                    found += 1
    return out[:found].copy()
