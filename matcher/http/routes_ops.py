"""GET /healthz (alive), /readyz (a snapshot is serving) and /metrics (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from matcher.http.deps import holder_of, metrics_of
from matcher.http.metrics import CONTENT_TYPE
from matcher.http.schemas import HealthOut, ReadyOut, error_responses, iso
from matcher.vocabulary.errors import ErrorDetail, ServiceUnavailableError

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness", response_model=HealthOut)
async def healthz() -> Any:
    """200 while the process can answer at all (no snapshot needed)."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness", response_model=ReadyOut, responses=error_responses(503))
async def readyz(request: Request) -> Any:
    """200 with the snapshot version once a snapshot is serving; 503 `not_ready` before."""
    holder = holder_of(request)
    matcher = holder.current
    if matcher is None:
        failed = holder.last_error
        details = [ErrorDetail("registry", f"last load failed: {failed.code}")] if failed else []
        raise ServiceUnavailableError("no registry snapshot is loaded yet", details)
    snapshot = matcher.snapshot
    return JSONResponse(
        {
            "status": "ready",
            "snapshot_version": snapshot.version,
            "source": snapshot.source,
            "loaded_at": iso(snapshot.loaded_at),
        }
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """The text exposition format (request counts and latency by route template and status,
    shortlist candidate and eligible counts, snapshot version and age)."""
    return Response(content=metrics_of(request).render(), media_type=CONTENT_TYPE)
