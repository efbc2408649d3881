"""The packed R-tree: box queries equal a scan, disc queries count and select exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.registry.packed_rtree import LEAF_SIZE, NODE_LEAVES, Keep, PackedRtree
from matcher.registry.spatial import BACKENDS, ScanIndex, build_spatial_index

NODE_POINTS = LEAF_SIZE * NODE_LEAVES
# Sizes around every boundary of the layout: empty, one point, a short last leaf, exactly
# one node, a short last node, many nodes.
SIZES = [
    0,
    1,
    LEAF_SIZE - 1,
    LEAF_SIZE,
    LEAF_SIZE + 1,
    NODE_POINTS,
    NODE_POINTS + 3,
    20 * NODE_POINTS + 7,
]


def points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points over Great Britain's grid extent, clustered like listings (towns)."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform((100_000, 0), (650_000, 1_200_000), size=(20, 2))
    pick = rng.integers(0, len(towns), n)
    spread = rng.normal(0, 15_000, size=(n, 2))
    xy = towns[pick] + spread
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


@pytest.mark.parametrize("n", SIZES)
def test_box_and_disc_queries_equal_a_scan(n: int) -> None:
    """Every box answers the scan's rows; a disc counts exactly the points within `inner`
    and lists those in the band, and selects every point within `outer` once, with its
    planar distance and band flag, keeping only those that pass a filter."""
    x, y = points(n, seed=n)
    tree, scan = PackedRtree(x, y), ScanIndex(x, y)
    rng = np.random.default_rng(1000 + n)
    accept = rng.integers(0, 8, n).astype(np.uint64)
    lo, hi = rng.integers(0, 5, n).astype(np.int32), rng.integers(3, 9, n).astype(np.int32)
    stored_accept, stored_lo, stored_hi = accept[tree.order], lo[tree.order], hi[tree.order]
    for _ in range(25):
        cx, cy = rng.uniform(50_000, 700_000), rng.uniform(0, 1_250_000)
        r = float(rng.uniform(500, 300_000))
        box = (cx - r, cy - r * 0.7, cx + r * 0.6, cy + r)
        assert np.array_equal(tree.query_box(*box), scan.query_box(*box))
        inner, outer = r * 0.995, r * 1.004
        planar = np.hypot(x - cx, y - cy)
        count, band, band_planar = tree.count_disc(cx, cy, inner, outer)
        assert count == int(np.count_nonzero(planar <= inner))
        in_band = np.flatnonzero((planar > inner) & (planar <= outer))
        assert np.array_equal(np.sort(tree.order[band]), in_band)
        np.testing.assert_allclose(band_planar, planar[tree.order[band]], rtol=1e-12)
        found = tree.select_disc(cx, cy, inner, outer)
        assert len(np.unique(found.positions)) == len(found.positions)
        rows = tree.order[found.positions]
        assert np.array_equal(np.sort(rows), np.flatnonzero(planar <= outer))
        np.testing.assert_allclose(found.planar, planar[rows], rtol=1e-12)
        assert np.array_equal(found.band, found.planar > inner)
        required, start = np.uint64(rng.integers(0, 8)), np.int32(rng.integers(0, 9))
        keep = Keep(stored_accept, stored_lo, stored_hi, required, start)
        kept = tree.order[tree.select_disc(cx, cy, inner, outer, keep).positions]
        passes = ((accept & required) == required) & (lo <= start) & (hi >= start)
        assert np.array_equal(np.sort(kept), np.flatnonzero((planar <= outer) & passes))


def test_order_is_a_permutation_and_coordinates_follow_it() -> None:
    """Packed point p is input point order[p]."""
    x, y = points(5000, seed=3)
    tree = PackedRtree(x, y)
    assert np.array_equal(np.sort(tree.order), np.arange(5000))
    assert np.array_equal(tree.x, x[tree.order]) and np.array_equal(tree.y, y[tree.order])


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 3000),
    r=st.floats(10.0, 400_000.0),
    backend=st.sampled_from(sorted(BACKENDS)),
)
def test_every_backend_finds_the_same_disc(seed: int, n: int, r: float, backend: str) -> None:
    """Whatever the backend, a disc counts and selects the same points (in its own
    storage order)."""
    x, y = points(n, seed)
    index = build_spatial_index(backend, x, y)
    cx, cy = 400_000.0, 500_000.0
    planar = np.hypot(x - cx, y - cy)
    count, band, _ = index.count_disc(cx, cy, r * 0.99, r)
    assert count == int(np.count_nonzero(planar <= r * 0.99))
    assert count + len(band) == int(np.count_nonzero(planar <= r))
    found = index.select_disc(cx, cy, r * 0.99, r)
    assert np.array_equal(np.sort(index.order[found.positions]), np.flatnonzero(planar <= r))
