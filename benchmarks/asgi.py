"""Where an HTTP request's time goes inside the server: the app alone, layer by layer.

    python -m benchmarks asgi [--passes 20] [--referrals 40]
                              [--out benchmarks/results/asgi.json]

Each variant is called as uvicorn calls it, `await app(scope, receive, send)`, with the
whole body in one message and no socket, so what is timed is the app: routing, middleware,
dependencies, the threadpool hand-off, parsing, matching and encoding. Variants, on the
embedded 5,000-listing registry (the HTTP suite's), for `/v1/shortlist` (the 40 benchmark
referrals) and `/v1/rank` (the same with ~50 bids each):
- `bare_def`: the HTTP suite's bare endpoint (`http/bare_app.py`: a plain `def` handler, so
  a threadpool hand-off, answering a fixed body);
- `bare_async`: the same handler as `async def` (no hand-off);
- `matcher`: `create_app()` as served, with `matcher serve`'s JSON access log (written to
  /dev/null);
- `matcher_threaded`: every matching request on the request threads (as before small
  bodies computed on the event loop, `routes_match.INLINE_MAX_BODY_BYTES`);
- `matcher_no_access_log`: the access logger off (the middleware still runs);
- `matcher_no_middleware`: without the access and body-limit middleware;
- `compute`: parse, match and encode alone (what the handler calls), no app at all.
The variants take turns request by request (each body goes through every variant, in an
order shuffled per body, `stats.turns`, then `compute`; then the next body),
`--passes` times over the bodies after one untimed pass, so a noisy moment on a shared
machine falls on all of them alike; p50 and p95 of each. No network: add uvicorn's HTTP/1.1
parsing and the socket for the served figures (`python -m benchmarks http`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import Response

from benchmarks.http import bare_app
from benchmarks.http.__main__ import rank_bodies
from benchmarks.referrals import referral_bodies
from benchmarks.report import asgi_section
from benchmarks.stats import machine, steal_percent, summary_us, turns
from matcher.bids.request import RankRequest
from matcher.boundary import parse_body
from matcher.http import routes_match
from matcher.http.app import create_app
from matcher.http.logs import ACCESS_LOGGER, log_config
from matcher.match.request import ShortlistRequest
from matcher.service import DEFAULT_LISTINGS, EMBEDDED_SOURCE, Matcher

RESULTS = Path(__file__).parent / "results"
PATHS = ("/v1/shortlist", "/v1/rank")
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _bare_async() -> FastAPI:
    """`bare_app`'s endpoint as `async def`: the same work without the threadpool hop."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/shortlist")
    @app.post("/v1/rank")
    async def answer(raw: Annotated[bytes, Depends(bare_app.raw_body)]) -> Response:
        json.loads(raw)
        return Response(content=bare_app.BODY, media_type="application/json")

    return app


def _matcher_app(middleware: bool = True) -> FastAPI:
    app = create_app()
    if not middleware:  # the stack is built on the first call: drop them before it
        app.user_middleware = []
    return app


def _scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: ASGIApp, path: str, body: bytes) -> int:
    """One request through `app`, as a server would make it; the response status."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path, body), receive, send)
    return int(sent[0]["status"])


@contextlib.contextmanager
def access_log_to_devnull() -> Iterator[None]:
    """`matcher serve`'s logging config, its stream /dev/null (the cost of the JSON line is
    in, the terminal's is not)."""
    with open(os.devnull, "w", encoding="utf-8") as null:
        real, sys.stderr = sys.stderr, null
        try:
            logging.config.dictConfig(log_config("info"))
        finally:
            sys.stderr = real
        try:
            yield
        finally:  # every logger the config gave a handler on the stream closed next
            for name in ("matcher", "uvicorn", "uvicorn.error"):
                logging.getLogger(name).handlers.clear()


@contextlib.contextmanager
def threaded() -> Iterator[None]:
    """Every matching request on the request threads (no body is small enough)."""
    saved = routes_match.INLINE_MAX_BODY_BYTES
    routes_match.INLINE_MAX_BODY_BYTES = -1
    try:
        yield
    finally:
        routes_match.INLINE_MAX_BODY_BYTES = saved


@contextlib.contextmanager
def access_log_off() -> Iterator[None]:
    """The access logger disabled (the middleware still times, counts and builds fields)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = False


def _compute(matcher: Matcher, path: str) -> Callable[[bytes], bytes]:
    if path == "/v1/shortlist":
        return lambda raw: matcher.shortlist_answer(parse_body(ShortlistRequest, raw)).json()
    return lambda raw: matcher.rank_answer(parse_body(RankRequest, raw)).json()


async def measure(passes: int, n_referrals: int) -> dict[str, Any]:
    """Per path and variant: p50/p95 (us) over `passes` passes of every body, the variants
    taking turns request by request."""
    referrals = referral_bodies(n_referrals, 0)
    bodies = {
        "/v1/shortlist": [json.dumps(b, separators=(",", ":")).encode() for b in referrals],
        "/v1/rank": rank_bodies(referrals, DEFAULT_LISTINGS),
    }
    served = _matcher_app()
    unwrapped = _matcher_app(middleware=False)
    none = contextlib.nullcontext
    apps: dict[str, tuple[ASGIApp, Any]] = {
        "bare_def": (bare_app.app, none),
        "bare_async": (_bare_async(), none),
        "matcher": (served, none),
        "matcher_threaded": (served, threaded),
        "matcher_no_access_log": (served, access_log_off),
        "matcher_no_middleware": (unwrapped, none),
    }
    clock = time.perf_counter_ns
    out: dict[str, Any] = {}
    with access_log_to_devnull():
        async with contextlib.AsyncExitStack() as stack:
            for each in (served, unwrapped):
                await stack.enter_async_context(each.router.lifespan_context(each))
            matcher = served.state.services.holder.require()
            for path in PATHS:
                work = _compute(matcher, path)
                samples: dict[str, list[int]] = {name: [] for name in [*apps, "compute"]}
                for step, warm_up in enumerate((True, *([False] * passes))):
                    for i, body in enumerate(bodies[path]):
                        for name in turns(list(apps), step * len(bodies[path]) + i):
                            app, around = apps[name]
                            with around():
                                t0 = clock()
                                status = await call(app, path, body)
                                elapsed = clock() - t0
                            if status != 200:
                                raise SystemExit(f"{name} {path}: status {status}")
                            if not warm_up:
                                samples[name].append(elapsed)
                        t0 = clock()
                        work(body)
                        if not warm_up:
                            samples["compute"].append(clock() - t0)
                    if warm_up:
                        gc.collect()
                out[path] = {name: summary_us(s) for name, s in samples.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the attribution, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks asgi", description=__doc__)
    parser.add_argument("--passes", type=int, default=20, help="over every body")
    parser.add_argument("--referrals", type=int, default=40)
    parser.add_argument("--out", type=Path, default=RESULTS / "asgi.json")
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.passes, args.referrals))
    doc = {
        "suite": "asgi",
        "machine": machine(),
        "registry": EMBEDDED_SOURCE,
        "passes": args.passes,
        "referrals": args.referrals,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc["machine"]["cpu_steal_percent"] = steal_percent()
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print("\n".join(asgi_section(doc)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
