"""haproxy in front of the replicas, on 127.0.0.1, driven through its runtime API.

Why haproxy: it is in Debian, its health checks take a dead replica out within a second,
its runtime API drains and readmits one server at a time (what a Kubernetes rolling update
does with endpoints), and its cookie insertion pins a client to one replica.

The configuration: round robin; `GET /readyz` health checks every 500 ms (2 failures take a
server out, 2 successes bring it back); a connection that fails before anything was sent is
retried on another server (`retries`, `option redispatch`, `retry-on conn-failure
empty-response`), which is safe for POSTs since the replica never saw the request; and a
`SRV` cookie that pins clients that send it back (clients that ignore it are balanced per
request). Every answer names the replica that served it (`X-Replica`).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
BACKEND = "replicas"

CONFIG = """\
global
    maxconn 4096
    nbthread 1
    stats socket {socket} mode 600 level admin
    log stderr format raw local0 err

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 4s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend matcher
    bind {host}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
    cookie SRV insert indirect nocache
    http-response set-header X-Replica %s
{servers}
"""


def haproxy_binary(install: bool = True) -> str:
    """Path of haproxy; installed from Debian when missing and we are root (else an error
    with the install line)."""
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found:
        return found
    if install and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "haproxy"],
            check=True,
            env=env,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
        return haproxy_binary(install=False)
    raise RuntimeError("haproxy is not installed: apt-get install haproxy (as root)")


class Balancer:
    """haproxy on 127.0.0.1:`port` over servers {name: port}; stopped on exit."""

    def __init__(self, folder: Path, port: int, servers: dict[str, int]) -> None:
        self.port = port
        self.servers = dict(servers)
        self.socket_path = folder / "haproxy.sock"
        self.config_path = folder / "haproxy.cfg"
        lines = [
            f"    server {name} {HOST}:{p} check cookie {name}" for name, p in self.servers.items()
        ]
        self.config_path.write_text(
            CONFIG.format(
                socket=self.socket_path,
                host=HOST,
                port=port,
                backend=BACKEND,
                servers="\n".join(lines),
            )
        )
        self.log = folder / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Balancer:
        binary = haproxy_binary()
        check = subprocess.run(
            [binary, "-c", "-q", "-f", str(self.config_path)], capture_output=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy rejected its configuration: {check.stderr.decode()}")
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, "-db", "-f", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_all_up(timeout_s=30)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop haproxy (our own process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def command(self, line: str) -> str:
        """One runtime API command; its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket_path))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` rows of our servers, by server name."""
        deadline = time.monotonic() + 5
        while True:
            try:
                text = self.command("show stat").lstrip("# ")
                break
            except OSError:  # the socket appears a moment after haproxy starts
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        rows = csv.DictReader(io.StringIO(text))
        return {
            r["svname"]: r for r in rows if r["pxname"] == BACKEND and r["svname"] in self.servers
        }

    def status(self, name: str) -> str:
        """UP, DOWN, MAINT, DRAIN, ... of one server."""
        return self.stats()[name]["status"]

    def wait_status(self, name: str, prefix: str, timeout_s: float) -> float:
        """Wait until a server's status starts with `prefix`; seconds it took."""
        started = time.monotonic()
        while not self.status(name).startswith(prefix):
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{name} not {prefix} after {timeout_s} s: {self.status(name)}")
            time.sleep(0.05)
        return time.monotonic() - started

    def wait_all_up(self, timeout_s: float) -> None:
        """Wait until every server passes its health checks."""
        for name in self.servers:
            self.wait_status(name, "UP", timeout_s)

    def drain(self, name: str, timeout_s: float = 30.0) -> float:
        """Stop sending a server new requests (pinned clients included) and wait until it
        has none in progress; seconds it took."""
        started = time.monotonic()
        self.command(f"set server {BACKEND}/{name} state drain")
        time.sleep(0.2)  # let requests of pinned clients already routed to it arrive
        self.command(f"set server {BACKEND}/{name} state maint")
        while int(self.stats()[name]["scur"] or 0) > 0:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{name} still has requests after {timeout_s} s")
            time.sleep(0.05)
        return time.monotonic() - started

    def readmit(self, name: str, timeout_s: float = 30.0) -> float:
        """Return a server to service; wait until its health checks pass; seconds it took."""
        self.command(f"set server {BACKEND}/{name} state ready")
        return self.wait_status(name, "UP", timeout_s)
