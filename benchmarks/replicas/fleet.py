"""N `matcher serve` replicas on 127.0.0.1, each its own process group, each on its own
snapshot file, as N pods would be.

A replica is replaced rather than reloaded in a rolling update: a new process on the new
file, as Kubernetes starts a new pod, so each process serves exactly one version for its
whole life. Snapshots are written with `matcher demo-registry` (the CLI, not imports: the
harness runs what a user runs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from benchmarks.http.servers import HOST, free_port, matcher_bin


def write_snapshot(path: Path, listings: int, seed: int) -> str:
    """Generate a snapshot file; its snapshot_version."""
    out = subprocess.run(
        [
            matcher_bin(),
            "demo-registry",
            "--listings",
            str(listings),
            "--seed",
            str(seed),
            "--out",
            path,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return str(json.loads(out.stderr.strip().splitlines()[-1])["snapshot_version"])


@dataclass
class Replica:
    """One `matcher serve` process (a pod)."""

    name: str
    port: int
    snapshot: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def spawn(self) -> None:
        """Start the process on `snapshot` (not waiting for it)."""
        env = {**os.environ, "MATCHER_LOG_LEVEL": "warning", "MATCHER_WORKERS": "1"}
        cmd = [matcher_bin(), "serve", "--host", HOST, "--port", str(self.port)]
        cmd += ["--registry", str(self.snapshot)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Wait until /readyz answers 200."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        url = f"http://{HOST}:{self.port}/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited {self.proc.returncode}")
            try:
                # S310: a replica this harness started on 127.0.0.1.
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"replica {self.name} not ready after {timeout_s} s")

    def start(self) -> float:
        """Start and wait for /readyz; seconds to ready."""
        started = time.monotonic()
        self.spawn()
        self.wait_ready()
        return time.monotonic() - started

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal our process group (SIGTERM: uvicorn finishes requests in flight)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as a node failure or the OOM killer would."""
        self.stop(signal.SIGKILL)


class Fleet:
    """`count` replicas on `snapshot`; all stopped on exit."""

    def __init__(self, folder: Path, count: int, snapshot: Path) -> None:
        self.replicas = [
            Replica(f"r{i + 1}", free_port(), snapshot, folder / f"r{i + 1}.log")
            for i in range(count)
        ]

    def __enter__(self) -> Fleet:
        try:  # start all at once (as a Deployment does), then wait for each
            for replica in self.replicas:
                replica.spawn()
            for replica in self.replicas:
                replica.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every replica."""
        for replica in self.replicas:
            replica.stop()

    @property
    def ports(self) -> dict[str, int]:
        """{name: port}"""
        return {r.name: r.port for r in self.replicas}
