"""Batch benchmarks: allocation solve time and sufficiency throughput.

    python -m benchmarks.batch [--listings 100000] [--referrals 10000] [--out FILE]

Allocation: 10, 50 and 200 referrals with 10 bids each, drawn from the shortlists of demo
referrals in a few dense authorities so that referrals compete for the same vacancies;
reports MILP time (including ranking every bid) and the gain over the greedy plan.
Sufficiency: N demo referrals against a generated registry, end to end (resolve, query,
criteria, aggregates). Seeded throughout; prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from matcher.allocation import allocate
from matcher.batch_requests import AllocateRequest
from matcher.demo_referrals import generate_referrals
from matcher.demo_registry import generate
from matcher.index import RegistryIndex
from matcher.money import format_pence, to_pence
from matcher.requests import ShortlistRequest
from matcher.service import Matcher, Snapshot
from matcher.sufficiency import sufficiency_answer

DENSE = ["Birmingham", "Leeds", "Manchester", "Kent", "Essex"]


def allocation_case(matcher: Matcher, n: int, bids_each: int, seed: int) -> AllocateRequest:
    """n residential referrals from dense authorities, each bidding on 10 nearby listings."""
    rng = np.random.default_rng(seed)
    referrals = []
    for i in range(n):
        body: dict[str, Any] = {
            "referral_id": f"A-{i:04d}",
            "placing_authority": DENSE[i % len(DENSE)],
            "dpv": "residential",
            "lot": "standard",
            "child": {"age": int(rng.integers(11, 17)), "gender": "male", "needs": []},
            "start_date": "2026-12-01",
            "max_distance_miles": 25,
            "limit": 40,
            "explain": False,
        }
        short = matcher.shortlist(ShortlistRequest.model_validate(body)).shortlist
        picks = rng.permutation(len(short))[:bids_each]
        body["bids"] = [
            {
                "bid_id": f"B{i:04d}-{j}",
                "listing_id": short[k].listing_id,
                "weekly_fee_gbp": format_pence(
                    int(to_pence(short[k].ceiling_weekly_gbp) * rng.uniform(0.8, 1.0))
                ),
            }
            for j, k in enumerate(picks.tolist())
        ]
        referrals.append(body)
    return AllocateRequest.model_validate({"referrals": referrals, "objective": "min_cost"})


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks; print a table; write JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--out", default="benchmarks/results/batch.json")
    args = parser.parse_args(argv)

    small = Matcher(Snapshot(index=RegistryIndex.build(generate(5000, 2019)), source="bench"))
    rows = []
    for n in args.sizes:
        req = allocation_case(small, n, 10, seed=n)
        started = time.perf_counter()
        plan = allocate(small, req, max_referrals=10_000)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "referrals": n,
                "bids": sum(len(r.bids) for r in req.referrals),
                "seconds": round(seconds, 3),
                "placed": plan["optimal"]["placed"],
                "greedy_placed": plan["greedy"]["placed"],
                "gain": plan["gain"],
            }
        )
        print(
            f"allocate {n:4d} referrals x 10 bids: {seconds:7.3f} s  placed "
            f"{plan['optimal']['placed']} (greedy {plan['greedy']['placed']}), "
            f"saved GBP {plan['gain']['cost_saved_gbp']}"
        )

    t0 = time.perf_counter()
    index = RegistryIndex.build(generate(args.listings, 1))
    _ = index.authority_codes
    build_s = time.perf_counter() - t0
    bodies = generate_referrals(args.referrals, seed=3)
    requests = [ShortlistRequest.model_validate(b) for b in bodies]
    started = time.perf_counter()
    answer = sufficiency_answer(index, "bench", requests, [20, 50], 100_000, 200)
    suff_s = time.perf_counter() - started
    overall = answer["aggregates"]["overall"]
    print(
        f"sufficiency {args.referrals} referrals x {args.listings} listings: {suff_s:.2f} s "
        f"(registry+index {build_s:.1f} s apart); thin share {overall['thin_market_share']}"
    )
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "allocation": rows,
        "sufficiency": {
            "referrals": args.referrals,
            "listings": args.listings,
            "seconds": round(suff_s, 3),
            "overall": overall,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
