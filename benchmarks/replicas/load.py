"""Load at a fixed rate from many virtual clients, over mixed endpoints, through one port.

Each virtual client is one user: its own keep-alive connection, one request at a time, in
order, so "the versions this client saw" is a sequence. A pinned client sends back the
balancer's `SRV` cookie (it stays on one replica); an unpinned one ignores it. Requests are
due every 1/rate s, each handed to one of the clients; a request whose client is still
busy waits, and its latency runs from when it was due (no coordinated omission). Which
client sends a request is drawn at random (seeded), as users' requests interleave.

Mixed endpoints: shortlist and rank (POST, the examples' bodies), the registry, a
postcode and an authority lookup. Every answer that carries `snapshot_version` (shortlist,
rank, registry) is checked against the versions expected at that moment.

Bounded: at most `rate x duration` requests, each with a timeout; only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
VERSION = re.compile(rb'"snapshot_version":\s*"(sha256:[0-9a-f]+)"')
REQUEST_TIMEOUT_S = 30.0
IDLE_RECONNECT_S = 3.0  # below haproxy's 4 s client keep-alive: never send on a closing socket


def _post(path: str, example: str) -> tuple[str, bytes]:
    body = (ROOT / "examples" / example).read_bytes()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    return head, body


def _get(path: str) -> tuple[str, bytes]:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n", b""


# (endpoint, request head without the final CRLF and cookie, body); shortlist-heavy, as
# brokerage traffic is.
MIX: list[tuple[str, tuple[str, bytes]]] = [
    ("shortlist", _post("/v1/shortlist", "shortlist-harrow.json")),
    ("rank", _post("/v1/rank", "rank-harrow-best-match.json")),
    ("shortlist", _post("/v1/shortlist", "shortlist-northumberland-siblings.json")),
    ("registry", _get("/v1/registry")),
    ("shortlist", _post("/v1/shortlist", "shortlist-harrow.json")),
    ("locate", _get("/v1/locate?q=IG11")),
    ("rank", _post("/v1/rank", "rank-harrow-price.json")),
    ("authorities", _get("/v1/authorities?q=Harrow")),
]


@dataclass
class Reply:
    """One request's outcome, as its client saw it."""

    client: int
    seq: int
    endpoint: str
    due_ns: int
    done_ns: int
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    version: str | None
    replica: str | None


@dataclass
class Client:
    """One virtual user on one keep-alive connection to the balancer."""

    ident: int
    port: int
    pinned: bool
    cookie: str | None = None
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    last_used: float = 0.0
    queue: asyncio.Queue[tuple[int, int, int] | None] = field(default_factory=asyncio.Queue)

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, head: str, body: bytes) -> tuple[int, bytes, str | None]:
        """One request; (status, body, replica header)."""
        if self.writer is not None and time.monotonic() - self.last_used > IDLE_RECONNECT_S:
            self.close()
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        cookie = f"Cookie: SRV={self.cookie}\r\n" if self.pinned and self.cookie else ""
        self.writer.write((head + cookie + "\r\n").encode() + body)
        raw_head = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, replica, close = 0, None, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key, value = name.strip().lower(), value.strip()
            if key == "content-length":
                length = int(value)
            elif key == "x-replica":
                replica = value
            elif key == "set-cookie" and value.startswith("SRV="):
                self.cookie = value[4:].split(";", 1)[0]
            elif key == "connection" and value.lower() == "close":
                close = True
        payload = await self.reader.readexactly(length)
        self.last_used = time.monotonic()
        if close:
            self.close()
        return status, payload, replica

    async def work(self, replies: list[Reply]) -> None:
        """Answer this client's queue in order until it receives None."""
        while (item := await self.queue.get()) is not None:
            seq, due_ns, index = item
            endpoint, (head, body) = MIX[index % len(MIX)]
            status, version, replica = 0, None, None
            try:
                status, payload, replica = await asyncio.wait_for(
                    self.send(head, body), REQUEST_TIMEOUT_S
                )
                match = VERSION.search(payload)
                version = match.group(1).decode() if match else None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                self.close()
            replies.append(
                Reply(
                    self.ident,
                    seq,
                    endpoint,
                    due_ns,
                    time.perf_counter_ns(),
                    status,
                    version,
                    replica,
                )
            )
        self.close()


