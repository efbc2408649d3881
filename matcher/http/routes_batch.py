"""POST /v1/allocate, /v1/sufficiency and /v1/feedback/market: many referrals at once (thin,
like routes_match).

Both answer with the response model's own `model_dump_json()`, so an HTTP answer is byte for
byte what `matcher allocate FILE` prints, and the OpenAPI document carries the typed schema.
Their bodies are parsed on asyncio's own threads at normal priority (not on the request
threads large matching requests wait for, `MATCHER_REQUEST_THREADS`); their work then runs
on the batch threads at low CPU priority (`matcher.http.batch_threads`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from matcher.batch.market_models import MarketFeedbackRequest, MarketFeedbackResponse
from matcher.batch.models import (
    AllocateRequest,
    AllocateResponse,
    SufficiencyRequest,
    SufficiencyResponse,
)
from matcher.boundary import parse_body
from matcher.http.access import note
from matcher.http.batch_threads import run_batch
from matcher.http.deps import CurrentMatcher, RawBody, metrics_of
from matcher.http.openapi import json_body
from matcher.http.schemas import error_responses
from matcher.vocabulary.errors import TimeLimitExceededError

router = APIRouter(prefix="/v1", tags=["batch"])
# These bodies carry many referrals, so they get `max_batch_body_bytes`, not `max_body_bytes`.
BATCH_PATHS = ("/v1/allocate", "/v1/sufficiency", "/v1/feedback/market")

REQUEST_MODELS: list[type[BaseModel]] = [
    AllocateRequest,
    SufficiencyRequest,
    MarketFeedbackRequest,
]
_ERRORS = error_responses(
    401, 403, 413, 415, 422, 503,
    descriptions={503: "No registry snapshot loaded yet (not_ready), or the request's time "
                       "limit passed before it could be answered (time_limit_exceeded)."},
)  # fmt: skip


def _json(answer: BaseModel, started: float, **parts_s: float) -> Response:
    ms = round((time.perf_counter() - started) * 1000, 2)
    timing = ", ".join(
        [f"match;dur={ms}", *(f"{name};dur={round(s * 1000, 2)}" for name, s in parts_s.items())]
    )
    return Response(
        content=answer.model_dump_json(),
        media_type="application/json",
        headers={"Server-Timing": timing},
    )


@router.post(
    "/allocate",
    summary="Place several referrals at once (exact; with the greedy plan beside it)",
    response_model=AllocateResponse,
    responses=_ERRORS,
    openapi_extra=json_body(AllocateRequest),
)
async def allocate_route(request: Request, raw: RawBody, matcher: CurrentMatcher) -> Response:
    """Block call-off: capacity shared, sibling groups kept together (see README).

    Bounded: within `MATCHER_ALLOCATION_TIME_LIMIT_S` of taking the request (parsing
    included) the answer is the optimum or, with `solver.status` `time_limit`, the best
    plan found; 503 `time_limit_exceeded` when the bids could not even be ranked in time.
    """
    clock = time.monotonic()  # the time limit counts from here
    metrics = metrics_of(request)
    req = await asyncio.to_thread(parse_body, AllocateRequest, raw)
    note(request).counts = {"referrals": len(req.referrals)}

    def work() -> Response:
        started = time.perf_counter()
        try:
            run = matcher.allocate(req, started=clock)
        except TimeLimitExceededError:
            metrics.observe_allocation("time_limit_exceeded", None)
            raise
        metrics.observe_allocation(run.status, run.solve_s)
        return _json(run.answer, started, rank=run.rank_s, solve=run.solve_s)

    try:
        return await _within(work, clock, matcher.limits.allocation_time_limit_s, "allocation")
    except TimeLimitExceededError as exc:
        if exc.stage == WAITING:  # the thread stops at its next check, uncounted
            metrics.observe_allocation("time_limit_exceeded", None)
        raise


@router.post(
    "/sufficiency",
    summary="Where supply is missing, over a batch of referrals",
    response_model=SufficiencyResponse,
    responses=_ERRORS,
    openapi_extra=json_body(SufficiencyRequest),
)
async def sufficiency_route(request: Request, raw: RawBody, matcher: CurrentMatcher) -> Response:
    """Eligible counts per radius, binding constraints and need gaps (see README).

    Bounded: past `MATCHER_SUFFICIENCY_TIME_LIMIT_S` from taking the request, 503
    `time_limit_exceeded`.
    """
    clock = time.monotonic()  # the time limit counts from here
    req = await asyncio.to_thread(parse_body, SufficiencyRequest, raw)
    note(request).counts = {"referrals": len(req.referrals)}

    def work() -> Response:
        started = time.perf_counter()
        answer = matcher.sufficiency(list(req.referrals), list(req.radii_miles), started=clock)
        return _json(answer, started)

    return await _within(work, clock, matcher.limits.sufficiency_time_limit_s, "sufficiency")


@router.post(
    "/feedback/market",
    summary="Why providers' listings were left out or their bids lost, over many referrals",
    response_model=MarketFeedbackResponse,
    responses=_ERRORS,
    openapi_extra=json_body(MarketFeedbackRequest),
)
async def market_feedback_route(
    request: Request, raw: RawBody, matcher: CurrentMatcher
) -> Response:
    """Per provider and listing, and for the commissioner the market (see README).

    Bounded: past `MATCHER_MARKET_FEEDBACK_TIME_LIMIT_S` from taking the request, 503
    `time_limit_exceeded`.
    """
    clock = time.monotonic()  # the time limit counts from here
    req = await asyncio.to_thread(parse_body, MarketFeedbackRequest, raw)
    note(request).counts = {"referrals": len(req.requests)}

    def work() -> Response:
        started = time.perf_counter()
        return _json(matcher.market_feedback(req, started=clock), started)

    limit = matcher.limits.market_feedback_time_limit_s
    return await _within(work, clock, limit, "market feedback")


WAITING = "waiting for a CPU share"
GRACE_S = 1.0  # past the limit, the work's own checks answer first; this is the backstop


async def _within(
    work: Callable[[], Response], clock: float, limit_s: float, what: str
) -> Response:
    """Run `work` on a batch thread; answer 503 if it has not answered `GRACE_S` after its
    limit (a batch thread starved of CPU by other work may not reach its next check; it
    stops there, but the client is answered now)."""
    remaining = limit_s - (time.monotonic() - clock) + GRACE_S
    try:
        return await asyncio.wait_for(asyncio.shield(run_batch(work)), timeout=remaining)
    except TimeoutError:
        message = (
            f"{what} did not finish within its time limit of {limit_s:g} s: stopped while {WAITING}"
        )
        raise TimeLimitExceededError(message, limit_s=limit_s, stage=WAITING) from None
