"""Response models of the endpoints that are not matching (those use the core's models).

They document the API (OpenAPI) and a test validates real answers against them, so the
docs cannot drift from what the service returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetailOut(BaseModel):
    """One problem: the offending field and why (plus e.g. `suggestions`, `limit`, `allowed`)."""

    model_config = ConfigDict(extra="allow")
    field: str
    reason: str


class ErrorOut(_Out):
    """A machine-readable code, a human message and the problems."""

    code: Annotated[str, Field(examples=["invalid_request"])]
    message: str
    details: list[ErrorDetailOut]


class ErrorBody(_Out):
    """The one error body of every 4xx and 5xx answer."""

    error: ErrorOut


class HealthOut(_Out):
    """The process is alive."""

    status: str


class ReadyOut(_Out):
    """A snapshot is loaded and serving."""

    status: str
    snapshot_version: str
    source: str
    loaded_at: str


class IndexOut(_Out):
    """How the snapshot was indexed."""

    backend: str
    build_seconds: float


class RegistryOut(_Out):
    """The serving snapshot: version, dates and counts."""

    source: str
    snapshot_version: str
    generated_at: str
    loaded_at: str
    listings: int
    providers: int
    by_dpv: dict[str, int]
    by_lot: dict[str, int]
    by_dpv_status: dict[str, int]
    by_ofsted_registration: dict[str, int]
    open_alert_listings: int
    index: IndexOut


class AuthorityOut(_Out):
    """An English children's-services authority."""

    code: Annotated[str, Field(examples=["E09000015"])]
    name: str
    type: str
    lat: float
    lon: float
    easting: float
    northing: float
    aliases: list[str]
    superseded_codes: list[str]


class AuthorityRefOut(_Out):
    """An authority by code and name."""

    code: str
    name: str


class LocateOut(_Out):
    """A postcode, district or authority located to a WGS84 point."""

    query: str
    resolved_from: Annotated[str, Field(description="postcode_district | authority")]
    outcode: str | None = None
    lat: float
    lon: float
    country: str | None = None
    authority: AuthorityRefOut | None


class BoundaryOut(BaseModel):
    """A GeoJSON Feature: the authority's boundary (lon/lat), properties code, name, type."""

    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(examples=["Feature"])]
    geometry: dict[str, Any]
    properties: dict[str, Any]


class ReloadOut(_Out):
    """A snapshot reload that succeeded."""

    old_snapshot_version: str | None
    new_snapshot_version: str
    source: str
    loaded_at: str
    duration_ms: float


ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}


def error_responses(
    *statuses: int, descriptions: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` documenting the canonical error body for these statuses (`descriptions`
    replaces the default text of a status for these routes).

    The content type is spelled out (errors are always `application/json`): with `model=`
    FastAPI would file it under the route's own media type, e.g. `application/geo+json`.
    `DocumentedAPI` puts `ErrorBody` in the components.
    """
    described = {
        401: "Missing or malformed credentials.",
        403: "Credentials not accepted.",
        404: "No such resource.",
        413: "Request body larger than the configured limit.",
        415: "Request body is not application/json.",
        422: "A field is invalid, unknown or over a limit; `details` names each field.",
        503: "No registry snapshot loaded yet.",
    } | (descriptions or {})
    content = {"application/json": {"schema": ERROR_BODY_REF}}
    return {s: {"description": described.get(s, "Error."), "content": content} for s in statuses}


def iso(moment: datetime) -> str:
    """A UTC datetime as ISO 8601 text ending in Z."""
    return moment.isoformat().replace("+00:00", "Z")
