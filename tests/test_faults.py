"""Faults at start-up: a bad registry file stops `matcher serve` at once with a clear message."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
from pathlib import Path

import pytest

from matcher.registry.demo import generate
from tests.test_http_server import matcher_command

pytestmark = pytest.mark.slow


def _one_bad_listing(path: Path) -> None:
    document = generate(100_000, seed=8).snapshot_dict()
    document["listings"][54321]["age_min"] = 99  # one bad listing among 100,000
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("missing.json", None, "not found"),
        (
            "truncated.json",
            lambda p: p.write_text('{"schema_version": 1, "listings": [{'),
            "not valid JSON",
        ),
        ("plain.json.gz", lambda p: p.write_text("{}"), "not valid gzip"),
        ("empty.json.gz", lambda p: p.write_bytes(gzip.compress(b"")), "not valid JSON"),
        ("one-bad.json", _one_bad_listing, "listings[54321](L0054321).age_min"),
    ],
)
def test_serve_fails_fast_naming_the_file_and_the_first_errors(
    tmp_path: Path, name: str, write: object, message: str
) -> None:
    """Exit 1 within seconds, the canonical error on stderr naming the file and problem."""
    path = tmp_path / name
    if callable(write):
        write(path)
    result = subprocess.run(
        [*matcher_command(), "serve", "--port", "1", "--registry", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stderr.strip().splitlines()[-1])
    text = json.dumps(body)
    assert body["error"]["code"] == "invalid_snapshot"
    assert message in text
    assert str(path) in body["error"]["message"] or "not found" in text


def test_a_stalled_body_is_dropped_while_others_are_served() -> None:
    """A client that sends headers and part of a body, then stops, gets a 408 after the body
    timeout (1 s here); another client is answered meanwhile."""
    import time

    import httpx

    from matcher.http.app import create_app
    from tests.test_http_helpers import live_server, settings, shortlist_body, small_snapshot

    app = create_app(settings(body_timeout_s=1.0), small_snapshot())
    with live_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
            stalled.sendall(
                b"POST /v1/shortlist HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                b'{"referral_id": "R-'
            )
            started = time.monotonic()
            other = httpx.post(f"{url}/v1/shortlist", json=shortlist_body(), timeout=10)
            assert other.status_code == 200
            reply = stalled.recv(65536)
            waited = time.monotonic() - started
        status_line = reply.split(b"\r\n", 1)[0]
        assert b" 408 " in status_line, reply[:200]
        assert b'"request_timeout"' in reply
        assert 0.5 < waited < 6


def test_a_killed_worker_is_restarted_and_the_other_keeps_answering(tmp_path: Path) -> None:
    """`--workers 2`, SIGKILL one worker under load: errors are bounded by what was in flight
    on it, the supervisor starts a replacement, and the service keeps answering."""
    import os
    import signal
    import threading
    import time

    import httpx
    import psutil

    from tests.test_http_helpers import shortlist_body, wait_until, write_registry
    from tests.test_http_server import serve

    registry = tmp_path / "registry.json"
    write_registry(registry, 1500, seed=1)
    with serve(tmp_path, registry, "--workers", "2") as served:
        supervisor = psutil.Process(served.proc.pid)

        def workers() -> set[int]:  # live spawned workers, not the resource tracker
            found = set()
            for child in supervisor.children():
                try:
                    if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(
                        child.cmdline()
                    ):
                        found.add(child.pid)
                except psutil.Error:  # exited between listing and asking
                    continue
            return found

        wait_until(lambda: len(workers()) == 2, timeout_s=60)
        before = workers()
        outcomes: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=10) as client:
                deadline = time.monotonic() + 20
                while not stop.is_set() and time.monotonic() < deadline and len(outcomes) < 2000:
                    try:
                        status = client.post(
                            f"{served.url}/v1/shortlist", json=shortlist_body()
                        ).status_code
                    except httpx.HTTPError:
                        status = 0
                    outcomes.append(status)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(outcomes) >= 40, timeout_s=30)
        os.kill(min(before), signal.SIGKILL)
        killed_at = len(outcomes)
        wait_until(lambda: workers() - before, timeout_s=30)
        wait_until(lambda: len(outcomes) >= killed_at + 100, timeout_s=30)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        errors = sum(1 for s in outcomes if s != 200)
        print(f"worker kill: {len(outcomes)} requests, {errors} errors")
        assert errors <= 4  # at most the requests in flight on the killed worker
        assert len(workers()) == 2
        assert (
            httpx.post(f"{served.url}/v1/shortlist", json=shortlist_body(), timeout=10).status_code
            == 200
        )


def _read_until_closed(sock: socket.socket, timeout_s: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout_s)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_stalled_request_head_gets_408_and_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real `matcher serve` with MATCHER_HEADER_TIMEOUT_S=1: a connection that
    sends nothing, one that stops mid-headers, one that dribbles a header line every 0.2 s
    (slowloris) and a kept-alive one that starts a second request and stops: each gets the
    canonical 408 and is closed within seconds, while another client is answered."""
    import threading
    import time

    import httpx

    from tests.test_http_helpers import shortlist_body, write_registry
    from tests.test_http_server import serve

    monkeypatch.setenv("MATCHER_HEADER_TIMEOUT_S", "1")
    registry = tmp_path / "registry.json"
    write_registry(registry, 300, seed=1)
    with serve(tmp_path, registry) as served:
        address = ("127.0.0.1", int(served.url.rsplit(":", 1)[1]))
        started = time.monotonic()
        silent = socket.create_connection(address, timeout=10)
        partial = socket.create_connection(address, timeout=10)
        partial.sendall(b"POST /v1/shortlist HTTP/1.1\r\nHost: test\r\nContent-Ty")
        dribbler = socket.create_connection(address, timeout=10)
        dribbler.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")

        def dribble() -> None:
            for i in range(25):  # at most 5 s of one header line every 0.2 s
                try:
                    dribbler.sendall(f"X-Slow-{i}: 1\r\n".encode())
                except OSError:  # closed by the server: the point of the test
                    return
                time.sleep(0.2)

        dribbling = threading.Thread(target=dribble)
        dribbling.start()
        kept = socket.create_connection(address, timeout=10)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or not first.endswith(b"}"):  # /healthz's JSON, whole
            first += kept.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the next request, unfinished

        other = httpx.post(f"{served.url}/v1/shortlist", json=shortlist_body(), timeout=10)
        assert other.status_code == 200

        for name, sock in (("silent", silent), ("partial", partial), ("dribbler", dribbler),
                           ("kept-alive", kept)):  # fmt: skip
            reply = _read_until_closed(sock)
            waited = time.monotonic() - started
            sock.close()
            head, _, body = reply.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), (name, reply[:200])
            error = json.loads(body)["error"]
            assert error["code"] == "request_timeout", name
            assert error["details"][0]["timeout_s"] == 1, name
            assert waited < 6, (name, waited)
        dribbling.join(timeout=10)
        assert (time.monotonic() - started) > 0.9  # not refused at once
