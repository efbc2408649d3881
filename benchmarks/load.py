"""Snapshot load: a `.json.gz` file to a serving snapshot, first worker and second worker.

    python -m benchmarks load [--sizes 100000 1000000] [--workdir /tmp/matcher-load-bench]
                              [--out benchmarks/results/load.json]

Per size, the seeded registry (`generate(n, 0)`) is written once as `matcher demo-registry`
writes it (compact JSON, gzip) under `--workdir` (never in the repository: 1M listings are
~150 MB). Then, each in a fresh process so that RSS and peak RSS are its own:

1. **first worker**: `load_snapshot(file)` with an empty snapshot cache folder: read,
   validate, build the columns, hash, index; what a single worker (or `matcher serve`'s
   fail-fast check plus its first worker) pays;
2. **second worker**: the same call with the cache the first one left (when the code
   has one; otherwise it validates again, and the table says so).

Each child reports the wall time of the call, RSS right after it, peak RSS of the process
(which includes the ~100-200 MB of imported libraries), and then splits memory: the index
is dropped (RSS falls by the index's own share) and the registry's columns are counted
byte by byte. Targets (issue 15) are printed with PASS/MISS; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import inspect
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.stats import (
    children_peak_rss_bytes,
    machine,
    peak_rss_bytes,
    rss_bytes,
    steal_percent,
    table,
)
from matcher.registry.index import DEFAULT_BACKEND

DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_WORKDIR = Path("/tmp/matcher-load-bench")
DEFAULT_OUT = Path("benchmarks/results/load.json")
SEED = 0

# Issue 15's snapshot targets (reported against, never asserted).
TARGETS: dict[str, dict[int, float]] = {
    "load_s": {100_000: 3.0, 1_000_000: 30.0},
    "second_worker_s": {100_000: 3.0, 1_000_000: 30.0},
    "rss_after_load_mb": {1_000_000: 600.0},
    "peak_rss_mb": {1_000_000: 2000.0},
}


def snapshot_file(workdir: Path, n: int) -> Path:
    """The seeded `n`-listing snapshot, written once (in a child process) and then reused."""
    path = workdir / f"registry-{n}-seed{SEED}.json.gz"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        code = (
            "import gzip, json, sys\n"
            "from matcher.registry.demo import generate\n"
            f"r = generate({n}, {SEED})\n"
            "text = json.dumps(r.snapshot_dict(), separators=(',', ':'), ensure_ascii=False)\n"
            f"open({str(tmp)!r}, 'wb').write(gzip.compress(text.encode(), mtime=0))\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        tmp.rename(path)
    return path


def run_child(
    path: Path, cache_dir: Path, backend: str, timeout_s: float, helper: bool = True
) -> dict[str, Any]:
    """One fresh process loading `path` (see `child`); its stdout is one JSON document."""
    argv = ["--child", str(path), str(cache_dir), backend, "helper" if helper else "alone"]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", *argv],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load child for {path} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _trim() -> None:
    """Collect garbage and hand freed heap back to the OS (so RSS is what is still held)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS includes freed heap
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def registry_bytes(registry: Any) -> dict[str, int]:
    """Bytes held by the registry's columns, by kind: numeric arrays (and CSR offsets),
    text columns, and the id lookup (whatever type each has in the code measured)."""
    import numpy as np

    def size(value: Any) -> int:
        if isinstance(value, np.ndarray) or hasattr(value, "nbytes"):
            return int(value.nbytes)  # arrays, compact text columns, id indexes
        if hasattr(value, "offsets"):  # Csr
            return int(value.offsets.nbytes)
        if isinstance(value, list):  # text columns as lists of str
            return sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
        if isinstance(value, dict):  # an id -> row dict
            return sys.getsizeof(value) + sum(sys.getsizeof(k) + sys.getsizeof(v)
                                              for k, v in value.items())  # fmt: skip
        return 0

    out = {"numeric": 0, "text": 0, "lookup": 0}
    for name in registry.__dataclass_fields__:
        value = getattr(registry, name)
        kind = ("lookup" if name.startswith("_")
                else "numeric" if isinstance(value, np.ndarray) or type(value).__name__ == "Csr"
                else "text")  # fmt: skip
        if name != "generated_at":
            out[kind] += size(value)
    return out


