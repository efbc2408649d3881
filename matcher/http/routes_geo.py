"""GET /v1/authorities, /v1/authorities/{code}/boundary and /v1/locate: the geography.

Plain `def` handlers: the first call loads geodata's files and boundary geometry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

import geodata
from matcher.geo_views import authority_json, locate_json
from matcher.http.schemas import AuthorityOut, BoundaryOut, LocateOut, error_responses
from matcher.match.request import resolve_authority
from matcher.vocabulary.errors import ErrorDetail, NotFoundError

router = APIRouter(prefix="/v1", tags=["geography"])

Q = Annotated[str, Query(min_length=1, max_length=100, description="A code or a name.")]


class GeoJSONResponse(JSONResponse):
    """JSON served as `application/geo+json` (RFC 7946), and documented as such."""

    media_type = "application/geo+json"


@router.get(
    "/authorities",
    summary="List the authorities, or look one up",
    response_model=list[AuthorityOut] | AuthorityOut,
    responses=error_responses(401, 403, 422),
)
def authorities(q: Q | None = None) -> Any:
    """Every English children's-services authority; with `?q=` the one matching a code or
    name (422 `unknown_authority` with `suggestions` when none does)."""
    if q is not None:
        return JSONResponse(authority_json(resolve_authority(q, field="q")))
    return JSONResponse([authority_json(a) for a in geodata.authorities()])


@router.get(
    "/authorities/{code}/boundary",
    summary="An authority's boundary as GeoJSON",
    response_model=BoundaryOut,
    response_class=GeoJSONResponse,
    responses=error_responses(401, 403, 404, 422),
)
def boundary(
    code: Annotated[str, Path(min_length=1, max_length=100, examples=["E09000015"])],
) -> Any:
    """A GeoJSON Feature (lon/lat) with the authority's code, name and type."""
    try:
        feature = geodata.boundary_geojson(code)
    except geodata.UnknownAuthorityError as exc:
        raise NotFoundError(
            exc.message,
            [ErrorDetail("code", exc.message, {"suggestions": list(exc.suggestions)})],
        ) from None
    except geodata.GeodataError as exc:
        raise NotFoundError(exc.message, [ErrorDetail("code", exc.message)]) from None
    return GeoJSONResponse(feature)


@router.get(
    "/locate",
    summary="Locate a postcode, postcode district or authority",
    response_model=LocateOut,
    responses=error_responses(401, 403, 422),
)
def locate(
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["IG11"])],
) -> Any:
    """A point for a postcode or district (or an authority name), and its authority."""
    return JSONResponse(locate_json(q))
