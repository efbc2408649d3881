"""The app factory. Nothing is loaded at import time: the lifespan loads the snapshot.

    create_app(settings, snapshot)    a test passes a prebuilt snapshot to stay fast
    matcher serve                     uvicorn calls `server.worker_app()` in each worker

Without an injected snapshot the lifespan starts loading the configured one in a thread and
the app answers at once: /healthz is 200, /readyz is 503 until the snapshot serves (and
stays 503, naming the error code, if it is refused; a reload can then fix it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware

from matcher.http import (
    routes_admin,
    routes_batch,
    routes_geo,
    routes_info,
    routes_match,
    routes_ops,
)
from matcher.http.auth import API_KEY_HEADER, ApiKey
from matcher.http.catalogue import build_catalogue
from matcher.http.credentials import Credentials
from matcher.http.deps import Services
from matcher.http.errors import install_error_handlers
from matcher.http.metrics import Metrics
from matcher.http.middleware import REQUEST_ID_HEADER, AccessMiddleware, BodyLimitMiddleware
from matcher.http.openapi import DocumentedAPI
from matcher.http.state import SnapshotHolder
from matcher.http.triggers import install_sighup, remove_sighup, watch_file
from matcher.service import Snapshot
from matcher.settings import Settings

DESCRIPTION = """Provider matching for English councils placing looked-after children through a
Dynamic Purchasing Vehicle: which providers a referral should go to, and how the bids
received rank. The matcher prepares an explained shortlist; the decision stays human.

Every error has one shape: `{"error": {"code", "message", "details": [{"field", "reason"}]}}`.
"""


CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"


async def _to_console(request: Request) -> RedirectResponse:
    """GET /: a redirect to the officer console."""
    return RedirectResponse("console/", status_code=307)


def create_app(
    settings: Settings | None = None,
    snapshot: Snapshot | None = None,
    *,
    reload_on_sighup: bool = False,
) -> FastAPI:
    """The matcher HTTP app for `settings` (default: from MATCHER_* env variables).

    `snapshot`: serve this one from the start instead of loading the configured one.
    `reload_on_sighup`: reload on SIGHUP (the server sets it; tests leave signals alone).
    """
    settings = settings or Settings()
    holder = SnapshotHolder.from_settings(settings)
    metrics = Metrics()
    holder.on_swap(metrics.snapshot_swapped)
    holder.on_result(lambda result: metrics.reloads.labels(result).inc())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The plain-`def` routes run on anyio's threads, this many at once (FastAPI's default
        # is 40): CPU-bound requests sharing the interpreter lock only slow each other down.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        if snapshot is not None:
            holder.install(snapshot)
        else:
            # Load before accepting connections: a (re)started worker must not take traffic
            # it can only answer with 503 (its siblings serve while it loads). `matcher serve`
            # validated the file before starting; if it is refused now anyway, the worker
            # stays alive but unready (/readyz 503) until a reload succeeds.
            await asyncio.to_thread(holder.reload_logged, "startup")
        sighup = reload_on_sighup and install_sighup(holder)
        watcher: asyncio.Task[None] | None = None
        if settings.watch_registry and settings.registry_path is not None:
            watcher = asyncio.create_task(watch_file(holder, settings.registry_path))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if sighup:
                remove_sighup()

    app = DocumentedAPI(
        title="matcher",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.request_models = [*routes_match.REQUEST_MODELS, *routes_batch.REQUEST_MODELS]
    credentials = Credentials.from_settings(settings)
    app.state.services = Services(
        settings=settings,
        holder=holder,
        metrics=metrics,
        credentials=credentials,
        catalogue_json=build_catalogue(settings, holder.terms).model_dump_json().encode(),
    )

    client: list[Any] = [ApiKey] if settings.api_key_list() else []
    app.include_router(routes_match.router, dependencies=client)
    app.include_router(routes_batch.router, dependencies=client)
    app.include_router(routes_geo.router, dependencies=client)
    app.include_router(routes_info.router, dependencies=client)
    app.include_router(routes_ops.router)
    if credentials.admin_token is not None:
        app.include_router(routes_admin.router)
    # The officer console: static files shipped in the package, calling the public API only.
    app.mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    # `/` is where a person lands: send them to the console (relative, so it also works
    # behind a path prefix). A plain route, not an API operation: not in the OpenAPI.
    app.add_route("/", _to_console, methods=["GET", "HEAD"], include_in_schema=False)

    install_error_handlers(app)
    # add_middleware wraps: the last added runs first (outermost).
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        path_limits=dict.fromkeys(routes_batch.BATCH_PATHS, settings.max_batch_body_bytes),
    )
    origins = settings.cors_origin_list()
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", API_KEY_HEADER, REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Server-Timing"],
        )
    routes = [rc.original_route for rc in iter_route_contexts(app.routes)]
    app.add_middleware(AccessMiddleware, metrics=metrics, routes=routes)
    return app