def child(path: Path, cache_dir: Path, backend: str, helper: bool = True) -> dict[str, Any]:
    """Load one snapshot in this (fresh) process and report time and memory (the helper
    process's peak apart: `helper_peak_rss_mb`, 0 when none ran)."""
    from matcher.registry.policy import Policy
    from matcher.service import load_snapshot

    events: list[str] = []
    decoded: dict[str, Any] = {}  # what the helper process decoded, as the loader logs it

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(record.getMessage())
            if record.getMessage() == "snapshot decoded with a helper process":
                decoded.update(getattr(record, "fields", {}))

    logging.getLogger("matcher").addHandler(_Catch())
    logging.getLogger("matcher").setLevel(logging.INFO)
    kwargs: dict[str, Any] = {}
    has_cache = "cache_dir" in inspect.signature(load_snapshot).parameters
    if has_cache:
        kwargs["cache_dir"] = cache_dir
    if "helper" in inspect.signature(load_snapshot).parameters:
        kwargs["helper"] = helper
    _trim()
    out: dict[str, Any] = {"rss_before_mb": round(rss_bytes() / 1e6, 1), "has_cache": has_cache}
    out["loadavg_1m_before"] = round(os.getloadavg()[0], 2)
    t, cpu = time.perf_counter(), time.process_time()
    snapshot = load_snapshot(path, Policy(), backend, **kwargs)
    out["load_s"] = round(time.perf_counter() - t, 3)
    out["load_cpu_s"] = round(time.process_time() - cpu, 3)
    out["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    out["rss_after_load_mb"] = round(rss_bytes() / 1e6, 1)
    out["peak_rss_mb"] = round(peak_rss_bytes() / 1e6, 1)
    out["helper_peak_rss_mb"] = round(children_peak_rss_bytes() / 1e6, 1)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)  # the helper's, once it ended
    out["helper_cpu_s"] = round(ended.ru_utime + ended.ru_stime, 3)
    out["helper_chunks"] = f"{decoded['helper_chunks']}/{decoded['chunks']}" if decoded else "-"
    out["snapshot_version"] = snapshot.version
    out["index_build_s"] = round(snapshot.index.build_seconds, 3)
    out["events"] = events
    _trim()
    out["rss_after_load_trimmed_mb"] = round(rss_bytes() / 1e6, 1)
    registry = snapshot.index.registry
    del snapshot
    _trim()
    out["rss_registry_only_mb"] = round(rss_bytes() / 1e6, 1)
    out["registry_mb"] = round(out["rss_registry_only_mb"] - out["rss_before_mb"], 1)
    out["index_mb"] = round(out["rss_after_load_trimmed_mb"] - out["rss_registry_only_mb"], 1)
    out["registry_bytes_mb"] = {k: round(v / 1e6, 1) for k, v in registry_bytes(registry).items()}
    return out


def _slashed(parts: dict[str, float]) -> str:
    return "/".join(str(v) for v in parts.values())


def verdict(metric: str, n: int, value: float) -> str:
    """`PASS`/`MISS` against the issue's target for this metric and size, or `-`."""
    target = TARGETS.get(metric, {}).get(n)
    if target is None:
        return "-"
    return f"{'PASS' if value <= target else 'MISS'} (<= {target:g})"


