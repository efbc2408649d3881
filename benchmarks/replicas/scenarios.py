"""The three multi-replica scenarios, each a function the benchmark and the test share.

- `scaling`: N replicas behind haproxy, fixed rates, mixed endpoints: failures, versions,
  req/s, p50/p99.
- `rolling_update`: under load, each replica in turn is drained at the balancer (no new
  requests, then none in progress), replaced by a process on the new snapshot, and readmitted
  once its health checks pass, as a Kubernetes rolling update with maxUnavailable 0 replaces
  pods. Counts failed requests and clients that saw the old version after the new one.
- `kill`: under load, one replica is SIGKILLed (a node lost, the OOM killer); the balancer's
  health checks take it out. Counts failed requests, and when they happened.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.http.servers import free_port
from benchmarks.replicas.balancer import Balancer
from benchmarks.replicas.fleet import Fleet, write_snapshot
from benchmarks.replicas.load import Load, backwards, summary


@dataclass(frozen=True)
class Snapshots:
    """Two snapshot files and their versions: the one serving, and the next."""

    old: Path
    old_version: str
    new: Path
    new_version: str


def make_snapshots(folder: Path, listings: int) -> Snapshots:
    """Two generated registries of `listings` (seeds 1 and 2: different versions)."""
    old, new = folder / "registry-old.json.gz", folder / "registry-new.json.gz"
    return Snapshots(old, write_snapshot(old, listings, 1), new, write_snapshot(new, listings, 2))


def scaling(
    snapshots: Snapshots, replicas: int, rates: list[float], step_s: float, clients: int = 16
) -> list[dict[str, Any]]:
    """One row per rate: the fleet of `replicas` at that fixed rate for `step_s`."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="matcher-replicas-") as tmp:
        folder = Path(tmp)
        with (
            Fleet(folder, replicas, snapshots.old) as fleet,
            Balancer(folder, free_port(), fleet.ports) as balancer,
        ):
            for rate in rates:
                load = Load(balancer.port, rate, step_s, clients=clients, pinned=0)
                replies = load.start().join()
                row = summary(replies, load.elapsed_s, {snapshots.old_version})
                rows.append({"replicas": replicas, "rate": rate, **row})
    return rows


def rolling_update(
    snapshots: Snapshots, replicas: int, rate: float, settle_s: float = 2.0, clients: int = 16
) -> dict[str, Any]:
    """Replace every replica, one at a time, with one on the new snapshot, under load."""
    pinned = clients // 2
    steps = []
    with tempfile.TemporaryDirectory(prefix="matcher-rolling-") as tmp:
        folder = Path(tmp)
        with (
            Fleet(folder, replicas, snapshots.old) as fleet,
            Balancer(folder, free_port(), fleet.ports) as balancer,
        ):
            # Long enough for every replacement; stopped as soon as they are done.
            load = Load(balancer.port, rate, 600.0, clients=clients, pinned=pinned).start()
            started = time.monotonic()
            time.sleep(settle_s)
            for replica in fleet.replicas:
                drain_s = balancer.drain(replica.name)
                replica.stop()
                replica.snapshot = snapshots.new
                ready_s = replica.start()
                up_s = balancer.readmit(replica.name)
                steps.append(
                    {"replica": replica.name, "drain_s": round(drain_s, 2)}
                    | {"ready_s": round(ready_s, 2), "readmitted_s": round(up_s, 2)}
                )
            time.sleep(settle_s)
            load.stop_event.set()
            replies = load.join()
            elapsed = time.monotonic() - started
    result = summary(replies, elapsed, {snapshots.old_version, snapshots.new_version})
    result |= backwards(replies, snapshots.old_version, snapshots.new_version, pinned)
    last = sorted(replies, key=lambda r: r.done_ns)[-max(1, len(replies) // 20) :]
    result["last_5pct_all_new"] = all(r.version in (None, snapshots.new_version) for r in last)
    return {
        "replicas": replicas,
        "rate": rate,
        "clients": clients,
        "pinned_clients": pinned,
        "steps": steps,
        **result,
    }


def kill(
    snapshots: Snapshots, replicas: int, rate: float, before_s: float = 2.0, after_s: float = 4.0
) -> dict[str, Any]:
    """SIGKILL one replica under load; failures, and how long until the balancer saw it."""
    with tempfile.TemporaryDirectory(prefix="matcher-kill-") as tmp:
        folder = Path(tmp)
        with (
            Fleet(folder, replicas, snapshots.old) as fleet,
            Balancer(folder, free_port(), fleet.ports) as balancer,
        ):
            load = Load(balancer.port, rate, before_s + after_s, clients=16, pinned=8)
            load.start()
            time.sleep(before_s)
            victim = fleet.replicas[0]
            killed_ns = time.perf_counter_ns()
            victim.kill()
            down_s = balancer.wait_status(victim.name, "DOWN", timeout_s=10)
            replies = load.join()
            survivors_up = all(balancer.status(r.name).startswith("UP") for r in fleet.replicas[1:])
    result = summary(replies, load.elapsed_s, {snapshots.old_version})
    failed = [r for r in replies if r.status != 200]
    down_ns = killed_ns + int(down_s * 1e9)
    return {
        "replicas": replicas,
        "rate": rate,
        "killed": victim.name,
        "seconds_until_marked_down": round(down_s, 2),
        "failed_before_marked_down": sum(r.done_ns <= down_ns for r in failed),
        "failed_after_marked_down": sum(r.done_ns > down_ns for r in failed),
        "answered_by_killed_after_down": sum(
            r.replica == victim.name and r.done_ns > down_ns + int(0.1e9) for r in replies
        ),
        "survivors_up": survivors_up,
        **result,
    }
