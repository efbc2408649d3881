"""Start and stop the servers under test on 127.0.0.1 (our own child processes only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def matcher_bin() -> str:
    """The `matcher` console script beside this interpreter (the venv's)."""
    return str(Path(sys.executable).with_name("matcher"))


def matcher_command(port: int, workers: int) -> list[str]:
    """`matcher serve` through the current interpreter (no PATH lookup)."""
    return [
        sys.executable,
        "-m",
        "matcher.cli.main",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def bare_command(port: int, workers: int) -> list[str]:
    """The bare FastAPI baseline under uvicorn with `matcher serve`'s options."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.http.bare_app:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--http",
        "h11",
        "--no-access-log",
        "--no-server-header",
        "--log-level",
        "warning",
    ]


class Server:
    """A server subprocess: started on enter (waits for /readyz), stopped on exit."""

    def __init__(
        self,
        command: list[str],
        port: int,
        env: dict[str, str] | None = None,
        ready_timeout_s: float = 300.0,
    ) -> None:
        self.command = command
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        # The matcher writes one JSON access-log line per request to stderr, as in
        # production; a file (not a pipe nobody drains) takes it without blocking the server.
        # SIM115: the file lives as long as the server handle and is closed in stop().
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                err = self.log.read()
                raise RuntimeError(f"server exited ({self.proc.returncode}): {err[-3000:]!r}")
            try:
                # S310: base_url is http://127.0.0.1:PORT, a server this class started.
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready after {self.ready_timeout_s} s: {self.command}")

    def stop(self) -> None:
        """SIGTERM the server's own process group (it has its own session), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.log.close()
