"""Timing and summary helpers shared by the suites: warm, time, summarise, describe the box."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")
PERCENTILES = (50, 95, 99)


def summary_us(samples_ns: npt.ArrayLike) -> dict[str, float]:
    """count, mean, p50/p95/p99 and max of samples in nanoseconds, as microseconds."""
    a = np.asarray(samples_ns, dtype=np.float64) / 1e3
    if a.size == 0:
        return {"count": 0}
    out: dict[str, float] = {"count": int(a.size), "mean_us": round(float(a.mean()), 2)}
    for p in PERCENTILES:
        out[f"p{p}_us"] = round(float(np.percentile(a, p)), 2)
    out["max_us"] = round(float(a.max()), 2)
    return out


def time_calls(
    fn: Callable[[T], object], cases: Sequence[T], queries: int, budget_s: float
) -> npt.NDArray[np.int64]:
    """Warm up on every case once (untimed), then time `queries` calls cycling the cases.

    The count is cut so the timed part takes about `budget_s` (but never below one pass
    over the cases): brute force at a million listings would otherwise run for minutes.

    Returns
    -------
    int64 array of per-call wall times in nanoseconds, shape (count,).
    """
    started = time.perf_counter()
    for case in cases:
        fn(case)
    per_call = (time.perf_counter() - started) / max(1, len(cases))
    count = min(queries, max(len(cases), int(budget_s / max(per_call, 1e-9))))
    out = np.empty(count, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(count):
        case = cases[i % len(cases)]
        t0 = clock()
        fn(case)
        out[i] = clock() - t0
    return out


def turns(names: Sequence[str], step: int) -> list[str]:
    """Contenders timed in turn, in the order they run at `step`: a permutation seeded by
    `step`, so across steps each runs first, and after each other one, about equally often.

    A fixed order, even rotated, gives each contender the same predecessor: in the PostGIS
    suite the matcher's explain-20 call always ran right after its explain-0 call on the
    same referral (caches warm with the same rows) and explain-0 right after PostGIS, so
    explain-0, which does less work, measured 10-30% slower at 10k-1M listings (in 5 of
    the 6 committed runs, and again with the order rotated: 963 against 789 us at 100k),
    while in-process alone it is the faster of the two (445 against 614 us).
    """
    order = np.random.default_rng(step).permutation(len(names))
    return [names[i] for i in order.tolist()]


def cpu_ticks() -> tuple[int, int] | None:
    """(ticks the hypervisor gave to other guests, all ticks) of every CPU so far, from
    /proc/stat; None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    ticks = [int(x) for x in fields[1:9]]
    return ticks[7], sum(ticks)


_TICKS_AT_START = cpu_ticks()  # this module is imported as a suite starts


def steal_percent(since: tuple[int, int] | None = _TICKS_AT_START) -> float | None:
    """The share of this machine's CPU time (every CPU, idle included) that its hypervisor
    gave to other guests since `since` (by default: since the suite started), in percent.

    These are shared virtual machines: the same code has measured 1.5-2x slower from one
    hour to the next. Each suite records its steal beside its figures: a high one marks a
    run slowed by its neighbours (a low one does not clear it: they also share caches and
    memory bandwidth, which no counter here shows).
    """
    now = cpu_ticks()
    if since is None or now is None or now[1] <= since[1]:
        return None
    return round(100.0 * (now[0] - since[0]) / (now[1] - since[1]), 1)


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def children_peak_rss_bytes() -> int:
    """The largest peak resident set size of this process's ended children (0 if none)."""
    return int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024


def rss_bytes() -> int:
    """This process's current resident set size."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            ram = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "ram_gib": round(ram / 2**30, 1),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def fmt_us(value: float | None) -> str:
    """Microseconds for a table: 3 significant figures, switching to ms past 10 ms."""
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:.1f}ms"
    if value >= 1000:
        return f"{value / 1000:.2f}ms"
    return f"{value:.0f}us" if value >= 10 else f"{value:.1f}us"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
