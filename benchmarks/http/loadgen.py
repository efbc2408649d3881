"""A small asyncio HTTP/1.1 load generator: closed loop (fallback for wrk) and open loop.

Closed loop: `connections` clients each send, wait for the answer, send again.
Open loop: requests are due at a fixed rate whatever the server does; each is timed from
the moment it was *due*, so a slow server shows up as latency rather than as fewer
requests (no coordinated omission; wrk cannot do this and wrk2 is not in Debian). Both
stop at `duration_s` or `max_requests`, whichever comes first, and only ever connect to
the loopback address they are given.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.stats import summary_us

MAX_IN_FLIGHT = 256  # open loop: at most this many requests outstanding (then counted late)
# asyncio wakes timers up to ~1 ms late (epoll's millisecond timeouts): wake this early, and
# time each request from min(actual send, due), so lateness of ours never hides the server's.
WAKE_EARLY_S = 0.0015


@dataclass
class Tally:
    """What a run saw: per-request latency and what went wrong."""

    latencies_ns: list[int] = field(default_factory=list)
    lags_ns: list[int] = field(default_factory=list)  # open loop: send started - due
    match_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    bytes_in: int = 0

    def result(self, elapsed_s: float, **extra: Any) -> dict[str, Any]:
        """Summary: throughput, latency percentiles (us), errors and status counts."""
        ok = sum(v for k, v in self.statuses.items() if k == 200)
        non_200 = sum(v for k, v in self.statuses.items() if k != 200)
        lat = summary_us(self.latencies_ns)
        return {
            "requests": len(self.latencies_ns),
            "ok": ok,
            "errors": self.errors + non_200,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "elapsed_s": round(elapsed_s, 3),
            "rps": round(len(self.latencies_ns) / elapsed_s, 1) if elapsed_s else 0.0,
            "latency": lat,
            "server_match_ms_p50": round(float(np.median(self.match_ms)), 3)
            if self.match_ms
            else None,
            "mean_response_bytes": round(self.bytes_in / max(1, len(self.latencies_ns))),
            "send_lag": summary_us(self.lags_ns) if self.lags_ns else None,
            **extra,
        }


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes, float | None]:
        """Send one prepared request; (status, body, Server-Timing match ms or None)."""
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        match_ms = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            if key == "content-length":
                length = int(value)
            elif key == "server-timing" and "dur=" in value:
                match_ms = float(value.split("dur=", 1)[1].split(",")[0].split(";")[0])
        body = await self.reader.readexactly(length)
        return status, body, match_ms

    def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def prepare(path: str, bodies: list[bytes], host: str) -> list[bytes]:
    """Raw POST requests, one per body."""
    return [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(b)}\r\n\r\n"
        ).encode()
        + b
        for b in bodies
    ]


async def _one(conn: Connection, raw: bytes, tally: Tally, started_ns: int) -> None:
    try:
        status, body, match_ms = await conn.request(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        tally.errors += 1
        conn.close()
        tally.latencies_ns.append(time.perf_counter_ns() - started_ns)
        return
    tally.latencies_ns.append(time.perf_counter_ns() - started_ns)
    tally.statuses[status] = tally.statuses.get(status, 0) + 1
    tally.bytes_in += len(body)
    if match_ms is not None:
        tally.match_ms.append(match_ms)


async def closed_loop(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    connections: int,
    duration_s: float,
    max_requests: int,
) -> dict[str, Any]:
    """`connections` clients in lock step with the server."""
    raws = prepare(path, bodies, host)
    tally = Tally()
    deadline = time.perf_counter() + duration_s
    issued = 0

    async def client(k: int) -> None:
        nonlocal issued
        conn = Connection(host, port)
        i = k
        while time.perf_counter() < deadline and issued < max_requests:
            issued += 1
            await _one(conn, raws[i % len(raws)], tally, time.perf_counter_ns())
            i += connections
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(connections)))
    return tally.result(
        time.perf_counter() - t0, mode="closed", connections=connections, generator="python"
    )


async def open_loop(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    rate: float,
    duration_s: float,
    max_requests: int,
    max_connections: int = 64,
) -> dict[str, Any]:
    """Requests due every 1/rate s, each on an idle connection (opened as needed, up to
    `max_connections`; beyond that it waits, and the wait counts as latency)."""
    raws = prepare(path, bodies, host)
    tally = Tally()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = 0
    total = min(max_requests, int(rate * duration_s))
    pending: set[asyncio.Task[None]] = set()
    skipped = 0

    async def send(i: int, due_ns: int) -> None:
        nonlocal opened
        now = time.perf_counter_ns()
        tally.lags_ns.append(now - due_ns)  # the generator's own delay (negative: early)
        start = min(now, due_ns)
        if idle.empty() and opened < max_connections:
            opened += 1
            conn = Connection(host, port)
        else:
            conn = await idle.get()
        await _one(conn, raws[i % len(raws)], tally, start)
        idle.put_nowait(conn)

    t0_ns = time.perf_counter_ns()
    step_ns = int(1e9 / rate)
    for i in range(total):
        due = t0_ns + i * step_ns
        delay = (due - time.perf_counter_ns()) / 1e9 - WAKE_EARLY_S
        if delay > 0:
            await asyncio.sleep(delay)
        if len(pending) >= MAX_IN_FLIGHT:
            skipped += 1  # hopelessly behind: count it, do not pile up more
            continue
        task = asyncio.create_task(send(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        _, late = await asyncio.wait(pending, timeout=30)
        for task in late:  # still unanswered 30 s after the last was due: errors
            task.cancel()
            skipped += 1
    elapsed = (time.perf_counter_ns() - t0_ns) / 1e9
    while not idle.empty():
        idle.get_nowait().close()
    out = tally.result(
        elapsed,
        mode="open",
        target_rps=rate,
        connections_used=opened,
        generator="python",
        skipped=skipped,
    )
    out["errors"] += skipped
    return out
