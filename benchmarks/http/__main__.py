"""HTTP load: `matcher serve` vs a bare FastAPI endpoint, closed and open loop, same run.

    python -m benchmarks.http [--workers 1 2] [--paths /v1/shortlist /v1/rank]
                              [--connections 1 8 64] [--duration 10] [--rates auto]
                              [--listings 5000] [--out benchmarks/results/http.json]

For each worker count and each path: the matcher, then the bare baseline (parsing the same
request bodies and answering a fixed body of the matcher's median response size for that
path), each at every connection count (closed loop, wrk when installed, else the Python
generator) and at fixed request rates (open loop, Python generator, up to 64 connections;
`auto` = 25/50/75/90% of the matcher's best closed-loop rate). `/v1/shortlist` sends the
40 benchmark referrals; `/v1/rank` sends the same referrals with ~50 bids each on their own
shortlisted listings (`benchmarks.referrals.bids_for`). Every step is capped at `--duration`
seconds and `--max-requests` requests; servers listen on 127.0.0.1.

Targets (issue 15): at 64 connections the matcher's closed-loop req/s is at least 60% of
the bare endpoint's, measured in the same run; its p99 is at most 30 ms under the open-loop
load at 75% of its own best rate with up to 64 connections (a closed loop with 64
connections has a p99 of at least 64 / throughput by Little's law, whatever the server);
0 errors in every step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.http import loadgen, wrk
from benchmarks.http.servers import HOST, ROOT, Server, bare_command, free_port, matcher_command
from benchmarks.referrals import bids_for, referral_bodies
from benchmarks.stats import fmt_us, machine, steal_percent, table
from matcher.vocabulary.catalogue import LOT_CODE

PATHS = ("/v1/shortlist", "/v1/rank")
DEFAULT_OUT = Path("benchmarks/results/http.json")
EMBEDDED_LISTINGS = 5000
EMBEDDED_SEED = 2019  # matcher.service.DEFAULT_SEED
AUTO_FRACTIONS = (0.25, 0.5, 0.75, 0.9)
P99_AT_FRACTION = 0.75
TARGET_RATIO = 0.60
TARGET_P99_MS = 30.0
# After a closed-loop step with many connections the server still works off requests whose
# clients have gone; the next step must not start in that backlog.
SETTLE_S = 2.0


def log(message: str) -> None:
    """Progress to stderr."""
    print(f"[http] {message}", file=sys.stderr, flush=True)


def registry_env(listings: int) -> dict[str, str]:
    """MATCHER_REGISTRY_PATH for a generated snapshot (cached), or nothing for the default."""
    if listings == EMBEDDED_LISTINGS:
        return {}
    path = ROOT / "benchmarks" / "results" / "scratch" / f"registry-{listings}.json.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        log(f"writing a {listings:,}-listing snapshot to {path}")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "matcher.cli.main",
                "demo-registry",
                "--listings",
                str(listings),
                "--seed",
                "2019",
                "--out",
                str(path),
            ],
            check=True,
            cwd=ROOT,
        )
    return {"MATCHER_REGISTRY_PATH": str(path)}


def rank_bodies(referrals: list[dict[str, Any]], listings: int) -> list[bytes]:
    """The referrals with ~50 bids each on their own shortlisted listings (80-100% of the
    ceiling, excluded listings bidding when few are eligible), against the served registry."""
    from matcher.match.request import ShortlistRequest, resolve_criteria
    from matcher.match.shortlist import shortlist
    from matcher.registry.demo import generate
    from matcher.registry.index import RegistryIndex

    index = RegistryIndex.build(generate(listings, EMBEDDED_SEED))
    rng = np.random.default_rng(0)
    out = []
    for body in referrals:
        req = ShortlistRequest.model_validate(body)
        c = resolve_criteria(req, 200.0)
        result = shortlist(index, c, 50, 50)
        rows = np.array([h.row for h in result.shortlist], dtype=np.intp)
        ceilings = index.lot_ceilings[LOT_CODE[c.lot]].pence_on(rows, c.start_date).tolist()
        bids = bids_for(result, ceilings, rng) or [
            {"bid_id": "B000", "listing_id": "L-none", "weekly_fee_gbp": "1000.00"}
        ]
        out.append(json.dumps({**body, "bids": bids}, separators=(",", ":")).encode())
    return out


def warm(base_url: str, path: str, bodies: list[bytes]) -> list[int]:
    """POST every body twice (first answers warm caches); sizes of the second answers."""
    sizes = []
    for rnd in range(2):
        for body in bodies:
            req = urllib.request.Request(  # noqa: S310 (base_url is http://127.0.0.1:PORT)
                base_url + path,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
                data = r.read()
                if r.status != 200:
                    raise RuntimeError(f"warm-up answered {r.status}")
                if rnd:
                    sizes.append(len(data))
    return sizes


def closed_step(
    url: str, path: str, bodies: list[bytes], conns: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One closed-loop step with the chosen generator."""
    if args.generator == "wrk":
        return wrk.run(url + path, bodies, conns, args.duration, args.max_requests)
    return asyncio.run(
        loadgen.closed_loop(
            HOST, int(url.rsplit(":", 1)[1]), path, bodies, conns, args.duration, args.max_requests
        )
    )


