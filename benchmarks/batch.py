"""Batch benchmarks: allocation solve time and gain over greedy; sufficiency throughput.

    python -m benchmarks.batch [--only allocation|sufficiency] [--sizes 50 200 500]
                               [--bids-each 40] [--radius 40] [--budget-share 0.8]
                               [--listings 100000] [--referrals 10000] [--baseline 300]
                               [--out benchmarks/results/batch.json]

Allocation: 50, 200 and 500 residential referrals from five dense authorities, up to 40 bids
each on listings of their shortlist within 40 miles (fees 80-100% of the ceiling), against
the embedded 5,000-listing registry, so that referrals compete for the same one- and two-bed
vacancies (500 x 40 is the 20,000 bids of issue 19). Timed apart: ranking every bid
(validate, price, score), then the MILP stages for each objective, without a budget and
with one of `--budget-share` (0.8) times the cost of greedy's cheapest plan, which binds;
then the greedy plan and the gain.
Then the largest size end to end through `Matcher.allocate`, budgeted max_match, within each
of `--limits` seconds (ranking and every stage): status, stage stopped in, time.
Sufficiency: N demo referrals (a third from postcode districts) against a generated
100k-listing registry, index built and warmed apart; timed end to end (resolve, spatial
queries, criteria, aggregates, response model) and serialisation apart. Baseline: the
same counts one referral at a time through `Matcher.shortlist` at each radius, on the first
`--baseline` referrals, extrapolated. Wall and CPU seconds both (the machines are shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from matcher.batch.allocation import build_problem
from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.models import AllocateRequest
from matcher.batch.solver import Option, greedy_plan, solve_stages
from matcher.batch.sufficiency_report import sufficiency_response
from matcher.match.request import ShortlistRequest
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.service import Limits, Matcher, Snapshot, load_snapshot
from matcher.vocabulary.errors import TimeLimitExceededError
from matcher.vocabulary.money import format_pence, to_pence

DENSE = ["Birmingham", "Leeds", "Manchester", "Kent", "Essex"]


class Clock:
    """Wall and process CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def allocation_case(
    matcher: Matcher, n: int, bids_each: int, seed: int, radius_miles: float = 25.0
) -> AllocateRequest:
    """n residential referrals from dense authorities, each bidding on up to `bids_each`
    listings of its shortlist within `radius_miles`."""
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
            "max_distance_miles": radius_miles,
            "limit": max(40, bids_each),
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
    return AllocateRequest.model_validate({"referrals": referrals})


def plan_value(options: list[Option], plan: list[int]) -> tuple[int, int, float]:
    """Referrals placed, total cost in pence and total score of a plan (option positions)."""
    picked = [options[k] for k in plan]
    return len(picked), sum(o.cost_pence for o in picked), sum(o.score_micro for o in picked) / 1e6


def bench_allocation(
    sizes: list[int], bids_each: int, radius_miles: float, budget_share: float
) -> list[dict[str, Any]]:
    """Rank and solve time per size, objective and budget, with greedy's result beside."""
    matcher = Matcher(load_snapshot(None))
    rows = []
    for n in sizes:
        req = allocation_case(matcher, n, bids_each, seed=n, radius_miles=radius_miles)
        with Clock() as ranking:
            problem = build_problem(matcher, req)
        cheapest = greedy_plan(problem.options, n, problem.vacancies, "min_cost", None)
        binding = int(plan_value(problem.options, cheapest)[1] * budget_share)
        for budget in (None, binding):
            for objective in ("min_cost", "max_match"):
                with Clock() as solving:
                    solution = solve_stages(problem.options, problem.vacancies, objective, budget)
                chosen = solution.chosen
                greedy = greedy_plan(problem.options, n, problem.vacancies, objective, budget)
                opt, gre = plan_value(problem.options, chosen), plan_value(problem.options, greedy)
                rows.append(
                    {
                        "referrals": n,
                        "bids": sum(len(r.bids) for r in req.referrals),
                        "valid_bids": len(problem.options),
                        "objective": objective,
                        "budget_gbp": None if budget is None else format_pence(budget),
                        "rank_s": round(ranking.wall, 3),
                        "solve_s": round(solving.wall, 3),
                        "solve_cpu_s": round(solving.cpu, 3),
                        "stage_s": [round(st.seconds, 3) for st in solution.stages],
                        "status": solution.status,
                        "placed": opt[0],
                        "greedy_placed": gre[0],
                        "cost_gbp": format_pence(opt[1]),
                        "greedy_cost_gbp": format_pence(gre[1]),
                        "score": round(opt[2], 6),
                        "greedy_score": round(gre[2], 6),
                    }
                )
                print(_row(rows[-1]), flush=True)
    return rows


