"""Raw spatial candidate queries, no eligibility: which structure to build the index on.

For each referral origin, the box the shortlist searches (radius plus the planar margin)
is queried through shapely's STRtree, rtree's vectorised `intersection_v`, a numpy scan,
and scipy's cKDTree ball query (a disc, so a slightly smaller set: shown for scale, not
compared). The first three must return identical row sets.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

import geodata
from benchmarks.referrals import referral_bodies
from benchmarks.stats import summary_us, time_calls
from matcher.match.radius import reach_m
from matcher.match.request import METRES_PER_MILE
from matcher.registry.demo import generate
from matcher.registry.spatial import build_spatial_index

Box = tuple[float, float, float, float]


def measure_alternatives(n: int, queries: int, n_referrals: int) -> dict[str, Any]:
    """Build times and per-query latency of each candidate structure over `n` listings."""
    registry = generate(n, 0)
    easting, northing = geodata.to_bng(registry.lat, registry.lon)
    easting = np.ascontiguousarray(easting, dtype=np.float64)
    northing = np.ascontiguousarray(northing, dtype=np.float64)
    boxes: list[Box] = []
    discs: list[tuple[float, float, float]] = []
    for body in referral_bodies(n_referrals, 0):
        a = geodata.authority(body["placing_authority"])
        reach = reach_m(body["max_distance_miles"] * METRES_PER_MILE)
        boxes.append((a.easting - reach, a.northing - reach, a.easting + reach, a.northing + reach))
        discs.append((a.easting, a.northing, reach))

    out: dict[str, Any] = {"listings": n, "build_s": {}, "ops": {}}
    structures = {}
    for backend in ("strtree", "rtree", "scan"):
        t = time.perf_counter()
        structures[backend] = build_spatial_index(backend, easting, northing)
        out["build_s"][backend] = round(time.perf_counter() - t, 4)
    t = time.perf_counter()
    kd = cKDTree(np.column_stack([easting, northing]), leafsize=16)
    out["build_s"]["ckdtree"] = round(time.perf_counter() - t, 4)

    hits = {b: [structures[b].query_box(*box) for box in boxes] for b in structures}
    out["identical_rows"] = all(
        np.array_equal(x, y)
        for other in ("rtree", "scan")
        for x, y in zip(hits["strtree"], hits[other], strict=True)
    )
    out["mean_candidates"] = round(float(np.mean([len(h) for h in hits["strtree"]])), 1)
    for backend, structure in structures.items():
        samples = time_calls(lambda box, s=structure: s.query_box(*box), boxes, queries, 10.0)
        out["ops"][f"box_{backend}"] = summary_us(samples)
    samples = time_calls(
        lambda d: np.sort(np.asarray(kd.query_ball_point(d[:2], d[2]), dtype=np.intp)),
        discs,
        queries,
        10.0,
    )
    out["ops"]["disc_ckdtree"] = summary_us(samples)
    return out
