"""A throwaway PostgreSQL + PostGIS cluster: temp data dir, loopback port, removed at exit.

`TempCluster` installs Debian's `postgresql` and `postgis` if they are missing (root only),
runs `initdb` in a fresh temporary directory as an unprivileged user (PostgreSQL refuses
to run as root: `postgres` through `runuser` when we are root, ourselves otherwise),
starts the server on 127.0.0.1 at a free port with the benchmark settings, and on exit
stops it (`pg_ctl stop -m fast`, then `immediate`) and deletes the directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from benchmarks.http.servers import free_port

PACKAGES = ("postgresql", "postgis")
DB_USER = "bench"
DB_NAME = "bench"

# Settings, and why (all passed on the pg_ctl command line, shown in the report):
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "1GB",  # the whole table and its indexes stay in PostgreSQL's cache
    "effective_cache_size": "4GB",
    "work_mem": "64MB",  # sorts of large candidate sets stay in memory
    "maintenance_work_mem": "512MB",  # index builds and CLUSTER in memory
    "random_page_cost": "1.1",  # everything is cached: random reads cost about a sequential one
    "max_parallel_workers_per_gather": "0",  # one core per query, like one matcher request
    "jit": "off",  # JIT compile time exceeds these queries' run time
    "fsync": "off",  # load speed only: the timed queries read, they never write
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "20",
    "log_min_messages": "warning",
}


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(path: str) -> tuple[int, ...]:
    part = Path(path).parent.parent.name
    return tuple(int(x) for x in part.split(".") if x.isdigit())


def postgis_installed(bindir: Path) -> bool:
    """Whether the PostGIS extension is available to this server version."""
    version = bindir.parent.name
    return bool(glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"))


def ensure_packages() -> Path:
    """Install Debian's `postgresql` and `postgis` when missing; the server's bin dir."""
    bindir = pg_bindir()
    if bindir is not None and postgis_installed(bindir):
        return bindir
    if os.geteuid() != 0:
        raise SystemExit(
            "PostgreSQL/PostGIS missing: run as root or `apt-get install postgresql postgis` first"
        )
    log("installing Debian packages: " + " ".join(PACKAGES))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], check=True, env=env)
    bindir = pg_bindir()
    if bindir is None or not postgis_installed(bindir):
        raise SystemExit("PostGIS still missing after apt-get install")
    return bindir


def log(message: str) -> None:
    """Progress to stderr."""
    print(f"[postgis] {message}", file=sys.stderr, flush=True)


class TempCluster:
    """Context manager: a running cluster with PostGIS; `dsn` to connect over loopback."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = {**SERVER_SETTINGS, **(settings or {})}
        self.bindir = ensure_packages()
        self.port = free_port()
        self.root: Path | None = None
        self.started = False
        self.run_as = "postgres" if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        """libpq connection string (trust authentication, loopback only)."""
        return f"host=127.0.0.1 port={self.port} user={DB_USER} dbname={DB_NAME}"

    @property
    def version(self) -> str:
        """The server's major version directory name (e.g. '15')."""
        return self.bindir.parent.name

    def _cmd(self, *args: str) -> list[str]:
        if self.run_as is None:
            return list(args)
        return ["runuser", "-u", self.run_as, "--", *args]

    def __enter__(self) -> TempCluster:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        if self.run_as is not None:
            try:
                pwd.getpwnam(self.run_as)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", self.run_as], check=True)
        self.root = Path(tempfile.mkdtemp(prefix="matcher-postgis-"))
        data = self.root / "data"
        sockets = self.root / "sock"
        sockets.mkdir()
        if self.run_as is not None:
            shutil.chown(self.root, user=self.run_as)
            shutil.chown(sockets, user=self.run_as)
        log(f"initdb in {data} (PostgreSQL {self.version}, as {self.run_as or 'current user'})")
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                DB_USER,
                "-A",
                "trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        opts += f" -p {self.port} -k {sockets}"
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.started = True
        log(f"server up on 127.0.0.1:{self.port}")
        subprocess.run(
            self._cmd(
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                DB_USER,
                DB_NAME,
            ),
            check=True,
        )

    def close(self) -> None:
        """Stop the server (fast, then immediate) and remove the temporary directory."""
        if self.started and self.root is not None:
            data = str(self.root / "data")
            for mode in ("fast", "immediate"):
                stop = self._cmd(
                    str(self.bindir / "pg_ctl"), "-D", data, "-m", mode, "-w", "-t", "30", "stop"
                )
                if subprocess.run(stop, check=False, stdout=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(1)
            self.started = False
            log("server stopped")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            log(f"removed {self.root}")
            self.root = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
