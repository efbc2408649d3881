"""The shortlist request body, shared verbatim by the CLI and the HTTP API, and its resolution.

Pydantic validates shape, codes and ranges and publishes the JSON Schema; `resolve_criteria`
then does what needs the geography (authority names, postcodes, Great Britain extent) and
the lot/DPV cross-check, raising `RequestError`s that name the field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
)

import geodata
from matcher.match.criteria import Criteria, Origin
from matcher.registry.snapshot import Id, IsoDate, Lat, Lon
from matcher.vocabulary import errors
from matcher.vocabulary.catalogue import (
    LOTS_BY_DPV,
    Dpv,
    Gender,
    Lot,
    Need,
    OfstedRating,
    lot_belongs_to,
    needs_mask,
)

METRES_PER_MILE = geodata.METRES_PER_MILE

# Numbers and booleans are strict: JSON `true` is not 1.0 (a one-mile radius), and 0 or "no"
# is not a boolean. Strict floats still accept JSON integers, and integers accept a number
# with no fractional part (7.0), as the published JSON Schema's "integer" does; never "7".
StrictBool = Annotated[bool, Strict()]


def _integral(value: object) -> object:
    """7.0 -> 7 (JSON Schema's integer); anything else is left for the strict int check."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# Last in an `Annotated[int, Strict(), Field(...), Integral]`: placed before `Field`, pydantic
# would publish the bounds as unknown `ge`/`le` keys instead of minimum/maximum.
Integral = BeforeValidator(_integral)


class RequestBody(BaseModel):
    """Every request body: unknown fields refused, immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Child(RequestBody):
    """The child (or the eldest of a sibling group): used to filter, never stored or logged."""

    age: Annotated[int, Strict(), Field(ge=0, le=25), Integral]
    gender: Gender
    needs: Annotated[list[Need], Field(max_length=15)] = []
    secondary_needs: Annotated[
        list[Need],
        Field(max_length=15, description="Needs that are desirable, not required (best match)."),
    ] = []

    @field_validator("needs", "secondary_needs")
    @classmethod
    def _unique(cls, value: list[Need]) -> list[Need]:
        if len(set(value)) != len(value):
            raise ValueError("need codes must be unique")
        return value


class PointOrigin(RequestBody):
    """Measure distances from this WGS84 point."""

    lat: Annotated[Lat, Strict()]
    lon: Annotated[Lon, Strict()]


class DistrictOrigin(RequestBody):
    """Measure distances from a postcode district's (or a full postcode's district's) centre."""

    postcode_district: Annotated[str, Field(min_length=2, max_length=8)]


class ShortlistRequest(RequestBody):
    """A child's referral: who should receive it (DOMAIN rule 1)."""

    referral_id: Id
    placing_authority: Annotated[
        str, Field(min_length=1, max_length=100, description="ONS code or any accepted name.")
    ]
    dpv: Dpv
    lot: Lot
    child: Child
    sibling_group_size: Annotated[int, Strict(), Field(ge=1, le=10), Integral] = 1
    expected_duration_weeks: Annotated[int, Strict(), Field(ge=1, le=520), Integral] = 52
    start_date: IsoDate
    origin: PointOrigin | DistrictOrigin | None = None
    max_distance_miles: Annotated[float, Strict(), Field(gt=0, le=1000, allow_inf_nan=False)] = 20.0
    min_ofsted_rating: Literal["outstanding", "good", "requires_improvement", "inadequate"] = (
        "requires_improvement"
    )
    accept_not_yet_inspected: StrictBool = True
    exclude_listing_ids: Annotated[list[Id], Field(max_length=1000)] = []
    preferred_listing_ids: Annotated[
        list[Id],
        Field(max_length=50, description="Parental/child preference (best-match component)."),
    ] = []
    limit: Annotated[int, Strict(), Field(ge=1, le=500), Integral] = 50
    order_by: Literal["distance"] = "distance"
    explain: StrictBool = True
    explain_limit: Annotated[int, Strict(), Field(ge=0, le=1000), Integral] = 100

    @field_validator("lot")
    @classmethod
    def _lot_in_dpv(cls, lot: Lot, info: ValidationInfo) -> Lot:
        # `dpv` is declared before `lot`, so it is in `info.data` when it was valid itself.
        dpv = info.data.get("dpv")
        if dpv is not None and not lot_belongs_to(dpv, lot):
            allowed = ", ".join(item.value for item in LOTS_BY_DPV[dpv])
            raise ValueError(
                f"lot {lot.value!r} does not belong to dpv {dpv.value!r} (allowed: {allowed})"
            )
        return lot


def resolve_criteria(req: ShortlistRequest, max_radius_miles: float) -> Criteria:
    """Resolve names, postcodes and limits into the criteria the index evaluates."""
    if req.max_distance_miles > max_radius_miles:
        raise errors.LimitExceededError(
            f"max_distance_miles is above the configured maximum of {max_radius_miles:g}",
            field="max_distance_miles",
            limit=max_radius_miles,
        )
    authority = resolve_authority(req.placing_authority)
    origin = resolve_origin(req.origin, authority)
    return Criteria(
        authority_code=authority.code,
        dpv=req.dpv,
        lot=req.lot,
        age=req.child.age,
        gender=req.child.gender,
        needs_mask=needs_mask(req.child.needs),
        sibling_group_size=req.sibling_group_size,
        start_date=req.start_date.toordinal(),
        origin=origin,
        max_distance_m=req.max_distance_miles * METRES_PER_MILE,
        min_rating=OfstedRating(req.min_ofsted_rating),
        accept_not_yet_inspected=req.accept_not_yet_inspected,
        exclude_listing_ids=frozenset(req.exclude_listing_ids),
    )


def resolve_authority(query: str, field: str = "placing_authority") -> geodata.Authority:
    """An authority by code or name, or a 422 naming the closest matches."""
    try:
        return geodata.authority(query)
    except geodata.UnknownAuthorityError as exc:
        raise errors.UnknownAuthorityError(
            exc.message, field=field, suggestions=list(exc.suggestions)
        ) from None
    except geodata.GeodataError as exc:
        raise errors.UnknownAuthorityError(exc.message, field=field, suggestions=[]) from None


def resolve_origin(
    origin: PointOrigin | DistrictOrigin | None, authority: geodata.Authority
) -> Origin:
    """The point distances are measured from (default: the authority's population centre)."""
    if origin is None:
        return Origin(authority.lat, authority.lon, "authority", authority.code)
    if isinstance(origin, PointOrigin):
        try:
            geodata.check_in_great_britain(origin.lat, origin.lon)
        except geodata.GeodataError as exc:
            raise errors.OutsideCoverageError(exc.message, field="origin") from None
        return Origin(origin.lat, origin.lon, "point", f"{origin.lat:.6f},{origin.lon:.6f}")
    district = locate_district(origin.postcode_district, field="origin.postcode_district")
    return Origin(district.lat, district.lon, "postcode_district", district.outcode)


def locate_district(query: str, field: str) -> geodata.Outcode:
    """A postcode district (or a full postcode's district), or a 422 with suggestions."""
    try:
        return geodata.outcode(query)
    except geodata.OutsideCoverageError as exc:
        raise errors.OutsideCoverageError(exc.message, field=field) from None
    except geodata.UnknownPostcodeError as exc:
        raise errors.UnknownLocationError(
            exc.message, field=field, suggestions=list(exc.suggestions)
        ) from None
