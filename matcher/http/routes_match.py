"""POST /v1/shortlist, /v1/rank and /v1/rank/compare: bytes -> parse_body -> Matcher -> bytes.

The handlers are plain `def` (FastAPI runs them in its threadpool: matching is CPU work,
`MATCHER_REQUEST_THREADS` of them at once per worker, one by default)
and answer with the response model's own `model_dump_json()`, so an HTTP answer is byte for
byte what `matcher shortlist|rank|compare FILE` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from matcher.bids.request import CompareRequest, RankRequest
from matcher.bids.response import CompareResponse, RankResponse
from matcher.boundary import parse_body
from matcher.http.access import AccessNote, note, sniff_referral_id
from matcher.http.deps import CurrentMatcher, RawBody, metrics_of
from matcher.http.openapi import json_body
from matcher.http.schemas import error_responses
from matcher.match.request import ShortlistRequest
from matcher.match.response import ShortlistResponse
from matcher.service import Answer
from matcher.vocabulary.errors import MatcherError

router = APIRouter(prefix="/v1", tags=["matching"])

Req = TypeVar("Req", bound=BaseModel)
Resp = TypeVar("Resp", bound=BaseModel)

REQUEST_MODELS: list[type[BaseModel]] = [ShortlistRequest, RankRequest, CompareRequest]
_ERRORS = error_responses(401, 403, 413, 415, 422, 503)


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
def shortlist(request: Request, raw: RawBody, matcher: CurrentMatcher) -> Response:
    """Eligible listings nearest first, with every exclusion reason (DOMAIN rules 1-3)."""
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
def rank(request: Request, raw: RawBody, matcher: CurrentMatcher) -> Response:
    """Bids ranked by price or best match; rejected bids with their reasons (rules 4-8)."""
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
def compare(request: Request, raw: RawBody, matcher: CurrentMatcher) -> Response:
    """Both rankings, each bid's movement and Kendall's tau between them."""
    log = note(request)
    req = _parse(CompareRequest, raw, log)
    log.set_referral_id(req.request.referral_id)
    answer, response = _send(matcher.compare_answer, req, log)
    log.counts = {"bids": len(req.request.bids), "ranked": len(answer.body["a"]["ranked"])}
    return response
