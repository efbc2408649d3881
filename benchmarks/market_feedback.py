"""Provider feedback benchmarks: rank with and without feedback, and the market feedback.

    python -m benchmarks.market_feedback [--requests 10000] [--bids 10] [--rank-queries 400]
                                         [--skip-http] [--out benchmarks/results/feedback.json]

Rank: the core suite's 40 referrals (`benchmarks.referrals`, half urban, half rural) with up
to 50 bids each from their own shortlists (fees 80-100% of the ceiling, excluded listings
making up the number), by price and by best match, `Matcher.rank_answer` plus JSON with
"feedback": true and false, interleaved so both see the same machine load; p50/p95 and the
ratio.
Market: `--requests` demo referrals (`matcher demo-referrals`, seed 7) with exactly `--bids`
bids each where the radius holds that many listings (eligible first, excluded ones making
up the number), against the embedded 5,000-listing registry: in-process from the JSON
Lines bytes (parse + `Matcher.market_feedback` + JSON, as the CLI does, and the compute
alone), and over HTTP (one POST of the JSON body to `matcher serve` on 127.0.0.1, end to
end). Wall and CPU seconds (the machines are shared). Generating the requests (a shortlist
per referral) is timed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from benchmarks.batch import Clock
from benchmarks.http.servers import Server, free_port, matcher_command
from benchmarks.referrals import bids_for, referral_bodies
from benchmarks.stats import steal_percent
from matcher.batch.demo_bids import add_bids
from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.market_models import MarketFeedbackRequest
from matcher.bids.request import RankRequest
from matcher.cli.batch import read_many
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.match.shortlist import shortlist
from matcher.service import Matcher, load_snapshot

SEED = 7


def rank_requests(matcher: Matcher, n_bids: int) -> list[tuple[RankRequest, RankRequest]]:
    """The core suite's referrals with `n_bids` bids, each as (feedback on, feedback off),
    by price and by best match."""
    index = matcher.snapshot.index
    reg = index.registry
    rng = np.random.default_rng(0)
    out = []
    for body in referral_bodies(40, 0):
        req = ShortlistRequest.model_validate(body)
        result = shortlist(index, resolve_criteria(req, 200), 50, 50)
        start = req.start_date.toordinal()
        ceilings = [reg.ceiling_pence(h.row, req.lot, start) or 0 for h in result.shortlist]
        bids = bids_for(result, ceilings, rng, n_bids)
        if len(bids) < 2:
            continue
        for order in ("price", "best_match"):
            full = {**body, "bids": bids, "order_by": order}
            out.append(
                (
                    RankRequest.model_validate(full),
                    RankRequest.model_validate({**full, "feedback": False}),
                )
            )
    return out


def bench_rank(matcher: Matcher, n_bids: int, queries: int) -> dict[str, Any]:
    """p50/p95 of rank + JSON with and without feedback, interleaved."""
    cases = rank_requests(matcher, n_bids)
    for on, off in cases:  # warm
        matcher.rank_answer(on).json()
        matcher.rank_answer(off).json()
    with_fb, without = [], []
    for i in range(queries):
        on, off = cases[i % len(cases)]
        first, second = (on, off) if i % 2 else (off, on)
        for req in (first, second):
            t = time.perf_counter_ns()
            matcher.rank_answer(req).json()
            (with_fb if req is on else without).append(time.perf_counter_ns() - t)
    a, b = np.array(with_fb) / 1e3, np.array(without) / 1e3
    return {
        "requests": len(cases),
        "mean_bids": round(float(np.mean([len(on.bids) for on, _ in cases])), 1),
        "queries_each": queries,
        "with_feedback_p50_us": round(float(np.percentile(a, 50)), 1),
        "with_feedback_p95_us": round(float(np.percentile(a, 95)), 1),
        "without_feedback_p50_us": round(float(np.percentile(b, 50)), 1),
        "without_feedback_p95_us": round(float(np.percentile(b, 95)), 1),
        "p50_ratio": round(float(np.percentile(a, 50) / np.percentile(b, 50)), 2),
    }


def market_body(matcher: Matcher, n: int, n_bids: int) -> tuple[bytes, dict[str, Any]]:
    """The JSON Lines of n rank requests, and facts about them."""
    with Clock() as c:
        referrals = generate_referrals(n, SEED)
        requests = add_bids(matcher.snapshot.index, referrals, n_bids, SEED, fill=True)
    counts = [len(r["bids"]) for r in requests]
    raw = "".join(json.dumps(r) + "\n" for r in requests).encode()
    return raw, {
        "requests": n,
        "bids": sum(counts),
        "requests_with_all_bids": sum(1 for k in counts if k == n_bids),
        "mean_bids": round(float(np.mean(counts)), 2),
        "jsonl_mb": round(len(raw) / 1e6, 2),
        "generate_s": round(c.wall, 1),
    }


def bench_market(matcher: Matcher, raw: bytes, http: bool) -> dict[str, Any]:
    """In-process (parse + compute + JSON, and compute alone) and over HTTP."""
    out: dict[str, Any] = {}
    with Clock() as total:
        requests = read_many(raw, RankRequest, "requests")
        batch = MarketFeedbackRequest(requests=requests)
        with Clock() as compute:
            answer = matcher.market_feedback(batch)
        text = answer.model_dump_json()
    out["in_process_s"] = round(total.wall, 2)
    out["in_process_cpu_s"] = round(total.cpu, 2)
    out["compute_s"] = round(compute.wall, 2)
    out["compute_cpu_s"] = round(compute.cpu, 2)
    out["answer_mb"] = round(len(text) / 1e6, 2)
    out["providers"] = len(answer.providers)
    if http:
        body = b'{"requests": [' + b",".join(raw.splitlines()) + b"]}"
        out["http_body_mb"] = round(len(body) / 1e6, 2)
        port = free_port()
        with Server(matcher_command(port, 1), port) as server:
            before = _tree_cpu_s(server)
            with Clock() as wall:
                r = httpx.post(
                    server.base_url + "/v1/feedback/market",
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=300,
                )
            out["http_server_cpu_s"] = round(_tree_cpu_s(server) - before, 2)
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:500]}")
        out["http_s"] = round(wall.wall, 2)
        out["http_server_timing_ms"] = r.headers.get("server-timing", "")
        out["http_equals_in_process"] = r.content == text.encode()
    return out


def _tree_cpu_s(server: Server) -> float:
    """CPU seconds (user + system) of the server process and its children so far."""
    assert server.proc is not None
    root = psutil.Process(server.proc.pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def main(argv: list[str] | None = None) -> int:
    """Run both; print a summary; write JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.market_feedback")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--bids", type=int, default=10)
    parser.add_argument("--rank-bids", type=int, default=50)
    parser.add_argument("--rank-queries", type=int, default=400)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/feedback.json")
    args = parser.parse_args(argv)

    matcher = Matcher(load_snapshot(None))
    rank = bench_rank(matcher, args.rank_bids, args.rank_queries)
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f}")
    print(
        f"rank {rank['requests']} requests (mean {rank['mean_bids']} bids), p50/p95 us: with "
        f"feedback {rank['with_feedback_p50_us']}/{rank['with_feedback_p95_us']}, without "
        f"{rank['without_feedback_p50_us']}/{rank['without_feedback_p95_us']} "
        f"(p50 ratio {rank['p50_ratio']})"
    )
    raw, facts = market_body(matcher, args.requests, args.bids)
    market = bench_market(matcher, raw, not args.skip_http)
    print(
        f"market feedback: {facts['requests']} requests, {facts['bids']} bids "
        f"({facts['requests_with_all_bids']} with {args.bids}), {facts['jsonl_mb']} MB: "
        f"in-process {market['in_process_s']} s wall ({market['in_process_cpu_s']} s CPU; "
        f"compute {market['compute_s']} s), answer {market['answer_mb']} MB, "
        f"{market['providers']} providers"
        + (
            f"; over HTTP {market['http_s']} s end to end ({market['http_server_cpu_s']} s "
            f"server CPU; same bytes: {market['http_equals_in_process']})"
            if "http_s" in market
            else ""
        )
    )
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min": round(os.getloadavg()[0], 2),
            "cpu_steal_percent": steal_percent(),
        },
        "rank": rank,
        "market_input": facts,
        "market": market,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
