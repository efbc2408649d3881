"""`python -m benchmarks.replicas`: matcher replicas behind haproxy on 127.0.0.1.

    python -m benchmarks.replicas [--replicas 1 2 4] [--rates 100 200 300 400 500]
        [--step-seconds 10] [--update-rate 100] [--listings 5000]

Installs haproxy from Debian when it is missing (as root). Starts N `matcher serve`
replicas (one worker each, their own snapshot file) behind haproxy and runs, all on
127.0.0.1:

1. for each replica count, each fixed rate for `--step-seconds`: failed requests, answers
   with an unexpected snapshot_version, achieved req/s, p50/p99 latency (from when each
   request was due);
2. a rolling snapshot update of the largest fleet under `--update-rate`: every replica in
   turn drained, replaced on the new snapshot, readmitted;
3. one replica of the largest fleet SIGKILLed under `--update-rate`.

Prints tables, writes benchmarks/results/replicas.json, exits 1 when a fixed-rate step or
the rolling update failed any request, saw an unexpected version, or a pinned client saw the
old version after the new one. The kill's failures are counted, not failed on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.replicas.balancer import haproxy_binary
from benchmarks.replicas.scenarios import kill, make_snapshots, rolling_update, scaling
from benchmarks.stats import machine, table

RESULTS = Path(__file__).resolve().parents[1] / "results" / "replicas.json"


def main(argv: list[str] | None = None) -> int:
    """Run the three scenarios; write the results; 0 when nothing failed that must not."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--rates", type=float, nargs="+", default=[100, 200, 300, 400, 500])
    ap.add_argument("--step-seconds", type=float, default=10.0)
    ap.add_argument("--update-rate", type=float, default=100.0)
    ap.add_argument("--listings", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    haproxy = haproxy_binary()
    with tempfile.TemporaryDirectory(prefix="matcher-snapshots-") as tmp:
        snapshots = make_snapshots(Path(tmp), args.listings)
        rows: list[dict[str, Any]] = []
        for n in args.replicas:
            rows += scaling(snapshots, n, args.rates, args.step_seconds)
            print(json.dumps(rows[-1]), flush=True)
        largest = max(args.replicas)
        update = rolling_update(snapshots, largest, args.update_rate)
        print(json.dumps(update), flush=True)
        killed = kill(snapshots, largest, args.update_rate)
        print(json.dumps(killed), flush=True)
    headers = ["replicas", "rate", "requests", "failed", "bad version", "req/s", "p50 ms"]
    headers += ["p99 ms", "max ms"]
    keys = ("replicas", "rate", "requests", "failed", "unexpected_version", "req_per_s")
    keys += ("p50_ms", "p99_ms", "max_ms")
    print(table(headers, [[r[k] for k in keys] for r in rows]))
    print(
        f"rolling update of {largest} replicas at {args.update_rate} req/s: "
        f"{update['requests']} requests, {update['failed']} failed, "
        f"{update['unexpected_version']} unexpected versions, pinned clients backwards "
        f"{update['pinned_clients_backwards']} of {update['pinned_clients']}, unpinned "
        f"{update['unpinned_clients_backwards']} of "
        f"{update['clients'] - update['pinned_clients']}, p99 {update['p99_ms']} ms"
    )
    print(
        f"kill of {killed['killed']} under {args.update_rate} req/s: {killed['requests']} "
        f"requests, {killed['failed']} failed ({killed['failed_before_marked_down']} before "
        f"haproxy marked it down after {killed['seconds_until_marked_down']} s, "
        f"{killed['failed_after_marked_down']} after)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": machine(),
        # Other work shares these 2 cores: the 1/5/15-minute load averages at the end.
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "haproxy": haproxy,
        "listings": args.listings,
        "step_seconds": args.step_seconds,
        "scaling": rows,
        "rolling_update": update,
        "kill": killed,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    bad = any(r["failed"] or r["unexpected_version"] for r in rows)
    bad |= bool(update["failed"] or update["unexpected_version"])
    bad |= bool(update["pinned_clients_backwards"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