async def _run(
    port: int, rate: float, duration_s: float, clients: int, pinned: int, stop: threading.Event
) -> tuple[list[Reply], float]:
    replies: list[Reply] = []
    pool = [Client(i, port, pinned=i < pinned) for i in range(clients)]
    workers = [asyncio.create_task(c.work(replies)) for c in pool]
    total = int(rate * duration_s)
    # Each request from a client drawn at random (seeded): a regular i % clients would,
    # with round robin over k servers, pin client i to one server whenever k divides
    # the client count, hiding what unpinned clients really see.
    rng = random.Random(0)
    seq = [0] * clients
    step_ns = int(1e9 / rate)
    t0 = time.perf_counter_ns()
    for i in range(total):
        if stop.is_set():
            break
        due = t0 + i * step_ns
        delay = (due - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        client = pool[rng.randrange(clients)]
        seq[client.ident] += 1
        client.queue.put_nowait((seq[client.ident], due, i))
    for c in pool:
        c.queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), REQUEST_TIMEOUT_S * 4)
    return replies, (time.perf_counter_ns() - t0) / 1e9


class Load:
    """A fixed-rate load in a background thread: `start()`, do things, `join()`."""

    def __init__(
        self, port: int, rate: float, duration_s: float, clients: int = 16, pinned: int = 8
    ) -> None:
        self.args = (port, rate, duration_s, clients, pinned)
        self.stop_event = threading.Event()
        self.replies: list[Reply] = []
        self.elapsed_s = 0.0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.started_ns = 0

    def _main(self) -> None:
        try:
            self.replies, self.elapsed_s = asyncio.run(_run(*self.args, self.stop_event))
        except BaseException as exc:  # reported by join()
            self.error = exc

    def start(self) -> Load:
        """Begin sending."""
        self.started_ns = time.perf_counter_ns()
        self.thread.start()
        return self

    def join(self, timeout_s: float = 600.0) -> list[Reply]:
        """Wait for the last answer; every reply."""
        self.thread.join(timeout_s)
        if self.thread.is_alive():
            self.stop_event.set()
            self.thread.join(REQUEST_TIMEOUT_S * 5)
        if self.error is not None:
            raise self.error
        return self.replies


def summary(replies: list[Reply], elapsed_s: float, expected: set[str]) -> dict[str, Any]:
    """Requests, failures, unexpected versions, req/s and latency percentiles (ms)."""
    latency_ms = np.array([(r.done_ns - r.due_ns) / 1e6 for r in replies] or [np.nan])
    failed = [r for r in replies if r.status != 200]
    versions = [r.version for r in replies if r.version is not None]
    by_replica: dict[str, int] = {}
    for r in replies:
        if r.replica:
            by_replica[r.replica] = by_replica.get(r.replica, 0) + 1
    return {
        "requests": len(replies),
        "failed": len(failed),
        "failed_statuses": sorted({r.status for r in failed}),
        "with_version": len(versions),
        "unexpected_version": sum(v not in expected for v in versions),
        "req_per_s": round(len(replies) / elapsed_s, 1) if elapsed_s else 0.0,
        "p50_ms": round(float(np.percentile(latency_ms, 50)), 2)
        if latency_ms is not None
        else None,
        "p99_ms": round(float(np.percentile(latency_ms, 99)), 2)
        if latency_ms is not None
        else None,
        "max_ms": round(float(latency_ms.max()), 2) if latency_ms is not None else None,
        "by_replica": dict(sorted(by_replica.items())),
    }


def backwards(replies: list[Reply], old: str, new: str, pinned: int) -> dict[str, int]:
    """Clients that saw `old` again after `new`: counts for pinned and unpinned clients."""
    seen_new: set[int] = set()
    events = {"pinned_clients_backwards": 0, "unpinned_clients_backwards": 0}
    went_back: set[int] = set()
    for r in sorted(replies, key=lambda r: (r.client, r.seq)):
        if r.version == new:
            seen_new.add(r.client)
        elif r.version == old and r.client in seen_new and r.client not in went_back:
            went_back.add(r.client)
            key = "pinned_clients_backwards" if r.client < pinned else "unpinned_clients_backwards"
            events[key] += 1
    events["clients_that_saw_new"] = len(seen_new)
    return events
