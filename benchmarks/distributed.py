"""Sufficiency in-process vs on a Dask LocalCluster, at 10^5 and 10^6 referrals.

    python -m benchmarks.distributed [--listings 20000] [--referrals 100000 1000000]
        [--workers 2] [--radii 20 50]

A seeded registry (`generate(listings, 0)`, indexed once) and seeded demo referrals
(`generate_referrals(n, 7)`, validated into requests before any timing). For each size:

- in-process: `analyse` with its default threads (one per core, at most 4);
- distributed: `analyse_distributed` on a LocalCluster of `--workers` single-threaded
  worker processes on 127.0.0.1 (started before the timing; the timing includes
  partitioning, scattering the index to every worker, shipping the requests and gathering
  the figures);
- the two answers compared referral by referral (they must be equal: exit 1 otherwise).

On one machine the cluster shares its cores with the client, so it shows the overhead of
distribution, not a speed-up; the speed-up is workers on other machines. Writes
benchmarks/results/distributed.json and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from benchmarks.stats import machine, rss_bytes, table
from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.distributed import analyse_distributed
from matcher.batch.sufficiency import analyse
from matcher.match.request import ShortlistRequest
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex

RESULTS = Path(__file__).resolve().parent / "results" / "distributed.json"
MAX_RADIUS = 200.0


def run_size(client: Client, index: RegistryIndex, n: int, radii: list[float]) -> dict[str, Any]:
    """Time both paths on `n` referrals; compare them."""
    t0 = time.perf_counter()
    requests = [ShortlistRequest.model_validate(r) for r in generate_referrals(n, 7)]
    parse_s = time.perf_counter() - t0
    gc.collect()
    t0 = time.perf_counter()
    local = analyse(index, requests, radii, MAX_RADIUS)
    local_s = time.perf_counter() - t0
    stats: dict[str, Any] = {}
    t0 = time.perf_counter()
    remote = analyse_distributed(client, index, requests, radii, MAX_RADIUS, stats=stats)
    remote_s = time.perf_counter() - t0
    identical = remote == local
    row = {
        "referrals": n,
        "parse_s": round(parse_s, 1),
        "in_process_s": round(local_s, 1),
        "distributed_s": round(remote_s, 1),
        "ratio": round(remote_s / local_s, 2),
        "identical": identical,
        "rss_client_gib": round(rss_bytes() / 2**30, 2),
        **stats,
    }
    del requests, local, remote
    gc.collect()
    return row


def main(argv: list[str] | None = None) -> int:
    """Run every size; write results/distributed.json; 1 if any answer differed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listings", type=int, default=20_000)
    ap.add_argument("--referrals", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--radii", type=float, nargs="+", default=[20.0, 50.0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    radii = sorted(set(args.radii))
    t0 = time.perf_counter()
    index = RegistryIndex.build(generate(args.listings, 0), None, "strtree")
    build_s = time.perf_counter() - t0
    rows = []
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # never the fixed 8787: another run may hold it
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(args.workers)
        cluster_s = time.perf_counter() - t0
        for n in args.referrals:
            rows.append(run_size(client, index, n, radii))
            print(json.dumps(rows[-1]), flush=True)
    headers = ["referrals", "in-process s", "distributed s", "ratio", "identical", "partitions"]
    keys = ("referrals", "in_process_s", "distributed_s", "ratio", "identical", "partitions")
    print(table(headers, [[r.get(k) for k in keys] for r in rows]))
    record = {
        "machine": machine(),
        # Other work shares these 2 cores: the 1/5/15-minute load averages at the end.
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "listings": args.listings,
        "index_build_s": round(build_s, 2),
        "workers": args.workers,
        "cluster_start_s": round(cluster_s, 2),
        "radii_miles": radii,
        "sizes": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
