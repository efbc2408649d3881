"""Matcher vs PostGIS on the same registry and referrals: same answers, then who is faster.

Per size: load the seeded registry into PostGIS (COPY, GiST indexes, CLUSTER, ANALYZE; each
step timed), check for every referral that both return the same eligible listings in the
same order with distances within 1 m (and the same within-radius count), then time both in
the same process, interleaved referral by referral: the matcher's `shortlist` and PostGIS
prepared statements (psycopg 3, client-side wall time including the fetch), in an order
shuffled per referral and round (`benchmarks.stats.turns`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import psycopg

from benchmarks.postgis import sql
from benchmarks.postgis.cluster import log
from benchmarks.referrals import referral_bodies
from benchmarks.stats import summary_us, turns
from matcher.match.criteria import Criteria
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.match.shortlist import shortlist
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex

LIMIT = 50
EXPLAIN_LIMIT = 20
DISTANCE_TOLERANCE_M = 1.0
PLAN_MODES = ("auto", "force_custom_plan")
TIMING_BUDGET_S = 180.0


def load(conn: psycopg.Connection[Any], index: RegistryIndex) -> dict[str, float]:
    """Create and fill the tables, then index, cluster and analyse; seconds per step."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    conn.execute(sql.DDL)
    with conn.cursor() as cur:
        cols = ", ".join(sql.LISTING_COLUMNS)
        with cur.copy(f"COPY listing ({cols}) FROM STDIN") as copy:
            for row in sql.listing_rows(index):
                copy.write_row(row)
    steps["copy"] = round(time.perf_counter() - t, 3)
    for name, statement in sql.POST_LOAD:
        t = time.perf_counter()
        for part in statement.split(";"):
            conn.execute(part)
        steps[name] = round(time.perf_counter() - t, 3)
    return steps


def _pg_rows(conn: psycopg.Connection[Any], query: str, p: dict[str, Any]) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(query, p, prepare=True)  # type: ignore[arg-type]
        return cur.fetchall()


def parity(
    conn: psycopg.Connection[Any],
    index: RegistryIndex,
    cases: list[tuple[ShortlistRequest, Criteria]],
) -> dict[str, Any]:
    """Full eligible sets, order and distances, per referral and per SQL variant."""
    differences: list[dict[str, Any]] = []
    max_diff_m = 0.0
    compared = 0
    for req, c in cases:
        mine = shortlist(index, c, limit=index.registry.size, explain_limit=0)
        ids = [h.listing_id for h in mine.shortlist]
        dist = np.array([h.distance_m for h in mine.shortlist])
        p = sql.params(index, c, LIMIT)
        within = _pg_rows(conn, sql.within_radius_sql(), p)[0][0]
        if within != mine.within_radius_count:
            differences.append(
                {
                    "referral_id": req.referral_id,
                    "what": "within_radius_count",
                    "matcher": mine.within_radius_count,
                    "postgis": within,
                }
            )
        for variant in sql.RADIUS:
            rows = _pg_rows(conn, sql.shortlist_sql(variant, limited=False), p)
            pg_ids = [r[0] for r in rows]
            compared += 1
            if pg_ids != ids:
                differences.append(
                    _set_difference(
                        req.referral_id, variant, ids, pg_ids, dist, rows, c.max_distance_m
                    )
                )
                continue
            if ids:
                diff = float(np.max(np.abs(dist - np.array([r[1] for r in rows]))))
                max_diff_m = max(max_diff_m, diff)
                if diff >= DISTANCE_TOLERANCE_M:
                    differences.append(
                        {
                            "referral_id": req.referral_id,
                            "variant": variant,
                            "what": "distance",
                            "max_abs_diff_m": diff,
                        }
                    )
            top = _pg_rows(conn, sql.shortlist_sql(variant), p)
            pg_count = top[0][2] if top else 0
            if pg_count != mine.eligible_count or [r[0] for r in top] != ids[:LIMIT]:
                differences.append(
                    {
                        "referral_id": req.referral_id,
                        "variant": variant,
                        "what": "top_50_or_count",
                        "matcher": mine.eligible_count,
                        "postgis": pg_count,
                    }
                )
    return {
        "referrals": len(cases),
        "comparisons": compared,
        "identical": not differences,
        "max_distance_diff_m": max_diff_m,
        "eligible_total": sum(
            shortlist(index, c, limit=1, explain_limit=0).eligible_count for _, c in cases
        ),
        "differences": differences[:20],
    }


def _set_difference(
    referral_id: str,
    variant: str,
    ids: list[str],
    pg_ids: list[str],
    dist: np.ndarray[Any, Any],
    rows: list[tuple[Any, ...]],
    radius_m: float,
) -> dict[str, Any]:
    """What differs, with distances, to tell a radius-boundary case from a filter bug."""
    mine_d = dict(zip(ids, dist.tolist(), strict=True))
    pg_d = {r[0]: r[1] for r in rows}
    only_m = sorted(set(ids) - set(pg_ids))
    only_p = sorted(set(pg_ids) - set(ids))
    first = next((i for i, (a, b) in enumerate(zip(ids, pg_ids, strict=False)) if a != b), None)
    return {
        "referral_id": referral_id,
        "variant": variant,
        "what": "eligible_list",
        "radius_m": radius_m,
        "matcher_count": len(ids),
        "postgis_count": len(pg_ids),
        "only_matcher": [(i, mine_d[i]) for i in only_m[:10]],
        "only_postgis": [(i, pg_d[i]) for i in only_p[:10]],
        "first_order_difference": first,
    }


