"""Soak: a bounded run at a fixed rate, mixed endpoints, a snapshot reload every minute.

    python -m benchmarks.soak [--minutes 10] [--rate 40] [--reload-every 60] [--workers 1]

Starts `matcher serve` (127.0.0.1, a free port, admin token set) on a generated 5,000-listing
registry, then sends requests at a fixed rate from a bounded thread pool, cycling through
shortlist (two authorities), rank, compare, authorities, locate, registry and metrics. Every
`--reload-every` seconds it rewrites the registry file, alternating two snapshots, and calls
`POST /v1/admin/reload` (from its own thread, so the request rate does not stall).

Recorded per 10 s window: requests, errors, latency p50/p95/p99/max, and the RSS of the
server and its workers (psutil, summed). Written to `benchmarks/results/soak.json` (summary
and series) and `soak.csv` (one row per window).

Exit 1 when any request fails (transport error, non-2xx, or an answer whose
`snapshot_version` is neither of the two files), when a reload fails, or when RSS grows more
than 10% after warm-up: the median RSS of the minute after warm-up against the highest RSS
of the last minute. Warm-up (default 150 s) covers the first reload of each file: a reload
holds two snapshots for a moment, and the allocator keeps some of those pages for reuse, so
RSS steps up on the first reloads and then stays level; a leak keeps growing.

Bounded: the run stops after `--minutes`, sends at most minutes x 60 x rate requests, and
each request has a 30 s timeout; the server is always terminated.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.http.servers import free_port
from matcher.registry.demo import generate

TOKEN = "soak-admin-token"  # noqa: S105  (a throwaway token for a loopback test server)
WINDOW_S = 10.0
RSS_LIMIT = 0.10
LISTINGS = 5000

SHORTLIST: dict[str, Any] = {
    "referral_id": "SOAK-1",
    "placing_authority": "Harrow",
    "dpv": "residential",
    "lot": "standard",
    "child": {"age": 14, "gender": "male", "needs": []},
    "start_date": "2026-12-01",
    "max_distance_miles": 20,
}


def write_registry(path: Path, seed: int) -> str:
    """Write a generated registry; return its snapshot version."""
    registry = generate(LISTINGS, seed)
    path.write_text(json.dumps(registry.snapshot_dict()))
    return registry.version


def request_mix(client: httpx.Client, url: str) -> list[tuple[str, str, Any]]:
    """The requests cycled through: bids are for real shortlisted listings."""
    found = client.post(f"{url}/v1/shortlist", json=SHORTLIST).json()["shortlist"][:5]
    bids = [
        {
            "bid_id": f"S{i}",
            "listing_id": e["listing_id"],
            "weekly_fee_gbp": e["ceiling_weekly_gbp"],
        }
        for i, e in enumerate(found)
    ]
    rank = dict(SHORTLIST, bids=bids, order_by="best_match")
    return [
        ("POST", "/v1/shortlist", SHORTLIST),
        ("POST", "/v1/shortlist", dict(SHORTLIST, placing_authority="Cornwall", dpv="fostering")),
        ("POST", "/v1/rank", rank),
        ("POST", "/v1/rank/compare", {"request": rank, "a": {"profile": "balanced"},
                                      "b": {"profile": "cost_focused"}}),
        ("GET", "/v1/authorities?q=Hull", None),
        ("GET", "/v1/locate?q=IG11", None),
        ("GET", "/v1/registry", None),
        ("GET", "/metrics", None),
    ]  # fmt: skip


def tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and all its descendants (the supervisor and its workers), bytes."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a worker that exited between listing and asking
            continue
    return total


@dataclass
class Record:
    """What the run saw (appended from many threads under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (t_s, s, status)
    errors: list[str] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    reloads: list[tuple[float, int, float]] = field(default_factory=list)  # (t_s, status, s)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    """Poll /readyz until 200; fail if the server exits or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"matcher serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("matcher serve not ready within the deadline")


def run(args: argparse.Namespace, url: str, server: psutil.Process, files: list[Path],
        live: Path, versions: set[str]) -> Record:  # fmt: skip
    """Drive the server for `args.minutes`; return what was recorded."""
    record = Record()
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=args.concurrency))
    mix = request_mix(client, url)
    started = time.monotonic()
    end = started + args.minutes * 60

    def one(i: int) -> None:
        method, path, body = mix[i % len(mix)]
        t0 = time.monotonic()
        problem = None
        try:
            r = client.request(method, url + path, json=body)
            status = r.status_code
            if status >= 300:
                problem = f"{path}: {status}"
            elif path != "/metrics" and "snapshot_version" in r.text:
                version = r.json().get("snapshot_version")
                if version is not None and version not in versions:
                    problem = f"{path}: unknown snapshot_version {version}"
        except httpx.HTTPError as exc:
            status, problem = 0, f"{path}: {type(exc).__name__}"
        with record.lock:
            record.samples.append((t0 - started, time.monotonic() - t0, status))
            if problem:
                record.errors.append(problem)

    def reload(n: int) -> None:
        live.write_bytes(files[n % 2].read_bytes())
        t0 = time.monotonic()
        try:
            r = client.post(f"{url}/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
            status = r.status_code
        except httpx.HTTPError:
            status = 0
        with record.lock:
            record.reloads.append((t0 - started, status, time.monotonic() - t0))
            if status != 200:
                record.errors.append(f"reload {n}: {status}")

    reloader: threading.Thread | None = None
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        i = 0
        reloads = 0
        next_sample = started
        next_reload = started + args.reload_every
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                record.rss.append((now - started, tree_rss(server)))
                next_sample += WINDOW_S
            if now >= next_reload and (reloader is None or not reloader.is_alive()):
                reloads += 1
                reloader = threading.Thread(target=reload, args=(reloads,), daemon=True)
                reloader.start()
                next_reload += args.reload_every
            pool.submit(one, i)
            i += 1
            time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
    if reloader is not None:
        reloader.join(timeout=60)
    record.rss.append((time.monotonic() - started, tree_rss(server)))
    client.close()
    return record


def percentile(sorted_values: list[float], p: float) -> float:
    """The p-quantile (nearest rank) in milliseconds."""
    if not sorted_values:
        return float("nan")
    return round(1000 * sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))], 2)