ALLOCATION_COLUMNS = (
    # (header, key, width)
    ("refs", "referrals", 5), ("bids", "valid_bids", 6), ("objective", "objective", 9),
    ("budget", "budget_gbp", 12), ("rank s", "rank_s", 7), ("solve s", "solve_s", 8),
    ("placed", "placed", 7), ("greedy", "greedy_placed", 7), ("cost GBP", "cost_gbp", 12),
    ("greedy GBP", "greedy_cost_gbp", 12), ("score", "score", 9), ("greedy", "greedy_score", 9),
)  # fmt: skip


def _row(r: dict[str, Any]) -> str:
    return " ".join(f"{r[k]!s:>{w}}" for _, k, w in ALLOCATION_COLUMNS)


def bench_bounded(
    n: int, bids_each: int, radius_miles: float, budget_share: float, limits_s: list[float]
) -> list[dict[str, Any]]:
    """The issue's request end to end through `Matcher.allocate` (ranking and every stage
    within one time limit): max_match within a binding budget, at each limit."""
    snapshot = load_snapshot(None)
    req = allocation_case(Matcher(snapshot), n, bids_each, seed=n, radius_miles=radius_miles)
    problem = build_problem(Matcher(snapshot), req)
    cheapest = greedy_plan(problem.options, n, problem.vacancies, "min_cost", None)
    budget = format_pence(int(plan_value(problem.options, cheapest)[1] * budget_share))
    req = req.model_copy(update={"objective": "max_match", "budget_gbp": budget})
    rows = []
    for limit in limits_s:
        matcher = Matcher(snapshot, limits=Limits(allocation_time_limit_s=limit))
        with Clock() as wall:
            try:
                run = matcher.allocate(req)
                solver = run.answer.solver
                row = {
                    "status": solver.status,
                    "stopped_in": solver.stopped_in,
                    "rank_s": round(run.rank_s, 3),
                    "solve_s": round(run.solve_s, 3),
                    "placed": run.answer.optimal.placed,
                    "guarantee": solver.guarantee,
                }
            except TimeLimitExceededError as exc:
                row = {"status": exc.code, "stopped_in": exc.stage, "guarantee": exc.message}
        rows.append({"referrals": n, "budget_gbp": budget, "time_limit_s": limit,
                     "seconds": round(wall.wall, 3), **row})  # fmt: skip
        print(f"limit {limit:g} s: {rows[-1]['seconds']} s, {rows[-1]['status']}: "
              f"{rows[-1]['guarantee']}", flush=True)  # fmt: skip
    return rows