def timing(
    conn: psycopg.Connection[Any],
    index: RegistryIndex,
    cases: list[tuple[ShortlistRequest, Criteria]],
    rounds: int,
) -> dict[str, Any]:
    """Per-query latency of each contender, interleaved referral by referral."""
    pg_params = [sql.params(index, c, LIMIT) for _, c in cases]
    contenders: dict[str, Any] = {
        "matcher_shortlist_explain0": lambda i: shortlist(index, cases[i][1], LIMIT, 0),
        "matcher_shortlist_explain20": lambda i: shortlist(
            index, cases[i][1], LIMIT, EXPLAIN_LIMIT
        ),
    }
    for mode in PLAN_MODES:
        for variant in sql.RADIUS:
            contenders[f"postgis_{variant}_{mode}"] = (variant, mode)
    names = list(contenders)
    samples: dict[str, list[int]] = {k: [] for k in contenders}
    cursors: dict[str, psycopg.Cursor[Any]] = {}
    conns: list[psycopg.Connection[Any]] = []
    for name, spec in contenders.items():
        if isinstance(spec, tuple):
            # One connection per plan mode and variant: prepared plans never mix.
            c2 = psycopg.connect(conn.info.dsn, autocommit=True)
            c2.execute(f"SET plan_cache_mode = {spec[1]}")
            conns.append(c2)
            cursors[name] = c2.cursor()
    try:
        started = time.perf_counter()
        for rnd in range(rounds + 1):
            warm = rnd == 0
            if rnd == 1 and rounds > 1:
                # Keep a size's timing near TIMING_BUDGET_S: 1M listings make London slow.
                per_round = time.perf_counter() - started
                rounds = max(1, min(rounds, int(TIMING_BUDGET_S / max(per_round, 1e-6))))
            if rnd > rounds:
                break
            for i in range(len(cases)):
                for name in turns(names, rnd * len(cases) + i):
                    spec = contenders[name]
                    t0 = time.perf_counter_ns()
                    if isinstance(spec, tuple):
                        cur = cursors[name]
                        cur.execute(sql.shortlist_sql(spec[0]), pg_params[i], prepare=True)  # type: ignore[arg-type]
                        cur.fetchall()
                    else:
                        spec(i)
                    if not warm:
                        samples[name].append(time.perf_counter_ns() - t0)
    finally:
        for c2 in conns:
            c2.close()
    return {name: summary_us(s) for name, s in samples.items()} | {"rounds": rounds}


def explain(conn: psycopg.Connection[Any], index: RegistryIndex, c: Criteria) -> dict[str, str]:
    """EXPLAIN ANALYZE of each variant for one referral (the plans the timings used)."""
    out = {}
    p = sql.params(index, c, LIMIT)
    for variant in sql.RADIUS:
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql.shortlist_sql(variant), p)  # type: ignore[arg-type]
            out[variant] = "\n".join(r[0] for r in cur.fetchall())
    return out


def compare_size(dsn: str, n: int, rounds: int, n_referrals: int) -> dict[str, Any]:
    """Load `n` listings, check parity, time both."""
    log(f"{n:,} listings: generate + index")
    registry = generate(n, 0)
    index = RegistryIndex.build(registry)
    requests = [ShortlistRequest.model_validate(b) for b in referral_bodies(n_referrals, 0)]
    cases = [(r, resolve_criteria(r, 200.0)) for r in requests]
    with psycopg.connect(dsn, autocommit=True) as conn:
        log(f"{n:,} listings: load into PostGIS")
        steps = load(conn, index)
        size = conn.execute("SELECT pg_total_relation_size('listing')").fetchone()
        log(f"{n:,} listings: parity")
        par = parity(conn, index, cases)
        log(f"{n:,} listings: timing ({rounds} rounds x {len(cases)} referrals)")
        times = timing(conn, index, cases, rounds)
        timed_rounds = times.pop("rounds")
        plans = explain(conn, index, cases[0][1])
    best = min((k for k in times if k.startswith("postgis_")), key=lambda k: times[k]["p50_us"])
    return {
        "listings": n,
        "load_s": steps,
        "postgis_bytes": int(size[0]) if size else None,
        "parity": par,
        "ops": times,
        "timed_rounds": timed_rounds,
        "best_postgis": best,
        "ratio_postgis_over_matcher_p50": round(
            times[best]["p50_us"] / times["matcher_shortlist_explain0"]["p50_us"], 2
        ),
        "explain_first_referral": plans,
    }
