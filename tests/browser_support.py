"""Helpers for tests that drive a real browser against a real `matcher serve`.

- `MatcherServer`: `matcher serve --host 127.0.0.1 --port <free>` as a subprocess on a small
  generated registry (`MATCHER_REGISTRY_PATH`), polled on /readyz, always terminated.
- `launch_chromium`: Playwright driving Debian's Chromium (`/usr/bin/chromium`); Playwright's
  own browser download cannot run here. A missing browser or package FAILS the test with what
  to install: these tests are part of the test command, never skipped.
- `Screenshots`: PNGs of the states a person should look at, under test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from matcher.registry.demo import generate
from tests.test_http_helpers import stop_process

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = REPO / "test-artifacts"


def write_registry(path: Path, listings: int = 2000, seed: int = 3) -> str:
    """Write a generated registry snapshot (JSON) to `path`; return its version."""
    registry = generate(listings, seed=seed)
    with path.open("w", encoding="utf-8") as f:
        json.dump(registry.snapshot_dict(), f)
    return registry.version


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def matcher_command() -> list[str]:
    """The installed `matcher` script next to this interpreter (else the module's main)."""
    script = shutil.which("matcher", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from matcher.cli.main import main; sys.exit(main())"]


class MatcherServer:
    """A running `matcher serve`: its base URL, process and stderr log."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server wrote to stderr (for failure messages)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def get(self, path: str) -> httpx.Response:
        """GET from the server."""
        return httpx.get(f"{self.url}{path}", timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST JSON to the server (the test's own call to the public API)."""
        return httpx.post(f"{self.url}{path}", json=body, timeout=30)

    @classmethod
    @contextlib.contextmanager
    def run(cls, registry: Path, workdir: Path, timeout_s: float = 60) -> Iterator[MatcherServer]:
        """Serve `registry` on a free loopback port until the block ends."""
        port = free_port()
        # Only this test's settings: a developer's MATCHER_* (API keys, workers) must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
        env["MATCHER_REGISTRY_PATH"] = str(registry)
        log = workdir / f"matcher-serve-{port}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [*matcher_command(), "serve", "--port", str(port), "--host", "127.0.0.1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        server = cls(f"http://127.0.0.1:{port}", proc, log)
        try:
            server.wait_ready(timeout_s)
            yield server
        finally:
            stop_process(proc)

    def wait_ready(self, timeout_s: float) -> None:
        """Poll /readyz until 200; fail with the server's log if it exits or times out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"matcher serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"matcher serve was not ready within {timeout_s:g} s:\n{self.log_tail()}")


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Playwright's Chromium driver on Debian's Chromium, headless; fails if either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the Python package `playwright` is required for the console tests: "
            "pip install playwright (or `pip install -e '.[test]'`); its browser download "
            "(`playwright install`) is not needed: the tests use /usr/bin/chromium"
        )
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is required for the console tests: "
            "apt-get update && apt-get install -y chromium"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class Screenshots:
    """Screenshots written to one folder (created on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def record(self, path: Path) -> Path:
        """Count a PNG written some other way (a printed page) among the screenshots."""
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path

    def take(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        """Save `page` as `<folder>/<name>.png` and print the path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        print(f"screenshot: {path}")
        return path