def summarise(args: argparse.Namespace, record: Record) -> dict[str, Any]:
    """The JSON summary and series."""
    mb = 2**20
    after = [m for t, m in record.rss if args.warmup_s <= t < args.warmup_s + 60]
    last = [m for t, m in record.rss if t >= args.minutes * 60 - 60]
    baseline = statistics.median(after) if after else record.rss[0][1]
    final = max(last) if last else record.rss[-1][1]
    growth = (final - baseline) / baseline
    windows = []
    for w in range(int(args.minutes * 60 / WINDOW_S)):
        lo, hi = w * WINDOW_S, (w + 1) * WINDOW_S
        inside = sorted(s[1] for s in record.samples if lo <= s[0] < hi)
        errors = sum(1 for s in record.samples if lo <= s[0] < hi and not 200 <= s[2] < 300)
        rss = [m for t, m in record.rss if lo <= t < hi]
        windows.append({
            "t_s": lo, "requests": len(inside), "errors": errors,
            "p50_ms": percentile(inside, 0.5), "p95_ms": percentile(inside, 0.95),
            "p99_ms": percentile(inside, 0.99), "max_ms": percentile(inside, 1.0),
            "rss_mb": round(rss[0] / mb, 1) if rss else None,
        })  # fmt: skip
    latencies = sorted(s[1] for s in record.samples)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "workers": args.workers,
        "listings": LISTINGS,
        "reload_every_s": args.reload_every,
        "warmup_s": args.warmup_s,
        "requests": len(record.samples),
        "achieved_rate_per_s": round(len(record.samples) / (args.minutes * 60), 2),
        "errors": len(record.errors),
        "error_examples": record.errors[:10],
        "reloads": len(record.reloads),
        "reloads_ok": sum(1 for _, status, _ in record.reloads if status == 200),
        "reload_s_max": round(max((d for _, _, d in record.reloads), default=0.0), 2),
        "rss_mb_first": round(record.rss[0][1] / mb, 1),
        "rss_mb_baseline_after_warmup": round(baseline / mb, 1),
        "rss_mb_end_max": round(final / mb, 1),
        "rss_growth": round(growth, 4),
        "rss_limit": RSS_LIMIT,
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": percentile(latencies, 1.0),
        },
        "rss_series_mb": [(round(t), round(m / mb, 1)) for t, m in record.rss],
        "windows": windows,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the summary; write JSON and CSV; exit 1 on errors or RSS growth."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--reload-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--warmup-s", type=float, default=150.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--out", default="benchmarks/results/soak.json")
    args = parser.parse_args(argv)
    if args.minutes * 60 < args.warmup_s + 120:
        parser.error("--minutes must leave two minutes after --warmup-s")

    tmp = Path(tempfile.mkdtemp(prefix="matcher-soak-"))
    files = [tmp / "a.json", tmp / "b.json"]
    versions = {write_registry(files[0], 1), write_registry(files[1], 2)}
    live = tmp / "registry.json"
    live.write_bytes(files[0].read_bytes())
    port = free_port()
    env = {**os.environ, "MATCHER_REGISTRY_PATH": str(live), "MATCHER_ADMIN_TOKEN": TOKEN,
           "MATCHER_PORT": str(port), "MATCHER_HOST": "127.0.0.1",
           "MATCHER_WORKERS": str(args.workers), "MATCHER_LOG_LEVEL": "warning"}  # fmt: skip
    script = Path(sys.executable).parent / "matcher"
    proc = subprocess.Popen(
        [str(script), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        record = run(args, url, psutil.Process(proc.pid), files, live, versions)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    result = summarise(args, record)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    with out.with_suffix(".csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(result["windows"][0]))
        writer.writeheader()
        writer.writerows(result["windows"])
    print(json.dumps({k: v for k, v in result.items() if k not in ("rss_series_mb", "windows")}))
    return 0 if not record.errors and result["rss_growth"] <= RSS_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