def run_suite(sizes: list[int], workdir: Path, backend: str, timeout_s: float) -> dict[str, Any]:
    """Per size: write the file once, then a first and a second worker, each in a process,
    and a first worker again with no helper process (the same load on one process, for
    the comparison in the same run)."""
    doc: dict[str, Any] = {
        "suite": "load",
        "machine": machine(),
        "targets": {k: {str(n): v for n, v in t.items()} for k, t in TARGETS.items()},
        "backend": backend,
        "sizes": [],
    }
    for n in sizes:
        print(f"[load] {n:,} listings: writing/reusing the file ...", file=sys.stderr, flush=True)
        path = snapshot_file(workdir, n)
        cache_dir = workdir / f"cache-{n}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        cache_dir.mkdir(parents=True)
        print(f"[load] {n:,}: first worker ...", file=sys.stderr, flush=True)
        first = run_child(path, cache_dir, backend, timeout_s)
        print(f"[load] {n:,}: second worker ...", file=sys.stderr, flush=True)
        second = run_child(path, cache_dir, backend, timeout_s)
        print(f"[load] {n:,}: first worker with no helper process ...", file=sys.stderr, flush=True)
        alone_cache = workdir / f"cache-{n}-alone"
        shutil.rmtree(alone_cache, ignore_errors=True)
        alone_cache.mkdir(parents=True)
        alone = run_child(path, alone_cache, backend, timeout_s, helper=False)
        shutil.rmtree(alone_cache, ignore_errors=True)
        doc["sizes"].append(
            {
                "listings": n,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "first": first,
                "second": second,
                "first_alone": alone,
                "same_version": first["snapshot_version"]
                == second["snapshot_version"]
                == alone["snapshot_version"],
            }
        )
    return doc


def print_table(doc: dict[str, Any]) -> None:
    """The readable summary: one row per size and measurement, with the target verdicts."""
    rows: list[list[object]] = []
    for size in doc["sizes"]:
        n, first, second = size["listings"], size["first"], size["second"]
        rows += [
            [f"{n:,}", "load to serving (first worker) s", first["load_s"],
             verdict("load_s", n, first["load_s"])],
            [f"{n:,}", "  its CPU s (load average 1 min before/after)",
             f"{first.get('load_cpu_s', '-')} ({first.get('loadavg_1m_before', '-')}/"
             f"{first.get('loadavg_1m_after', '-')})", "-"],
            [f"{n:,}", "  with no helper process: s (CPU s)",
             f"{size['first_alone']['load_s']} ({size['first_alone'].get('load_cpu_s', '-')})"
             if "first_alone" in size else "-", "-"],
            [f"{n:,}", "  helper process: chunks it decoded, its CPU s, its peak RSS MB",
             f"{first.get('helper_chunks', '-')}, {first.get('helper_cpu_s', '-')}, "
             f"{first.get('helper_peak_rss_mb', '-')}", "-"],
            [f"{n:,}", "second worker s", second["load_s"],
             verdict("second_worker_s", n, second["load_s"])],
            [f"{n:,}", "  its CPU s", second.get("load_cpu_s", "-"), "-"],
            [f"{n:,}", "RSS after load MB", first["rss_after_load_mb"],
             verdict("rss_after_load_mb", n, first["rss_after_load_mb"])],
            [f"{n:,}", "peak RSS while loading MB", first["peak_rss_mb"],
             verdict("peak_rss_mb", n, first["peak_rss_mb"])],
            [f"{n:,}", "second worker: RSS after / peak MB",
             f"{second['rss_after_load_mb']} / {second['peak_rss_mb']}", "-"],
            [f"{n:,}", "RSS before load (imports) MB", first["rss_before_mb"], "-"],
            [f"{n:,}", "registry MB: RSS (counted: numeric/text/lookup)",
             f"{first['registry_mb']} ({_slashed(first['registry_bytes_mb'])})", "-"],
            [f"{n:,}", "index MB (RSS)", first["index_mb"], "-"],
            [f"{n:,}", "index build s (inside load)", first["index_build_s"], "-"],
            [f"{n:,}", "second worker validated again?",
             "no (cache)" if any("cache" in e for e in second["events"]) else "yes", "-"],
        ]  # fmt: skip
    print(table(["listings", "measure", "value", "target"], rows))


def main(argv: list[str] | None = None) -> int:
    """Run the suite (or, with --child, one measurement) and write the JSON."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] == ["--child"]:
        path, cache_dir, backend, helper = args_in[1:5]
        print(json.dumps(child(Path(path), Path(cache_dir), backend, helper == "helper")))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks load")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--backend", default=DEFAULT_BACKEND, choices=["packed", "strtree", "rtree"],
        help="the index backend (default: the service's own)",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=1800.0, help="per child, seconds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(args_in)
    doc = run_suite(args.sizes, args.workdir, args.backend, args.timeout)
    print_table(doc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc["machine"]["cpu_steal_percent"] = steal_percent()
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"[load] wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
