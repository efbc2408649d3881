"""Footprint of one serving pod: start-up time to /readyz and RSS, per snapshot size.

    python -m benchmarks.footprint [--sizes 100000 1000000] [--requests 200]

The Helm chart's resource requests/limits and its startup probe are sized from these
numbers (deploy/helm/matcher/values.yaml cites them), so they are measured the way a pod
runs: `matcher serve` with one worker on a snapshot file, exactly the command the image's
entrypoint runs. For each size a snapshot is generated (`matcher demo-registry`, seed 0),
then the server is started and watched:

- seconds from exec to the first 200 on /healthz (the process is alive) and on /readyz
  (the snapshot is validated, loaded and indexed: `matcher serve` validates the file before
  uvicorn starts, then the app's lifespan loads it again);
- RSS of the server's process tree, sampled every 0.1 s: the peak during start-up, the
  level once ready, and the peak and end level after a warm-up load of `--requests`
  mixed requests (shortlist, rank, registry, metrics).

Writes `benchmarks/results/footprint.json` and prints a table. Bounded: each start waits at
most `--ready-timeout` seconds, and the server (our own process group) is always stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.http.servers import HOST, free_port, matcher_bin
from benchmarks.stats import machine, table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "footprint.json"
MIB = 2**20
SAMPLE_S = 0.1
COLUMNS = ("listings", "file_mib", "seconds_to_readyz", "rss_peak_startup_mib", "rss_ready_mib",
           "rss_peak_load_mib", "rss_after_load_mib")  # fmt: skip


def tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and all its descendants, in bytes (0 once it is gone)."""
    total = 0
    try:
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a worker that exited meanwhile
                total += p.memory_info().rss
    except psutil.Error:
        return 0
    return total


class RssSampler:
    """Samples a process tree's RSS in a thread; `peak_since(mark)` reads it back."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tree_rss(self.proc)))
            self._stop.wait(SAMPLE_S)

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)

    def peak_between(self, t0: float, t1: float) -> int:
        """Highest RSS sampled in [t0, t1]."""
        return max((rss for t, rss in self.samples if t0 <= t <= t1), default=0)


def make_snapshot(folder: Path, listings: int) -> tuple[Path, str, float]:
    """Generate a seeded snapshot file; (path, snapshot_version, bytes on disk)."""
    path = folder / f"registry-{listings}.json.gz"
    out = subprocess.run(
        [matcher_bin(), "demo-registry", "--listings", str(listings), "--seed", "0", "--out", path],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    # The command reports what it wrote on stderr (stdout stays free for the snapshot).
    version = str(json.loads(out.stderr.strip().splitlines()[-1])["snapshot_version"])
    return path, version, float(path.stat().st_size)


def wait_for(url: str, proc: subprocess.Popen[bytes], deadline: float) -> float:
    """Poll `url` until it answers 200; the monotonic time it did."""
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return time.monotonic()
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise TimeoutError(url)


def warm_load(base: str, requests: int) -> dict[str, int]:
    """Send `requests` mixed requests one after another; status counts."""
    shortlist = json.loads((ROOT / "examples" / "shortlist-harrow.json").read_text())
    rank = json.loads((ROOT / "examples" / "rank-harrow-best-match.json").read_text())
    calls: list[tuple[str, str, Any]] = [
        ("POST", "/v1/shortlist", shortlist),
        ("POST", "/v1/rank", rank),
        ("GET", "/v1/registry", None),
        ("GET", "/metrics", None),
    ]
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base, timeout=60.0) as client:
        for i in range(requests):
            method, path, body = calls[i % len(calls)]
            r = client.request(method, path, json=body)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    return statuses


def measure(
    snapshot: Path, requests: int, ready_timeout_s: float, cache: bool = False
) -> dict[str, Any]:
    """Start `matcher serve` on `snapshot`, time it to ready, sample RSS; stop it.

    `cache`: with the snapshot cache (`MATCHER_SNAPSHOT_CACHE`). Off by default, as in the
    image's pod (its user has no home): the start-up check validates the file, then the
    worker validates it again."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {**os.environ, "MATCHER_LOG_LEVEL": "warning", "MATCHER_WORKERS": "1",
           "MATCHER_SNAPSHOT_CACHE": "true" if cache else "false"}  # fmt: skip
    cmd = [matcher_bin(), "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--registry", str(snapshot)]
    t0 = time.monotonic()
    proc = subprocess.Popen(  # its own session: we stop exactly this group
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        deadline = t0 + ready_timeout_s
        t_live = wait_for(base + "/healthz", proc, deadline)
        t_ready = wait_for(base + "/readyz", proc, deadline)
        time.sleep(1.0)
        rss_ready = tree_rss(sampler.proc)
        t_load = time.monotonic()
        statuses = warm_load(base, requests)
        t_end = time.monotonic()
        time.sleep(0.5)
        rss_end = tree_rss(sampler.proc)
        return {
            "seconds_to_healthz": round(t_live - t0, 2),
            "seconds_to_readyz": round(t_ready - t0, 2),
            "rss_peak_startup_mib": round(sampler.peak_between(t0, t_ready + 1) / MIB, 1),
            "rss_ready_mib": round(rss_ready / MIB, 1),
            "rss_peak_load_mib": round(sampler.peak_between(t_load, t_end) / MIB, 1),
            "rss_after_load_mib": round(rss_end / MIB, 1),
            "warm_requests": requests,
            "warm_statuses": {str(k): v for k, v in statuses.items()},
        }
    finally:
        sampler.stop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Measure each size; write results/footprint.json; exit 1 if a warm request failed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--ready-timeout", type=float, default=900.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--snapshot-cache",
        action="store_true",
        help="serve with the snapshot cache (default off, as in the image's pod)",
    )
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="matcher-footprint-") as tmp:
        for size in args.sizes:
            t0 = time.monotonic()
            path, version, size_bytes = make_snapshot(Path(tmp), size)
            generated_s = time.monotonic() - t0
            row = {"listings": size, "snapshot_version": version}
            row["file_mib"] = round(size_bytes / MIB, 1)
            row["generate_seconds"] = round(generated_s, 1)
            row["snapshot_cache"] = args.snapshot_cache
            row.update(measure(path, args.requests, args.ready_timeout, args.snapshot_cache))
            rows.append(row)
            print(json.dumps(row), flush=True)
            path.unlink()
    headers = ["listings", "file MiB", "to /readyz s", "RSS MiB: peak start", "ready"]
    headers += ["peak load", "end"]
    print(
        table(
            headers,
            [[r[k] for k in COLUMNS] for r in rows],
        )
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "sizes": rows}, indent=2) + "\n")
    failed = any(set(r["warm_statuses"]) != {"200"} for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
