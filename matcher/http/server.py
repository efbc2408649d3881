"""`matcher serve`: run the app under uvicorn, in one process or in N worker processes.

Command-line options override the MATCHER_* settings. They are written back to the
environment before uvicorn starts, so worker processes (spawned, not forked) read the very
same settings. Each worker loads (from the snapshot cache) and indexes its own snapshot.

SIGHUP reloads the snapshot in place: in a single process directly; with `--workers N` the
supervisor forwards the signal to every worker, each of which rebuilds its snapshot off to
the side and swaps it in (uvicorn's default would restart the workers instead). The snapshot
cache (`matcher.registry.cache`) makes the validation happen once: in the parent at start,
in the first worker to take the lock on a reload; the others read its columns.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from matcher.http.app import create_app
from matcher.http.logs import EVENT_LOGGER, log_config
from matcher.http.protocol import MatcherConfig
from matcher.http.state import limit_malloc_arenas
from matcher.registry.loader import load_registry
from matcher.settings import Settings
from matcher.vocabulary.errors import SnapshotError

H11_MAX_HEADER_BYTES = 16 * 1024  # request line + headers; larger is answered 431/400
GRACEFUL_SHUTDOWN_S = 15
_OVERRIDES = {"host": "MATCHER_HOST", "port": "MATCHER_PORT", "workers": "MATCHER_WORKERS",
              "registry": "MATCHER_REGISTRY_PATH"}  # fmt: skip


def worker_app() -> FastAPI:
    """The app factory uvicorn calls in each serving process (settings from the env)."""
    limit_malloc_arenas()  # before any serving thread allocates (see state.py)
    return create_app(Settings(), reload_on_sighup=True)


class ReloadingSupervisor(Multiprocess):
    """uvicorn's worker supervisor, except SIGHUP reloads snapshots instead of restarting."""

    def handle_hup(self) -> None:
        """Forward SIGHUP to every live worker."""
        for process in self.processes:
            pid = process.pid
            if pid is not None and process.exitcode is None:
                os.kill(pid, signal.SIGHUP)


def _fail(code: str, message: str, details: list[dict[str, Any]], exit_code: int) -> int:
    """Print the canonical error body to stderr; return the exit code (CLI conventions)."""
    body = {"error": {"code": code, "message": message, "details": details}}
    sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    return exit_code


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings with the command line's options (those given) exported to the environment."""
    for attr, var in _OVERRIDES.items():
        value = getattr(args, attr, None)
        if value is not None:
            os.environ[var] = str(value)
    return Settings()


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration for `settings` (h11, with the request-head deadline)."""
    return MatcherConfig(
        "matcher.http.server:worker_app",
        header_timeout_s=settings.header_timeout_s,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        h11_max_incomplete_event_size=H11_MAX_HEADER_BYTES,
        timeout_keep_alive=settings.timeout_keep_alive_s,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
    )


def console_url(host: str, port: int) -> str:
    """Where a person on this machine opens the console (a wildcard host: the loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)  # noqa: S104 (displayed, not bound)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/console/"


def serve(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM: 0 on a clean stop, 1 when the registry file is
    missing or invalid, 2 on bad settings, 3 when the server could not start."""
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        details = [
            {"field": "MATCHER_" + ".".join(str(p) for p in e["loc"]).upper(), "reason": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return _fail("invalid_settings", "invalid MATCHER_* settings", details, 2)
    path = settings.registry_path
    if path is not None and not Path(path).is_file():
        message = f"registry file not found: {path}"
        return _fail("invalid_snapshot", message, [{"field": "registry", "reason": message}], 1)
    if path is not None:
        # Fail fast: a snapshot that would be refused stops the start-up here, with the file
        # and its first errors, instead of a service that stays unready (reloads differ: a
        # refused reload keeps the running snapshot). The validated registry goes to the
        # snapshot cache, from which every worker then reads it without validating again.
        try:
            load_registry(Path(path), settings.snapshot_cache_folder(), settings.validation_helper)
        except SnapshotError as exc:
            details = [d.as_dict() for d in exc.details[:20]]
            return _fail(exc.code, exc.message, details, 1)
    config = uvicorn_config(settings)  # configures logging
    logging.getLogger(EVENT_LOGGER).info(
        "officer console at %s", console_url(settings.host, settings.port)
    )
    if settings.workers > 1:
        sock = config.bind_socket()
        ReloadingSupervisor(config, sockets=[sock]).run()
        return 0
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 3
