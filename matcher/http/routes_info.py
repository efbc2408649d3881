"""GET /v1/registry (the serving snapshot) and GET /v1/catalogue (the API's vocabularies)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from matcher.http.catalogue import CatalogueOut
from matcher.http.deps import CurrentMatcher, services
from matcher.http.schemas import RegistryOut, error_responses, iso
from matcher.registry.summary import registry_summary

router = APIRouter(prefix="/v1", tags=["reference"])


@router.get(
    "/registry",
    summary="The serving registry snapshot",
    response_model=RegistryOut,
    responses=error_responses(401, 403, 503),
)
def registry(matcher: CurrentMatcher) -> Any:
    """Version, dates and counts by DPV, lot, status and registration; where it came from."""
    snapshot = matcher.snapshot
    summary = registry_summary(snapshot.index, snapshot.source)
    summary["loaded_at"] = iso(snapshot.loaded_at)
    return JSONResponse(summary)


@router.get(
    "/catalogue",
    summary="Codes and descriptions to build forms from",
    response_model=CatalogueOut,
    responses=error_responses(401, 403),
)
async def catalogue(request: Request) -> Response:
    """DPVs and lots, needs, genders, Ofsted terms, alert severities, reason codes, weight
    components and profiles, contract terms per DPV (with their version) and limits."""
    return Response(content=services(request).catalogue_json, media_type="application/json")
