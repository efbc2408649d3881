"""Shared helpers of the HTTP tests (no tests here): apps, snapshots, bodies, a live server.

Snapshots are small generated registries built once per process; apps get them injected
so a test client starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import logging
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from matcher.http.app import create_app
from matcher.http.logs import JsonFormatter
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.service import Snapshot
from matcher.settings import Settings
from tests.conftest import referral

with warnings.catch_warnings():
    # starlette asks for httpx2; the project pins httpx (see the HTTP layer's report).
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "referral"]


@functools.cache
def small_snapshot() -> Snapshot:
    """1,500 synthetic listings (seed 1), indexed once per test process."""
    return Snapshot(index=RegistryIndex.build(generate(1500, seed=1)), source="test")


def settings(**overrides: Any) -> Settings:
    """Settings for a test app: defaults, then `overrides` (environment ignored where set)."""
    return Settings(**overrides)


def client_for(snapshot: Snapshot | None = None, **overrides: Any) -> TestClient:
    """A TestClient over an app with `snapshot` (default: the small one) injected."""
    snap = small_snapshot() if snapshot is None else snapshot
    return TestClient(create_app(settings(**overrides), snap))


def write_registry(path: Path, listings: int, seed: int) -> str:
    """Write a generated registry as `matcher demo-registry` does; return its version."""
    registry = generate(listings, seed)
    text = json.dumps(registry.snapshot_dict(), separators=(",", ":"), ensure_ascii=False)
    data = text.encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return registry.version


def shortlist_body(**overrides: Any) -> dict[str, Any]:
    """A shortlist request that finds listings in the small registry (30 miles of Harrow)."""
    body = referral(max_distance_miles=30)
    body.update(overrides)
    return body


def rank_body(
    client: TestClient | httpx.Client, count: int = 3, **overrides: Any
) -> dict[str, Any]:
    """A rank request whose bids are for the first `count` shortlisted listings, each
    £50 below its ceiling."""
    found = client.post("/v1/shortlist", json=shortlist_body())
    assert found.status_code == 200, found.text
    entries = found.json()["shortlist"][:count]
    assert len(entries) == count
    bids = [
        {
            "bid_id": f"B-{i + 1}",
            "listing_id": e["listing_id"],
            "weekly_fee_gbp": str(Decimal(e["ceiling_weekly_gbp"]) - Decimal("50.00")),
        }
        for i, e in enumerate(entries)
    ]
    body = shortlist_body(bids=bids)
    body.update(overrides)
    return body


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.05) -> Any:
    """Poll `predicate()` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


@contextlib.contextmanager
def captured_logs() -> Iterator[StringIO]:
    """Every `matcher.*` log record, formatted as the service formats them (JSON lines)."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("matcher")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on an ephemeral loopback port in a thread; yield its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout_s=10)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Terminate a server started for a test; kill it if it has not exited in 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
