"""The registry snapshot format: the brokerage system's read-only export of the DPVs.

Pydantic models define the format and publish its JSON Schema (`matcher schema registry`).
They are used at the boundary only: a loaded snapshot is turned into numpy columns
(`matcher.registry.columns.Registry`) and the models are dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from matcher.vocabulary.catalogue import (
    AlertSeverity,
    AlertStatus,
    Dpv,
    DpvStatus,
    Gender,
    Lot,
    Need,
    OfstedRating,
    OfstedRegistration,
    ServiceUnit,
)
from matcher.vocabulary.money import MoneyStr

SCHEMA_VERSION = 1
# Patterns (also read by the fast path, `matcher.registry.columnar`).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
AUTHORITY_CODE_PATTERN = r"^E(06|07|08|09|10)[0-9]{6}$"
SERVICE_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


def _iso_date_only(value: object) -> object:
    """Accept a date or exactly "YYYY-MM-DD": no timestamps, no datetimes, no numbers."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only), Field(examples=["2026-12-01"])]
ServiceCode = Annotated[str, Field(pattern=SERVICE_CODE_PATTERN)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointLocation(_Frozen):
    """A WGS84 point."""

    lat: Lat
    lon: Lon


class PostcodeLocation(_Frozen):
    """A full postcode; located at its postcode district's centroid."""

    postcode: Annotated[str, Field(min_length=5, max_length=8)]


class DistrictLocation(_Frozen):
    """A postcode district (outcode), located at the centroid of its live postcodes."""

    postcode_district: Annotated[str, Field(min_length=2, max_length=4)]


def _location_kind(value: Any) -> str | None:
    """Which location form a value is, from its keys, so only that form is validated.

    Without it pydantic tries all three forms on every listing (a quarter of the load time
    at 100k listings) and a bad point reports the failures of the two postcode forms too.
    """
    if isinstance(value, dict):
        if "postcode" in value:
            return "postcode"
        if "postcode_district" in value:
            return "postcode_district"
        return "point"
    return _LOCATION_TAGS.get(type(value))


Location = Annotated[
    Annotated[PointLocation, Tag("point")]
    | Annotated[PostcodeLocation, Tag("postcode")]
    | Annotated[DistrictLocation, Tag("postcode_district")],
    Discriminator(
        _location_kind,
        custom_error_type="location_form",
        custom_error_message="expected {lat, lon}, {postcode} or {postcode_district}",
    ),
]
_LOCATION_TAGS: dict[type, str] = {
    PointLocation: "point",
    PostcodeLocation: "postcode",
    DistrictLocation: "postcode_district",
}


class Capacity(_Frozen):
    """Registered places, current vacancies, and when the next vacancy opens."""

    places: Annotated[int, Field(ge=0, le=1000)]
    vacancies: Annotated[int, Field(ge=0, le=1000)]
    available_from: IsoDate | None = None

    @model_validator(mode="after")
    def _vacancies_within_places(self) -> Capacity:
        if self.vacancies > self.places:
            raise ValueError("vacancies exceed places")
        return self


class Ofsted(_Frozen):
    """The setting's Ofsted registration, latest rating, and any admissions restriction."""

    urn: Annotated[str, Field(min_length=1, max_length=20)]
    registration: OfstedRegistration
    rating: OfstedRating
    inspected_on: IsoDate | None = None
    admissions_restricted_until: IsoDate | None = None


class SafeguardingAlert(_Frozen):
    """An alert raised by any LA; visible to all LAs (DOMAIN rule 3)."""

    id: Id
    raised_by: Annotated[str, Field(pattern=AUTHORITY_CODE_PATTERN)]
    raised_on: IsoDate
    severity: AlertSeverity
    status: AlertStatus


class Ceiling(_Frozen):
    """The provider's ceiling weekly price for one lot, fixed for a period (DOMAIN rule 4)."""

    lot: Lot
    weekly_gbp: MoneyStr
    valid_from: IsoDate
    valid_to: IsoDate

    @model_validator(mode="after")
    def _period_ordered(self) -> Ceiling:
        if self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        return self


class AdditionalService(_Frozen):
    """A priced item on the provider's tendered menu (extra staffing, education...)."""

    code: ServiceCode
    unit: ServiceUnit
    rate_gbp: MoneyStr


class Listing(_Frozen):
    """One home, fostering offer or school that can receive referrals."""

    id: Id
    provider_id: Id
    provider_name: Text
    name: Text
    dpv: Dpv
    lots: Annotated[list[Lot], Field(min_length=1, max_length=9)]
    location: Location
    genders: Annotated[list[Gender], Field(min_length=1, max_length=3)]
    age_min: Annotated[int, Field(ge=0, le=25)]
    age_max: Annotated[int, Field(ge=0, le=25)]
    needs: Annotated[list[Need], Field(max_length=15)] = []
    capacity: Capacity
    max_sibling_group: Annotated[int, Field(ge=1, le=10)] = 1
    ofsted: Ofsted
    dpv_status: DpvStatus
    safeguarding_alerts: Annotated[list[SafeguardingAlert], Field(max_length=100)] = []
    ceilings: Annotated[list[Ceiling], Field(max_length=50)] = []
    additional_services: Annotated[list[AdditionalService], Field(max_length=50)] = []
    kpi_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None


class RegistrySnapshot(_Frozen):
    """A whole registry export. Refused as a whole if any listing is invalid."""

    schema_version: Literal[1]
    generated_at: datetime
    listings: list[Listing]


__all__ = [
    "SCHEMA_VERSION",
    "AdditionalService",
    "Capacity",
    "Ceiling",
    "DistrictLocation",
    "Listing",
    "Location",
    "Ofsted",
    "PointLocation",
    "PostcodeLocation",
    "RegistrySnapshot",
    "SafeguardingAlert",
]
