"""POST /v1/admin/reload: reload the configured snapshot (only when an admin token is set)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from matcher.http.auth import Admin
from matcher.http.deps import holder_of
from matcher.http.schemas import ReloadOut, error_responses, iso
from matcher.http.state import log_reload, log_reload_failure
from matcher.vocabulary.errors import MatcherError

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Admin])


@router.post(
    "/reload",
    summary="Reload the registry snapshot",
    response_model=ReloadOut,
    responses=error_responses(401, 403, 422),
)
async def reload(request: Request) -> Any:
    """Load, validate and index the configured snapshot in this worker, then swap it in.

    A refused snapshot answers 422 `invalid_snapshot` listing its problems, and the old
    snapshot keeps serving. Requests in flight finish on the snapshot they started with.
    The load runs on a thread of its own, not on the request threads
    (`MATCHER_REQUEST_THREADS`), which keep answering meanwhile.
    """
    try:
        outcome = await asyncio.to_thread(holder_of(request).reload)
    except MatcherError as exc:
        log_reload_failure("admin", exc)
        raise
    log_reload("admin", outcome)
    return JSONResponse(
        {
            "old_snapshot_version": outcome.old_snapshot_version,
            "new_snapshot_version": outcome.new_snapshot_version,
            "source": outcome.source,
            "loaded_at": iso(outcome.loaded_at),
            "duration_ms": outcome.duration_ms,
        }
    )
