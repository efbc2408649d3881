"""HTTP load: `matcher serve` vs a bare FastAPI endpoint, closed and open loop, same run.

    python -m benchmarks.http [--workers 1 2] [--connections 1 8 64] [--duration 10]
                              [--rates auto] [--listings 5000] [--out benchmarks/results/http.json]

For each worker count: the matcher, then the bare baseline (answering a fixed body of the
matcher's median response size), each at every connection count (closed loop, wrk when
installed, else the Python generator) and at fixed request rates (open loop, Python
generator; `auto` = 25/50/75/90% of the matcher's best closed-loop rate). Every step is
capped at `--duration` seconds and `--max-requests` requests; servers listen on 127.0.0.1.
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
from benchmarks.referrals import referral_bodies
from benchmarks.stats import fmt_us, machine, table

PATH = "/v1/shortlist"
DEFAULT_OUT = Path("benchmarks/results/http.json")
EMBEDDED_LISTINGS = 5000
AUTO_FRACTIONS = (0.25, 0.5, 0.75, 0.9)
TARGET_RATIO = 0.65
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


def warm(base_url: str, bodies: list[bytes]) -> list[int]:
    """POST every body twice (first answers warm caches); sizes of the second answers."""
    sizes = []
    for rnd in range(2):
        for body in bodies:
            req = urllib.request.Request(  # noqa: S310 (base_url is http://127.0.0.1:PORT)
                base_url + PATH,
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
    url: str, bodies: list[bytes], conns: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One closed-loop step with the chosen generator."""
    if args.generator == "wrk":
        return wrk.run(url + PATH, bodies, conns, args.duration, args.max_requests)
    return asyncio.run(
        loadgen.closed_loop(
            HOST, int(url.rsplit(":", 1)[1]), PATH, bodies, conns, args.duration, args.max_requests
        )
    )


def open_step(
    url: str, bodies: list[bytes], rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """One open-loop step (Python generator)."""
    return asyncio.run(
        loadgen.open_loop(
            HOST, int(url.rsplit(":", 1)[1]), PATH, bodies, rate, args.duration, args.max_requests
        )
    )


def run_target(
    name: str,
    command: list[str],
    port: int,
    env: dict[str, str],
    bodies: list[bytes],
    args: argparse.Namespace,
    rates: list[float] | None,
) -> dict[str, Any]:
    """Start one server, warm it, run every step, stop it."""
    out: dict[str, Any] = {"target": name, "closed": [], "open": []}
    with Server(command, port, env) as server:
        sizes = warm(server.base_url, bodies)
        out["response_bytes_median"] = int(np.median(sizes))
        for conns in args.connections:
            step = closed_step(server.base_url, bodies, conns, args)
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
            step = open_step(server.base_url, bodies, rate, args)
            log(
                f"{name}: open loop {rate} req/s: achieved {step['rps']}, "
                f"p99 {fmt_us(step['latency'].get('p99_us'))}, errors {step['errors']}"
            )
            out["open"].append(step)
            time.sleep(SETTLE_S)
    out["rates"] = rates
    return out


def verdict(runs: list[dict[str, Any]], connections: int = 64) -> dict[str, Any]:
    """Per worker count: matcher/bare req/s at `connections`, and the matcher's p99 there."""
    out: dict[str, Any] = {}
    for workers in sorted({r["workers"] for r in runs}):
        by = {r["target"]: r for r in runs if r["workers"] == workers}
        m, b = by.get("matcher"), by.get("bare")
        if not m or not b:
            continue
        ms = next((s for s in m["closed"] if s["connections"] == connections), None)
        bs = next((s for s in b["closed"] if s["connections"] == connections), None)
        if not ms or not bs:
            continue
        ratio = ms["rps"] / bs["rps"] if bs["rps"] else 0.0
        p99_ms = ms["latency"]["p99_us"] / 1000
        out[f"workers_{workers}"] = {
            "connections": connections,
            "matcher_rps": ms["rps"],
            "bare_rps": bs["rps"],
            "ratio": round(ratio, 3),
            "ratio_target": TARGET_RATIO,
            "ratio_met": ratio >= TARGET_RATIO,
            "matcher_p99_ms": round(p99_ms, 2),
            "p99_target_ms": TARGET_P99_MS,
            "p99_met": p99_ms <= TARGET_P99_MS,
            "errors": ms["errors"] + bs["errors"],
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
    for key, v in doc["verdict"].items():
        parts.append(
            f"{key}: matcher {v['matcher_rps']} req/s = {v['ratio']:.0%} of bare "
            f"{v['bare_rps']} (target >= {TARGET_RATIO:.0%}: "
            f"{'met' if v['ratio_met'] else 'MISSED'}); p99 {v['matcher_p99_ms']} ms "
            f"at {v['connections']} connections (target <= {TARGET_P99_MS:g} ms: "
            f"{'met' if v['p99_met'] else 'MISSED'})"
        )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run the whole HTTP suite; print tables, write JSON."""
    p = argparse.ArgumentParser(prog="benchmarks.http", description=__doc__)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
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
    bodies = [
        json.dumps(b, separators=(",", ":")).encode() for b in referral_bodies(args.referrals, 0)
    ]
    env = registry_env(args.listings)
    runs: list[dict[str, Any]] = []
    for workers in args.workers:
        log(f"matcher serve, {workers} worker(s), {args.listings:,} listings")
        port = free_port()
        m = run_target(
            "matcher", matcher_command(port, workers), port, env, bodies, args, fixed_rates
        )
        m["workers"] = workers
        runs.append(m)
        if args.no_bare:
            continue
        log(f"bare FastAPI, {workers} worker(s), {m['response_bytes_median']} byte answers")
        port = free_port()
        b = run_target(
            "bare",
            bare_command(port, workers),
            port,
            {"BARE_BODY_BYTES": str(m["response_bytes_median"])},
            bodies,
            args,
            m["rates"],
        )
        b["workers"] = workers
        runs.append(b)
    doc = {
        "suite": "http",
        "machine": machine(),
        "workload": {
            "listings": args.listings,
            "referrals": len(bodies),
            "path": PATH,
            "request_bytes_mean": round(float(np.mean([len(b) for b in bodies]))),
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
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
