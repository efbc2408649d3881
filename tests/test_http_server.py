"""The real thing: `matcher serve` in a subprocess on a loopback port, and a pure core.

Each server is started with its own temp registry, polled on /readyz with a deadline and
always terminated. Its stderr (JSON log lines) goes to a file the test reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.test_http_helpers import shortlist_body, stop_process, wait_until, write_registry

pytestmark = pytest.mark.slow


def matcher_command() -> list[str]:
    """The `matcher` console script of this interpreter's environment (or `-m matcher.cli.main`)."""
    script = Path(sys.executable).parent / "matcher"
    return [str(script)] if script.exists() else [sys.executable, "-m", "matcher.cli.main"]


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served:
    """A running `matcher serve`: its URL, process and log file."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (every line must be JSON)."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def version(self) -> str | None:
        """The snapshot version /readyz reports (None while not ready)."""
        try:
            r = httpx.get(f"{self.url}/readyz", timeout=2)
        except httpx.TransportError:
            return None
        return r.json()["snapshot_version"] if r.status_code == 200 else None


@contextlib.contextmanager
def serve(tmp_path: Path, registry: Path, *args: str) -> Iterator[Served]:
    """Run `matcher serve ARGS` on a free loopback port until the block ends."""
    port = free_port()
    env = {**os.environ, "MATCHER_REGISTRY_PATH": str(registry), "MATCHER_HOST": "127.0.0.1",
           "MATCHER_PORT": str(port), "MATCHER_LOG_LEVEL": "info"}  # fmt: skip
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*matcher_command(), "serve", *args], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_until(lambda: proc.poll() is not None or served.version(), timeout_s=60)
        assert proc.poll() is None, log.read_text()
        yield served
    finally:
        stop_process(proc)


def test_matcher_serve_answers_counts_and_reloads_on_sighup(tmp_path: Path) -> None:
    registry = tmp_path / "registry.json"
    version_b = write_registry(tmp_path / "b.json", 300, seed=22)
    version_a = write_registry(registry, 300, seed=21)
    body = shortlist_body(referral_id="R-SERVE-1", child={"age": 15, "gender": "female",
                                                          "needs": ["cse_risk"]})  # fmt: skip
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(body))
    with serve(tmp_path, registry) as served:
        assert served.version() == version_a
        r = httpx.post(f"{served.url}/v1/shortlist", json=body, timeout=10)
        assert r.status_code == 200
        assert r.json()["snapshot_version"] == version_a
        assert r.headers["server-timing"].startswith("match;dur=")
        cli = subprocess.run(
            [*matcher_command(), "shortlist", str(request_file), "--registry", str(registry)],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        assert cli.stdout == r.content + b"\n"  # the CLI and HTTP answers are the same bytes

        metrics = httpx.get(f"{served.url}/metrics", timeout=5)
        families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
        requests = families["matcher_http_requests"].samples
        assert any(
            s.labels == {"method": "POST", "route": "/v1/shortlist", "status": "200"}
            and s.value == 1
            for s in requests
        )
        registry.write_bytes((tmp_path / "b.json").read_bytes())
        served.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: served.version() == version_b, timeout_s=30)
        again = httpx.post(f"{served.url}/v1/shortlist", json=body, timeout=10)
        assert again.json()["snapshot_version"] == version_b
        time.sleep(0.2)  # let the last access line reach the log
        lines = served.lines()
    reloads = [x for x in lines if x["msg"] == "snapshot loaded"]
    assert [x["trigger"] for x in reloads] == ["startup", "sighup"]
    access = [x for x in lines if x["msg"] == "request" and x["route"] == "/v1/shortlist"]
    assert [x["referral_id"] for x in access] == ["R-SERVE-1", "R-SERVE-1"]
    text = served.log.read_text()
    for private in ("cse_risk", "female", '"age"', '"child"'):
        assert private not in text


def test_sighup_reloads_every_worker(tmp_path: Path) -> None:
    registry = tmp_path / "registry.json"
    version_b = write_registry(tmp_path / "b.json", 200, seed=32)
    write_registry(registry, 200, seed=31)
    with serve(tmp_path, registry, "--workers", "2") as served:

        def loaded(trigger: str) -> int:
            return sum(1 for x in served.lines() if x.get("trigger") == trigger)

        wait_until(lambda: loaded("startup") == 2, timeout_s=60)
        registry.write_bytes((tmp_path / "b.json").read_bytes())
        served.proc.send_signal(signal.SIGHUP)  # the supervisor forwards it to each worker
        wait_until(lambda: loaded("sighup") == 2, timeout_s=30)
        versions = {served.version() for _ in range(10)}
    assert versions == {version_b}


def test_serve_refuses_bad_settings_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from matcher.cli.main import main

    monkeypatch.setenv("MATCHER_PORT", "99999")
    assert main(["serve"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["code"] == "invalid_settings"
    assert error["details"][0]["field"] == "MATCHER_PORT"


def test_serve_refuses_a_missing_registry_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from matcher.cli.main import main

    # serve() exports --registry to the environment for its workers: undo that afterwards.
    monkeypatch.setenv("MATCHER_REGISTRY_PATH", "overwritten-by-serve")
    assert main(["serve", "--registry", str(tmp_path / "nope.json")]) == 1
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "invalid_snapshot"


def test_the_core_does_not_import_the_web_framework() -> None:
    code = (
        "import sys, matcher.service, matcher.boundary, matcher.settings;"
        "web = {'fastapi', 'starlette', 'uvicorn', 'matcher.http'} & set(sys.modules);"
        "print(sorted(web))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=True)
    assert out.stdout.strip() == b"[]"
