"""The shortlist answer: response schema and its construction from index rows."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

import geodata
from matcher.match.criteria import Criteria
from matcher.match.request import METRES_PER_MILE
from matcher.match.shortlist import Hit, ShortlistResult
from matcher.registry.columns import RATINGS, from_ordinal
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import needs_from_mask
from matcher.vocabulary.money import format_pence
from matcher.vocabulary.reasons import REASON_BIT, Reason, reasons_from_bits

_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorityRef(_Out):
    """An authority by code and official name."""

    code: str
    name: str


class ResolvedOrigin(_Out):
    """The point distances were measured from, and how it was found."""

    lat: float
    lon: float
    resolved_from: Annotated[str, Field(description="authority | point | postcode_district")]
    label: str


class AlertOut(_Out):
    """An open safeguarding alert shown against a listing (not excluding under the policy)."""

    id: str
    raised_by: str
    raised_on: str
    severity: str


class ShortlistEntry(_Out):
    """An eligible listing that should receive the referral."""

    listing_id: str
    provider_id: str
    provider_name: str
    name: str
    lat: float
    lon: float
    distance_miles: float
    distance_m: float
    in_area: Annotated[bool, Field(description="Inside the placing authority's boundary.")]
    ceiling_weekly_gbp: Annotated[str, Field(description="Ceiling for the lot on start date.")]
    vacancies: int
    available_from: str | None
    ofsted_rating: str
    ofsted_urn: str
    open_alerts: list[AlertOut]
    kpi_score: float | None


class ExcludedListing(_Out):
    """A listing within the radius that cannot receive the referral, with every reason."""

    listing_id: str
    provider_id: str
    name: str
    lat: float
    lon: float
    distance_miles: float
    reasons: list[str]
    missing_needs: list[str]


class WidenedCount(_Out):
    """How many listings would be eligible at a wider radius."""

    max_distance_miles: float
    eligible_count: int


class ShortlistResponse(_Out):
    """The answer to a shortlist request."""

    referral_id: str
    decision_id: str
    snapshot_version: str
    placing_authority: AuthorityRef
    origin: ResolvedOrigin
    max_distance_miles: float
    eligible_count: int
    shortlist: list[ShortlistEntry]
    within_radius_count: int
    excluded_counts: Annotated[
        dict[str, int],
        Field(description="Listings in the whole registry excluded by each reason code."),
    ]
    excluded_within_radius_count: int
    excluded_within_radius: list[ExcludedListing]
    widen_search: list[WidenedCount]


def miles(metres: float) -> float:
    """Metres to miles, rounded to 3 decimals for display (ordering uses full precision)."""
    return round(metres / METRES_PER_MILE, 3)


def entry(index: RegistryIndex, criteria: Criteria, hit: Hit, in_area: bool) -> dict[str, Any]:
    """One eligible listing as shown to the officer."""
    reg = index.registry
    row = hit.row
    ceiling = reg.ceiling_pence(row, criteria.lot, criteria.start_date)
    kpi = float(reg.kpi_score[row])
    return dict(
        listing_id=hit.listing_id,
        provider_id=reg.provider_ids[row],
        provider_name=reg.provider_names[row],
        name=reg.names[row],
        lat=float(reg.lat[row]),
        lon=float(reg.lon[row]),
        distance_miles=miles(hit.distance_m),
        distance_m=round(hit.distance_m, 1),
        in_area=in_area,
        ceiling_weekly_gbp=format_pence(ceiling if ceiling is not None else 0),
        vacancies=int(reg.vacancies[row]),
        available_from=from_ordinal(int(reg.available_from[row])),
        ofsted_rating=RATINGS[reg.rating[row]].value,
        ofsted_urn=reg.ofsted_urn[row],
        open_alerts=reg.open_alerts(row),
        kpi_score=None if np.isnan(kpi) else kpi,
    )


def excluded(index: RegistryIndex, criteria: Criteria, hit: Hit) -> dict[str, Any]:
    """One excluded listing with all its reasons (and the needs it lacks)."""
    reg = index.registry
    missing = 0
    if hit.bits & _NEEDS_BIT:
        missing = criteria.needs_mask & ~int(reg.needs_mask[hit.row])
    return dict(
        listing_id=hit.listing_id,
        provider_id=reg.provider_ids[hit.row],
        name=reg.names[hit.row],
        lat=float(reg.lat[hit.row]),
        lon=float(reg.lon[hit.row]),
        distance_miles=miles(hit.distance_m),
        reasons=reasons_from_bits(hit.bits),
        missing_needs=needs_from_mask(missing),
    )


def in_area_flags(index: RegistryIndex, criteria: Criteria, rows: list[int]) -> list[bool]:
    """Whether each row lies inside the placing authority's boundary."""
    if not rows:
        return []
    reg = index.registry
    idx = np.asarray(rows, dtype=np.intp)
    inside = geodata.in_authority(criteria.authority_code, reg.lat[idx], reg.lon[idx])
    return [bool(x) for x in inside]


def build_shortlist_response(
    index: RegistryIndex,
    criteria: Criteria,
    result: ShortlistResult,
    referral_id: str,
    decision: str,
    explain: bool,
) -> ShortlistResponse:
    """Assemble the answer from the result rows."""
    authority = geodata.authority(criteria.authority_code)
    flags = in_area_flags(index, criteria, [h.row for h in result.shortlist])
    origin = criteria.origin
    return ShortlistResponse.model_validate(
        dict(
            referral_id=referral_id,
            decision_id=decision,
            snapshot_version=index.registry.version,
            placing_authority={"code": authority.code, "name": authority.name},
            origin={
                "lat": origin.lat,
                "lon": origin.lon,
                "resolved_from": origin.how,
                "label": origin.label,
            },
            max_distance_miles=round(criteria.max_distance_m / METRES_PER_MILE, 6),
            eligible_count=result.eligible_count,
            shortlist=[
                entry(index, criteria, hit, flag)
                for hit, flag in zip(result.shortlist, flags, strict=True)
            ],
            within_radius_count=result.within_radius_count,
            excluded_counts=dict(sorted(result.excluded_counts.items())),
            excluded_within_radius_count=result.excluded_within_radius_count,
            excluded_within_radius=(
                [excluded(index, criteria, hit) for hit in result.excluded_within_radius]
                if explain
                else []
            ),
            widen_search=[
                {
                    "max_distance_miles": round(w.radius_m / METRES_PER_MILE, 3),
                    "eligible_count": w.eligible_count,
                }
                for w in result.widened
            ],
        )
    )