def bench_sufficiency(listings: int, referrals: int, baseline: int) -> dict[str, Any]:
    """The batch path end to end, and the one-at-a-time baseline on a prefix."""
    with Clock() as build:
        index = RegistryIndex.build(generate(listings, 1))
        _ = index.authority_positions
    bodies = generate_referrals(referrals, seed=3)
    with Clock() as parse:
        requests = [ShortlistRequest.model_validate(b) for b in bodies]
    sufficiency_response(index, "bench", requests[:200], [20, 50], 100_000, 200)  # warm caches
    with Clock() as batch:
        answer = sufficiency_response(index, "bench", requests, [20, 50], 100_000, 200)
    with Clock() as dump:
        text = answer.model_dump_json()
    matcher = Matcher(Snapshot(index=index, source="bench"))
    prefix = requests[:baseline]
    with Clock() as one_by_one:
        for req in prefix:
            for radius in (20.0, 50.0):
                matcher.shortlist(req.model_copy(update={"max_distance_miles": radius, "limit": 1}))
    origins = len({(r.origin.model_dump_json() if r.origin else r.placing_authority)
                   for r in requests})  # fmt: skip
    agg = answer.aggregates
    return {
        "referrals": referrals,
        "listings": listings,
        "distinct_origins": origins,
        "index_build_s": round(build.wall, 2),
        "parse_s": round(parse.wall, 3),
        "seconds": round(batch.wall, 3),
        "cpu_seconds": round(batch.cpu, 3),
        "serialise_s": round(dump.wall, 3),
        "response_mb": round(len(text) / 1e6, 2),
        "baseline_per_referral_ms": round(1000 * one_by_one.wall / len(prefix), 2),
        "baseline_extrapolated_s": round(one_by_one.wall / len(prefix) * referrals, 1),
        "overall": agg.overall.model_dump(),
        "thin_by_dpv_lot": {k: g.thin_market_share for k, g in agg.by_dpv_lot.items()},
    }


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks; print a table; write JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    parser.add_argument("--only", choices=["allocation", "sufficiency"], default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--bids-each", type=int, default=40)
    parser.add_argument("--radius", type=float, default=40.0, help="allocation radius, miles")
    parser.add_argument("--budget-share", type=float, default=0.8)
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 6.0, 3.0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=300)
    parser.add_argument("--out", default="benchmarks/results/batch.json")
    args = parser.parse_args(argv)

    allocation: list[dict[str, Any]] = []
    bounded: list[dict[str, Any]] = []
    if args.only in (None, "allocation"):
        print(
            f"allocation (embedded 5,000-listing registry, up to {args.bids_each} bids per "
            f"referral within {args.radius:g} miles)"
        )
        print(" ".join(f"{h:>{w}}" for h, _, w in ALLOCATION_COLUMNS))
        allocation = bench_allocation(args.sizes, args.bids_each, args.radius, args.budget_share)
        print(f"\nend to end, {max(args.sizes)} referrals, budgeted max_match, at each time limit")
        bounded = bench_bounded(max(args.sizes), args.bids_each, args.radius,
                                args.budget_share, args.limits)  # fmt: skip

    suff: dict[str, Any] = {}
    if args.only in (None, "sufficiency"):
        suff = bench_sufficiency(args.listings, args.referrals, args.baseline)
        print(
            f"\nsufficiency: {suff['referrals']} referrals ({suff['distinct_origins']} origins)"
            f" x {suff['listings']} listings: {suff['seconds']:.2f} s wall, "
            f"{suff['cpu_seconds']:.2f} s CPU (+ {suff['serialise_s']:.2f} s to JSON, "
            f"{suff['response_mb']} MB; parse {suff['parse_s']:.2f} s and index "
            f"{suff['index_build_s']:.1f} s apart)\n"
            f"baseline, shortlist one referral at a time at each radius: "
            f"{suff['baseline_per_referral_ms']} ms per referral, about "
            f"{suff['baseline_extrapolated_s']} s for all; thin-market share "
            f"{suff['overall']['thin_market_share']}"
        )
    measured = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min": round(os.getloadavg()[0], 2),
        },
    }
    out = Path(args.out)
    # --only keeps the other suite's last results in the file (each with its own date).
    result = json.loads(out.read_text()) if args.only and out.exists() else {}
    if "date" in result:  # the earlier layout: one date for both suites
        stamp = {"date": result.pop("date"), "machine": result.pop("machine", None)}
        for suite in ("allocation", "sufficiency"):
            result.setdefault(f"{suite}_measured", stamp)
    if allocation:
        result["allocation_measured"] = measured
        result["allocation"] = allocation
        result["allocation_bounded"] = bounded
    if suff:
        result["sufficiency_measured"] = measured
        result["sufficiency"] = suff
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
