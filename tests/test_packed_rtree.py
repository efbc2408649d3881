"""The packed R-tree: box queries equal a scan, disc queries split points exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.registry.packed_rtree import FLAT_LEAVES, LEAF_SIZE, NODE_POINTS, PackedRtree
from matcher.registry.spatial import BACKENDS, ScanIndex, build_spatial_index

# Sizes around every boundary of the layout: empty, one point, a short last leaf, exactly
# one node, the largest tree without a node level and the smallest with one.
SIZES = [
    0,
    1,
    LEAF_SIZE - 1,
    LEAF_SIZE,
    LEAF_SIZE + 1,
    NODE_POINTS,
    NODE_POINTS + 3,
    FLAT_LEAVES * LEAF_SIZE,
    FLAT_LEAVES * LEAF_SIZE + 1,
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
    """Every box answers the scan's rows; every disc returns each point within `outer`
    exactly once, the whole-box ones within `inner`, with their planar distances."""
    x, y = points(n, seed=n)
    tree, scan = PackedRtree(x, y), ScanIndex(x, y)
    rng = np.random.default_rng(1000 + n)
    for _ in range(25):
        cx, cy = rng.uniform(50_000, 700_000), rng.uniform(0, 1_250_000)
        r = float(rng.uniform(500, 300_000))
        box = (cx - r, cy - r * 0.7, cx + r * 0.6, cy + r)
        assert np.array_equal(tree.query_box(*box), scan.query_box(*box))
        inner, outer = r * 0.995, r * 1.004
        disc = tree.disc(cx, cy, inner, outer)
        inside = disc.inside_positions()
        assert len(inside) == disc.inside_count
        assert np.all(np.hypot(tree.x[inside] - cx, tree.y[inside] - cy) <= inner)
        np.testing.assert_array_equal(
            disc.edge_planar, np.hypot(tree.x[disc.edge] - cx, tree.y[disc.edge] - cy)
        )
        found = np.concatenate([inside, disc.edge])
        assert len(np.unique(found)) == len(found)
        truth = np.flatnonzero(np.hypot(x - cx, y - cy) <= outer)
        assert np.array_equal(np.sort(tree.order[found]), truth)


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
    """Whatever the backend, a disc holds the same points (in its own storage order)."""
    x, y = points(n, seed)
    index = build_spatial_index(backend, x, y)
    cx, cy = 400_000.0, 500_000.0
    disc = index.disc(cx, cy, r * 0.99, r)
    found = np.sort(index.order[np.concatenate([disc.inside_positions(), disc.edge])])
    assert np.array_equal(found, np.flatnonzero(np.hypot(x - cx, y - cy) <= r))
