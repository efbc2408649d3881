"""Soak: a bounded run at a fixed rate, mixed endpoints, reloads every minute.

    python -m benchmarks.soak [--minutes 10] [--rate 40] [--out benchmarks/results/soak.json]

Starts `matcher serve` (loopback, admin token set) on a generated registry, then sends
requests at a fixed rate (shortlist, rank, compare, authorities, locate, registry, metrics)
from a small thread pool, reloading the snapshot every minute (alternating two files).
Records server RSS and latency per 10 s window. Fails (exit 1) when any request errors or
RSS grows more than 10% between the end of warm-up and the end of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil

from matcher.demo_registry import generate

TOKEN = "soak-admin-token"  # noqa: S105 - a throwaway token for a loopback test server
WARMUP_S = 60.0
WINDOW_S = 10.0


def _write(path: Path, seed: int) -> None:
    path.write_text(json.dumps(generate(5000, seed).snapshot_dict()))


def _requests(shortlist: dict[str, Any]) -> list[tuple[str, str, Any]]:
    rank = dict(
        shortlist, bids=[{"bid_id": "S1", "listing_id": "L0000001", "weekly_fee_gbp": "3000.00"}]
    )
    return [
        ("POST", "/v1/shortlist", shortlist),
        ("POST", "/v1/shortlist", dict(shortlist, placing_authority="Cornwall")),
        ("POST", "/v1/rank", rank),
        (
            "POST",
            "/v1/rank/compare",
            {"request": rank, "a": {"profile": "balanced"}, "b": {"profile": "cost_focused"}},
        ),
        ("GET", "/v1/authorities?q=Hull", None),
        ("GET", "/v1/locate?q=IG11", None),
        ("GET", "/v1/registry", None),
        ("GET", "/metrics", None),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print a summary; write JSON; exit 1 on errors or RSS growth."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--port", type=int, default=8911)
    parser.add_argument("--out", default="benchmarks/results/soak.json")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="matcher-soak-"))
    files = [tmp / "a.json", tmp / "b.json"]
    _write(files[0], 1)
    _write(files[1], 2)
    live = tmp / "registry.json"
    live.write_bytes(files[0].read_bytes())
    env = {
        **os.environ,
        "MATCHER_REGISTRY_PATH": str(live),
        "MATCHER_ADMIN_TOKEN": TOKEN,
        "MATCHER_PORT": str(args.port),
        "MATCHER_HOST": "127.0.0.1",
        "MATCHER_LOG_LEVEL": "warning",
    }
    script = Path(sys.executable).parent / "matcher"
    proc = subprocess.Popen(
        [str(script), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        shortlist = {
            "referral_id": "SOAK",
            "placing_authority": "Harrow",
            "dpv": "residential",
            "lot": "standard",
            "child": {"age": 14, "gender": "male", "needs": []},
            "start_date": "2026-12-01",
            "max_distance_miles": 20,
        }
        mix = _requests(shortlist)
        lock = threading.Lock()
        samples: list[tuple[float, float, int]] = []  # (t, latency_s, status)
        errors: list[str] = []
        server = psutil.Process(proc.pid)
        rss: list[tuple[float, int]] = []
        started = time.monotonic()
        end = started + args.minutes * 60
        client = httpx.Client(timeout=30)

        def one(i: int) -> None:
            method, path, body = mix[i % len(mix)]
            t0 = time.monotonic()
            try:
                r = client.request(method, url + path, json=body)
                status = r.status_code
            except httpx.HTTPError as exc:
                status = 0
                with lock:
                    errors.append(f"{path}: {type(exc).__name__}")
            with lock:
                samples.append((t0 - started, time.monotonic() - t0, status))
                if status >= 400 or status == 0:
                    errors.append(f"{path}: {status}")

        reloads = 0
        next_reload = started + 60
        with ThreadPoolExecutor(max_workers=8) as pool:
            i = 0
            next_sample = started
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_sample:
                    rss.append((now - started, server.memory_info().rss))
                    next_sample += WINDOW_S
                if now >= next_reload:
                    live.write_bytes(files[(reloads + 1) % 2].read_bytes())
                    r = client.post(
                        f"{url}/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                    if r.status_code != 200:
                        errors.append(f"reload: {r.status_code}")
                    reloads += 1
                    next_reload += 60
                pool.submit(one, i)
                i += 1
                time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
        client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    after_warmup = [m for t, m in rss if t >= WARMUP_S] or [m for _, m in rss]
    growth = (after_warmup[-1] - after_warmup[0]) / after_warmup[0] if after_warmup else 0.0
    latencies = sorted(s[1] for s in samples)

    def pct(p: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    windows = []
    for w in range(int(args.minutes * 60 / WINDOW_S)):
        inside = [s[1] for s in samples if w * WINDOW_S <= s[0] < (w + 1) * WINDOW_S]
        if inside:
            windows.append(
                {
                    "t_s": w * WINDOW_S,
                    "requests": len(inside),
                    "p50_ms": round(1000 * statistics.median(inside), 2),
                }
            )
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "requests": len(samples),
        "errors": len(errors),
        "error_examples": errors[:10],
        "reloads": reloads,
        "rss_mb_start_after_warmup": round(after_warmup[0] / 2**20, 1) if after_warmup else None,
        "rss_mb_end": round(after_warmup[-1] / 2**20, 1) if after_warmup else None,
        "rss_growth": round(growth, 4),
        "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0)},
        "rss_series_mb": [(round(t), round(m / 2**20, 1)) for t, m in rss],
        "windows": windows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("rss_series_mb", "windows")}))
    return 0 if not errors and growth <= 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
