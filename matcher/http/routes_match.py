"""POST /v1/shortlist, /v1/rank and /v1/rank/compare: bytes -> parse_body -> Matcher -> bytes.

Where a request computes depends on its size (`compute`). A body of at most
`INLINE_MAX_BODY_BYTES` computes on the event loop: a shortlist, or a ranking of up to ~120
bids, is milliseconds of CPU work under the interpreter lock, so a thread would only add a
hand-off and lock switches with the loop. A larger body goes to the request threads
(`MATCHER_REQUEST_THREADS`, one by default), so the loop keeps answering probes while it
computes. Either way the answer is the response model's own JSON, byte for byte what
`matcher shortlist|rank|compare FILE` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from matcher.bids.request import CompareRequest, RankRequest
from matcher.bids.response import CompareResponse, RankResponse
from matcher.boundary import parse_body
from matcher.http.access import AccessNote, note, sniff_referral_id
from matcher.http.deps import current_matcher, metrics_of, raw_body
from matcher.http.openapi import json_body
from matcher.http.schemas import error_responses
from matcher.match.request import ShortlistRequest
from matcher.match.response import ShortlistResponse
from matcher.service import Answer, Matcher
from matcher.vocabulary.errors import MatcherError

router = APIRouter(prefix="/v1", tags=["matching"])

Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=BaseModel)

REQUEST_MODELS: list[type[BaseModel]] = [ShortlistRequest, RankRequest, CompareRequest]
_ERRORS = error_responses(401, 403, 413, 415, 422, 503)
# Bodies up to this size compute on the event loop, so a probe waits at most one of them.
# A ranking this size holds ~120 bids: 44 ms at worst with feedback at 100k listings (a
# comparison ranks twice). A shortlist is bounded by its limits: 26 ms at worst at 1M
# listings, limit 500, explain_limit 1000. Against every request on a thread (A/B on
# 2026-12-03, 64 connections, 1 worker, 5,000 listings): /v1/shortlist 267-431 -> 477-478
# req/s, /v1/rank 142-173 -> 198-228 (README "Performance", `python -m benchmarks asgi`).
INLINE_MAX_BODY_BYTES = 8192


async def compute(
    request: Request, work: Callable[[Request, bytes, Matcher], Response]
) -> Response:
    """Read the body and the Matcher serving now, then run `work` (parse, match, encode) on
    the event loop if the body is small, else on a request thread (module docstring).

    Plain awaits, not FastAPI dependencies: resolving two dependencies cost ~50-100 us a
    request (measured in-process, 5,000 listings), and neither adds to the OpenAPI (the
    request body's schema comes from `json_body`).
    """
    raw = await raw_body(request)
    matcher = await current_matcher(request)
    if len(raw) <= INLINE_MAX_BODY_BYTES:
        return work(request, raw, matcher)
    return await run_in_threadpool(work, request, raw, matcher)


def _parse(model: type[Req], raw: bytes, log: AccessNote) -> Req:
    """Validate the body; on failure keep only a well-formed referral id for the log."""
    try:
        return parse_body(model, raw)
    except MatcherError:
        log.set_referral_id(sniff_referral_id(raw))
        raise


def _send(call: Callable[[Req], Answer], req: Req, log: AccessNote) -> tuple[Answer, Response]:
    """Run the matcher and encode its answer, timing both; the JSON response with a
    Server-Timing header."""
    start = time.perf_counter()
    answer = call(req)
    content = answer.json()
    match_ms = round((time.perf_counter() - start) * 1000, 2)
    log.match_ms = match_ms
    response = Response(
        content=content,
        media_type="application/json",
        headers={"Server-Timing": f"match;dur={match_ms}"},
    )
    return answer, response


@router.post(
    "/shortlist",
    summary="Which listings should receive a referral",
    response_model=ShortlistResponse,
    responses=_ERRORS,
    openapi_extra=json_body(ShortlistRequest),
)
async def shortlist(request: Request) -> Response:
    """Eligible listings nearest first, with every exclusion reason (DOMAIN rules 1-3)."""
    return await compute(request, _shortlist)


def _shortlist(request: Request, raw: bytes, matcher: Matcher) -> Response:
    log = note(request)
    req = _parse(ShortlistRequest, raw, log)
    log.set_referral_id(req.referral_id)
    answer, response = _send(matcher.shortlist_answer, req, log)
    body = answer.body
    log.counts = {
        "within_radius": body["within_radius_count"],
        "eligible": body["eligible_count"],
        "shortlisted": len(body["shortlist"]),
    }
    metrics_of(request).observe_shortlist(body["within_radius_count"], body["eligible_count"])
    return response


@router.post(
    "/rank",
    summary="Validate, price and order the bids for a referral",
    response_model=RankResponse,
    responses=_ERRORS,
    openapi_extra=json_body(RankRequest),
)
async def rank(request: Request) -> Response:
    """Bids ranked by price or best match; rejected bids with their reasons (rules 4-8)."""
    return await compute(request, _rank)


def _rank(request: Request, raw: bytes, matcher: Matcher) -> Response:
    log = note(request)
    req = _parse(RankRequest, raw, log)
    log.set_referral_id(req.referral_id)
    answer, response = _send(matcher.rank_answer, req, log)
    body = answer.body
    log.counts = {"bids": len(req.bids), "ranked": len(body["ranked"]),
                  "rejected": len(body["rejected"])}  # fmt: skip
    return response


@router.post(
    "/rank/compare",
    summary="Rank the same bids under two weight choices",
    response_model=CompareResponse,
    responses=_ERRORS,
    openapi_extra=json_body(CompareRequest),
)
async def compare(request: Request) -> Response:
    """Both rankings, each bid's movement and Kendall's tau between them."""
    return await compute(request, _compare)


def _compare(request: Request, raw: bytes, matcher: Matcher) -> Response:
    log = note(request)
    req = _parse(CompareRequest, raw, log)
    log.set_referral_id(req.request.referral_id)
    answer, response = _send(matcher.compare_answer, req, log)
    log.counts = {"bids": len(req.request.bids), "ranked": len(answer.body["a"]["ranked"])}
    return response