def open_step(
    url: str, path: str, bodies: list[bytes], rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """One open-loop step (Python generator, up to 64 connections)."""
    return asyncio.run(
        loadgen.open_loop(
            HOST, int(url.rsplit(":", 1)[1]), path, bodies, rate, args.duration, args.max_requests
        )
    )


def run_target(
    name: str,
    command: list[str],
    port: int,
    env: dict[str, str],
    path: str,
    bodies: list[bytes],
    args: argparse.Namespace,
    rates: list[float] | None,
) -> dict[str, Any]:
    """Start one server, warm it, run every step, stop it."""
    out: dict[str, Any] = {"target": name, "path": path, "closed": [], "open": []}
    with Server(command, port, env) as server:
        sizes = warm(server.base_url, path, bodies)
        out["response_bytes_median"] = int(np.median(sizes))
        for conns in args.connections:
            step = closed_step(server.base_url, path, bodies, conns, args)
            log(
                f"{name}: {conns} connections: {step['rps']} req/s, "
                f"p99 {fmt_us(step['latency'].get('p99_us'))}, errors {step['errors']}"
            )
            out["closed"].append(step)
            time.sleep(SETTLE_S)
        if rates is None:
            best = max(s["rps"] for s in out["closed"])
            rates = [round(best * f, 1) for f in AUTO_FRACTIONS]
        for rate in rates:
            step = open_step(server.base_url, path, bodies, rate, args)
            log(
                f"{name}: open loop {rate} req/s: achieved {step['rps']}, "
                f"p99 {fmt_us(step['latency'].get('p99_us'))}, errors {step['errors']}"
            )
            out["open"].append(step)
            time.sleep(SETTLE_S)
    out["rates"] = rates
    return out


def verdict(runs: list[dict[str, Any]], connections: int = 64) -> dict[str, Any]:
    """Per worker count and path: matcher/bare req/s at `connections` (closed loop), the
    matcher's p99 at 75% of its best rate (open loop), errors in every step."""
    out: dict[str, Any] = {}
    for workers in sorted({r["workers"] for r in runs}):
        for path in sorted({r["path"] for r in runs}):
            by = {r["target"]: r for r in runs if r["workers"] == workers and r["path"] == path}
            m, b = by.get("matcher"), by.get("bare")
            if not m or not b:
                continue
            ms = next((s for s in m["closed"] if s["connections"] == connections), None)
            bs = next((s for s in b["closed"] if s["connections"] == connections), None)
            if not ms or not bs:
                continue
            ratio = ms["rps"] / bs["rps"] if bs["rps"] else 0.0
            best = max(s["rps"] for s in m["closed"])
            paced = min(m["open"], key=lambda s: abs(s["target_rps"] - P99_AT_FRACTION * best),
                        default=None)  # fmt: skip
            p99_ms = paced["latency"]["p99_us"] / 1000 if paced else None
            errors = sum(s["errors"] for r in (m, b) for s in r["closed"] + r["open"])
            out[f"workers_{workers}{path.replace('/', '_')}"] = {
                "workers": workers,
                "path": path,
                "connections": connections,
                "matcher_rps": ms["rps"],
                "bare_rps": bs["rps"],
                "ratio": round(ratio, 3),
                "ratio_target": TARGET_RATIO,
                "ratio_met": ratio >= TARGET_RATIO,
                "closed_loop_p99_ms": round(ms["latency"]["p99_us"] / 1000, 2),
                "paced_rps": paced["target_rps"] if paced else None,
                "matcher_p99_ms": round(p99_ms, 2) if p99_ms is not None else None,
                "p99_target_ms": TARGET_P99_MS,
                "p99_met": p99_ms is not None and p99_ms <= TARGET_P99_MS,
                "errors": errors,
                "errors_met": errors == 0,
            }
    return out


def render(doc: dict[str, Any]) -> str:
    """Readable tables."""
    rows = []
    for r in doc["runs"]:
        for s in r["closed"] + r["open"]:
            lat = s["latency"]
            load = f"{s['connections']} conn" if s["mode"] == "closed" else f"{s['target_rps']}/s"
            rows.append(
                [
                    r["target"],
                    r["path"],
                    r["workers"],
                    s["mode"],
                    load,
                    s["generator"],
                    s["requests"],
                    s["rps"],
                    fmt_us(lat.get("p50_us")),
                    fmt_us(lat.get("p95_us")),
                    fmt_us(lat.get("p99_us")),
                    fmt_us(lat.get("max_us")),
                    s["errors"],
                ]
            )
    parts = [
        table(
            [
                "target",
                "path",
                "workers",
                "mode",
                "load",
                "gen",
                "requests",
                "req/s",
                "p50",
                "p95",
                "p99",
                "max",
                "errors",
            ],
            rows,
        ),
        "",
    ]
    for v in doc["verdict"].values():
        parts.append(
            f"{v['path']}, {v['workers']} worker(s): matcher {v['matcher_rps']} req/s = "
            f"{v['ratio']:.0%} of bare {v['bare_rps']} at {v['connections']} connections "
            f"(target >= {TARGET_RATIO:.0%}: {_pass(v['ratio_met'])}); p99 "
            f"{v['matcher_p99_ms']} ms at {v['paced_rps']} req/s offered, up to 64 "
            f"connections (target <= {TARGET_P99_MS:g} ms: {_pass(v['p99_met'])}); "
            f"errors {v['errors']} ({_pass(v['errors_met'])})"
        )
    return "\n".join(parts)


def _pass(met: bool) -> str:
    return "PASS" if met else "MISS"


def main(argv: list[str] | None = None) -> int:
    """Run the whole HTTP suite; print tables, write JSON."""
    p = argparse.ArgumentParser(prog="benchmarks.http", description=__doc__)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    p.add_argument("--connections", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per step (cap)")
    p.add_argument("--max-requests", type=int, default=200_000, help="requests per step (cap)")
    p.add_argument("--rates", default="auto", help="'auto' or comma-separated req/s")
    p.add_argument("--listings", type=int, default=EMBEDDED_LISTINGS)
    p.add_argument("--referrals", type=int, default=40)
    p.add_argument(
        "--generator",
        choices=["wrk", "python"],
        default=None,
        help="closed-loop generator (default: wrk if installed)",
    )
    p.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    args.generator = args.generator or ("wrk" if wrk.available() else "python")
    fixed_rates = None if args.rates == "auto" else [float(x) for x in args.rates.split(",")]
    referrals = referral_bodies(args.referrals, 0)
    bodies = {"/v1/shortlist": [json.dumps(b, separators=(",", ":")).encode() for b in referrals]}
    if "/v1/rank" in args.paths:
        if args.listings != EMBEDDED_LISTINGS:
            raise SystemExit("/v1/rank bodies are built for the embedded registry only")
        bodies["/v1/rank"] = rank_bodies(referrals, args.listings)
    env = registry_env(args.listings)
    runs: list[dict[str, Any]] = []
    for workers in args.workers:
        for path in args.paths:
            log(f"matcher serve, {workers} worker(s), {args.listings:,} listings, {path}")
            port = free_port()
            m = run_target(
                "matcher", matcher_command(port, workers), port, env, path, bodies[path], args,
                fixed_rates,
            )  # fmt: skip
            m["workers"] = workers
            runs.append(m)
            if args.no_bare:
                continue
            log(f"bare FastAPI, {workers} worker(s), {m['response_bytes_median']} byte answers")
            port = free_port()
            b = run_target(
                "bare", bare_command(port, workers), port,
                {"BARE_BODY_BYTES": str(m["response_bytes_median"])}, path, bodies[path], args,
                m["rates"],
            )  # fmt: skip
            b["workers"] = workers
            runs.append(b)
    doc = {
        "suite": "http",
        "machine": machine(),
        "workload": {
            "listings": args.listings,
            "referrals": len(referrals),
            "paths": list(args.paths),
            "request_bytes_mean": {
                path: round(float(np.mean([len(b) for b in bodies[path]]))) for path in bodies
            },
            "duration_s_per_step": args.duration,
            "max_requests_per_step": args.max_requests,
            "closed_loop_generator": args.generator,
            "open_loop_generator": "python",
        },
        "runs": runs,
        "verdict": verdict(runs, max(args.connections)),
    }
    print(render(doc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc["machine"]["cpu_steal_percent"] = steal_percent()
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
