"""One registry size of the in-process suite, measured in its own process (so RSS is per size).

Order: generate the seeded registry, build the default index (packed R-trees; timed, then
RSS), build the STRtree- and rtree-backed indexes, compute what `load_snapshot` adds
(snapshot version hash, listing authorities), then check that every path gives the same
answer for every referral, and only then time each operation over the fixed referrals,
warmed up first.

Operations (per call, CPU-bound, one thread):
- `shortlist_index` / `_strtree` / `_rtree`: the core `shortlist` (index + criteria in,
  result rows out) on each backend; `shortlist_bruteforce`: the same over every row;
- `matcher_shortlist`: `Matcher.shortlist_answer(request).json()`, the request model in and
  the answer as served (the response model's bytes) out;
- `matcher_shortlist_model`: `Matcher.shortlist(request)`, the validated pydantic model;
- `matcher_shortlist_json`: raw bytes in (parsed and validated), answer bytes out;
- `rank_price_50`, `rank_best_match_50`: `Matcher.rank_answer(request).json()` with ~50
  bids (full explanation: price breakdown, every component, the tie rule's marks, and each
  provider's feedback, the default); `..._no_feedback`: the same with `"feedback": false`.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.referrals import bids_for, referral_bodies
from benchmarks.stats import peak_rss_bytes, rss_bytes, summary_us, time_calls
from matcher.bids.request import RankRequest
from matcher.boundary import parse_body
from matcher.match.criteria import Criteria
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.match.shortlist import ShortlistResult, shortlist, shortlist_bruteforce
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.registry.spatial import build_spatial_index
from matcher.service import Limits, Matcher, Snapshot

SEED = 0
BUDGET_S = 20.0  # per timed operation and size; counts are cut to fit (never below 1 pass)


def measure_size(
    n: int, queries: int, n_referrals: int, budget_s: float = BUDGET_S
) -> dict[str, Any]:
    """Everything the suite reports for a registry of `n` listings."""
    out: dict[str, Any] = {"listings": n}
    t = time.perf_counter()
    registry = generate(n, SEED)
    out["generate_s"] = round(time.perf_counter() - t, 3)
    out["rss_after_generate_mb"] = round(rss_bytes() / 1e6, 1)

    index = RegistryIndex.build(registry)
    out["build_s"] = {"packed": round(index.build_seconds, 3)}
    out["rss_after_index_mb"] = round(rss_bytes() / 1e6, 1)
    out["peak_rss_after_index_mb"] = round(peak_rss_bytes() / 1e6, 1)
    index_strtree = RegistryIndex.build(registry, backend="strtree")
    out["build_s"]["strtree"] = round(index_strtree.build_seconds, 3)
    index_rtree = RegistryIndex.build(registry, backend="rtree")
    out["build_s"]["rtree"] = round(index_rtree.build_seconds, 3)
    for backend in ("packed", "strtree", "rtree"):
        t = time.perf_counter()
        build_spatial_index(backend, index.easting, index.northing)
        out["build_s"][f"{backend}_tree_only"] = round(time.perf_counter() - t, 3)

    # What `matcher.service.load_snapshot` computes on top of the index.
    t = time.perf_counter()
    _ = registry.version
    out["snapshot_version_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    _ = index.authority_positions
    out["authority_codes_s"] = round(time.perf_counter() - t, 3)
    out["rss_after_load_mb"] = round(rss_bytes() / 1e6, 1)
    out["peak_rss_after_load_mb"] = round(peak_rss_bytes() / 1e6, 1)

    matcher = Matcher(Snapshot(index=index, source=f"benchmark:generate({n},{SEED})"))
    limits = Limits()
    bodies = referral_bodies(n_referrals, SEED)
    requests = [ShortlistRequest.model_validate(b) for b in bodies]
    raws = [ShortlistRequest.model_validate(b).model_dump_json().encode() for b in bodies]
    criteria = [resolve_criteria(r, limits.max_radius_miles) for r in requests]
    cases = list(zip(requests, criteria, strict=True))

    def via(ix: RegistryIndex) -> Callable[[tuple[ShortlistRequest, Criteria]], ShortlistResult]:
        return lambda case: shortlist(ix, case[1], case[0].limit, case[0].explain_limit)

    def brute(case: tuple[ShortlistRequest, Criteria]) -> ShortlistResult:
        return shortlist_bruteforce(index, case[1], case[0].limit, case[0].explain_limit)

    results = [via(index)(c) for c in cases]
    out["parity"] = {
        "strtree_identical": all(
            via(index_strtree)(c) == r for c, r in zip(cases, results, strict=True)
        ),
        "rtree_identical": all(
            via(index_rtree)(c) == r for c, r in zip(cases, results, strict=True)
        ),
        "bruteforce_identical": all(brute(c) == r for c, r in zip(cases, results, strict=True)),
    }
    out["referrals"] = [
        {
            "referral_id": req.referral_id,
            "authority": req.placing_authority,
            "urban": i < (len(cases) + 1) // 2,
            "within_radius": r.within_radius_count,
            "eligible": r.eligible_count,
        }
        for i, (req, r) in enumerate(zip(requests, results, strict=True))
    ]

    rank_price, rank_best = _rank_requests(index, bodies, requests, results)
    out["bids_per_rank_request"] = round(float(np.mean([len(r.bids) for r in rank_price])), 1)

    ops: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "shortlist_index": (via(index), cases),
        "shortlist_strtree": (via(index_strtree), cases),
        "shortlist_rtree": (via(index_rtree), cases),
        "shortlist_bruteforce": (brute, cases),
        "matcher_shortlist": (lambda req: matcher.shortlist_answer(req).json(), requests),
        "matcher_shortlist_model": (matcher.shortlist, requests),
        "matcher_shortlist_json": (
            lambda raw: matcher.shortlist_answer(parse_body(ShortlistRequest, raw)).json(),
            raws,
        ),
        "rank_price_50": (lambda req: matcher.rank_answer(req).json(), rank_price),
        "rank_best_match_50": (lambda req: matcher.rank_answer(req).json(), rank_best),
        "rank_price_50_no_feedback": (
            lambda req: matcher.rank_answer(req).json(),
            _without_feedback(rank_price),
        ),
        "rank_best_match_50_no_feedback": (
            lambda req: matcher.rank_answer(req).json(),
            _without_feedback(rank_best),
        ),
    }
    out["ops"] = {}
    urban = np.array([ref["urban"] for ref in out["referrals"]])
    # As the service does after each snapshot swap (`matcher.http.state.release_memory`):
    # what is loaded is frozen out of the cyclic collector's full collections.
    gc.collect()
    gc.freeze()
    for name, (fn, op_cases) in ops.items():
        samples = time_calls(fn, op_cases, queries, budget_s)
        stats = summary_us(samples)
        # Cases cycle in order, so sample i belongs to referral i % len(cases).
        is_urban = urban[np.arange(len(samples)) % len(op_cases)]
        stats["urban_p50_us"] = round(float(np.percentile(samples[is_urban], 50)) / 1e3, 2)
        stats["rural_p50_us"] = round(float(np.percentile(samples[~is_urban], 50)) / 1e3, 2)
        out["ops"][name] = stats
    gc.unfreeze()
    out["peak_rss_end_mb"] = round(peak_rss_bytes() / 1e6, 1)
    return out


def _without_feedback(requests: list[RankRequest]) -> list[RankRequest]:
    """The same rank requests asking for no per-bid feedback (`"feedback": false`)."""
    return [r.model_copy(update={"feedback": False}) for r in requests]


def _rank_requests(
    index: RegistryIndex,
    bodies: list[dict[str, Any]],
    requests: list[ShortlistRequest],
    results: list[ShortlistResult],
) -> tuple[list[RankRequest], list[RankRequest]]:
    """Per referral, 50 bids from its own shortlist (fees under the ceilings), by price and
    by best match."""
    rng = np.random.default_rng(SEED)
    reg = index.registry
    price: list[RankRequest] = []
    best: list[RankRequest] = []
    for body, req, result in zip(bodies, requests, results, strict=True):
        start = req.start_date.toordinal()
        ceilings = [reg.ceiling_pence(h.row, req.lot, start) or 0 for h in result.shortlist]
        bids = bids_for(result, ceilings, rng)
        if not bids:  # nothing within the radius at this size: one unknown listing
            bids = [{"bid_id": "B000", "listing_id": "L-none", "weekly_fee_gbp": "1000.00"}]
        for order_by, into in (("price", price), ("best_match", best)):
            into.append(
                parse_body(RankRequest, json.dumps({**body, "bids": bids, "order_by": order_by}))
            )
    return price, best
