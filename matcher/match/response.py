"""The shortlist answer: response schema and its construction from index rows."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

import geodata
from matcher.match.criteria import Criteria
from matcher.match.request import METRES_PER_MILE
from matcher.match.shortlist import Hit, ShortlistResult
from matcher.registry.columns import RATINGS, UNITS, from_ordinal
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import LOT_CODE, needs_from_mask
from matcher.vocabulary.money import format_pence
from matcher.vocabulary.reasons import REASON_BIT, Reason, reasons_from_bits

_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]
RATING_CODES = tuple(rating.value for rating in RATINGS)
UNIT_CODES = tuple(unit.value for unit in UNITS)


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


class ServiceRateOut(_Out):
    """An additional service on a listing's tendered menu (what a bid may add)."""

    code: str
    unit: str
    rate_gbp: str


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
    additional_services: Annotated[
        list[ServiceRateOut],
        Field(description="The listing's tendered menu: services a bid may add, per unit."),
    ]


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


def shortlist_body(
    index: RegistryIndex,
    criteria: Criteria,
    result: ShortlistResult,
    referral_id: str,
    decision: str,
    explain: bool,
) -> dict[str, Any]:
    """The answer as plain JSON-ready data, fields in the order of `ShortlistResponse`.

    Built column by column for the rows the answer shows (no model per row), so that
    serialising it with any JSON encoder gives exactly `ShortlistResponse`'s
    `model_dump_json()` (tested); `build_shortlist_response` validates it into the model.
    """
    authority = geodata.authority(criteria.authority_code)
    origin = criteria.origin
    return {
        "referral_id": referral_id,
        "decision_id": decision,
        "snapshot_version": index.registry.version,
        "placing_authority": {"code": authority.code, "name": authority.name},
        "origin": {
            "lat": origin.lat,
            "lon": origin.lon,
            "resolved_from": origin.how,
            "label": origin.label,
        },
        "max_distance_miles": round(criteria.max_distance_m / METRES_PER_MILE, 6),
        "eligible_count": result.eligible_count,
        "shortlist": entries(index, criteria, result.shortlist),
        "within_radius_count": result.within_radius_count,
        "excluded_counts": dict(sorted(result.excluded_counts.items())),
        "excluded_within_radius_count": result.excluded_within_radius_count,
        "excluded_within_radius": (
            excluded_entries(index, criteria, result.excluded_within_radius) if explain else []
        ),
        "widen_search": [
            {
                "max_distance_miles": round(w.radius_m / METRES_PER_MILE, 3),
                "eligible_count": w.eligible_count,
            }
            for w in result.widened
        ],
    }


def entries(index: RegistryIndex, criteria: Criteria, hits: list[Hit]) -> list[dict[str, Any]]:
    """The eligible listings as shown to the officer (`ShortlistEntry` fields, in order)."""
    if not hits:
        return []
    reg = index.registry
    rows = np.fromiter((h.row for h in hits), dtype=np.intp, count=len(hits))
    row_list = rows.tolist()
    ceilings = index.lot_ceilings[LOT_CODE[criteria.lot]].pence_on(rows, criteria.start_date)
    in_area = index.in_area(rows, criteria.authority_code).tolist()
    kpi = reg.kpi_score.take(rows)
    kpis = np.where(np.isnan(kpi), -1.0, kpi).tolist()
    offsets = reg.alerts.offsets
    alerts = (offsets.take(rows + 1) - offsets.take(rows)).tolist()
    out = [
        {
            "listing_id": hit.listing_id,
            "provider_id": reg.provider_ids[row],
            "provider_name": reg.provider_names[row],
            "name": reg.names[row],
            "lat": lat,
            "lon": lon,
            "distance_miles": miles(hit.distance_m),
            "distance_m": round(hit.distance_m, 1),
            "in_area": area,
            "ceiling_weekly_gbp": format_pence(max(ceiling, 0)),
            "vacancies": vacancies,
            "available_from": from_ordinal(available) if available else None,
            "ofsted_rating": RATING_CODES[rating],
            "ofsted_urn": reg.ofsted_urn[row],
            "open_alerts": reg.open_alerts(row) if has_alerts else [],
            "kpi_score": None if k < 0 else k,
        }
        for hit, row, lat, lon, area, ceiling, vacancies, available, rating, has_alerts, k in zip(
            hits,
            row_list,
            reg.lat.take(rows).tolist(),
            reg.lon.take(rows).tolist(),
            in_area,
            ceilings.tolist(),
            reg.vacancies.take(rows).tolist(),
            reg.available_from.take(rows).tolist(),
            reg.rating.take(rows).tolist(),
            alerts,
            kpis,
            strict=True,
        )
    ]
    # The menu last, as in `ShortlistEntry`; most listings tender none.
    for entry, menu in zip(out, service_menus(index, rows), strict=True):
        entry["additional_services"] = menu
    return out


@lru_cache(maxsize=4096)
def _rate_text(pence: int) -> str:
    """Menu rates repeat across listings: format each once."""
    return format_pence(pence)


def service_menus(index: RegistryIndex, rows: npt.NDArray[np.intp]) -> list[list[dict[str, str]]]:
    """Each row's tendered menu as reported (`ServiceRateOut` fields), gathered in one pass."""
    reg = index.registry
    offsets = reg.services.offsets
    starts = offsets.take(rows)
    counts = offsets.take(rows + 1) - starts
    total = int(counts.sum())
    if not total:
        return [[] for _ in range(len(rows))]
    ends = np.cumsum(counts)
    items = np.repeat(starts - (ends - counts), counts) + np.arange(total)
    codes = reg.svc_code
    flat = [
        {"code": codes[k], "unit": UNIT_CODES[unit], "rate_gbp": _rate_text(pence)}
        for k, unit, pence in zip(
            items.tolist(),
            reg.svc_unit.take(items).tolist(),
            reg.svc_pence.take(items).tolist(),
            strict=True,
        )
    ]
    bounds = ends.tolist()
    return [flat[end - n : end] for end, n in zip(bounds, counts.tolist(), strict=True)]


def excluded_entries(
    index: RegistryIndex, criteria: Criteria, hits: list[Hit]
) -> list[dict[str, Any]]:
    """Excluded listings with all their reasons and the needs they lack (`ExcludedListing`)."""
    if not hits:
        return []
    reg = index.registry
    rows = np.fromiter((h.row for h in hits), dtype=np.intp, count=len(hits))
    needs = reg.needs_mask.take(rows).tolist()
    return [
        {
            "listing_id": hit.listing_id,
            "provider_id": reg.provider_ids[hit.row],
            "name": reg.names[hit.row],
            "lat": lat,
            "lon": lon,
            "distance_miles": miles(hit.distance_m),
            "reasons": reasons_from_bits(hit.bits),
            "missing_needs": needs_from_mask(
                criteria.needs_mask & ~listing_needs if hit.bits & _NEEDS_BIT else 0
            ),
        }
        for hit, lat, lon, listing_needs in zip(
            hits, reg.lat.take(rows).tolist(), reg.lon.take(rows).tolist(), needs, strict=True
        )
    ]


def build_shortlist_response(
    index: RegistryIndex,
    criteria: Criteria,
    result: ShortlistResult,
    referral_id: str,
    decision: str,
    explain: bool,
) -> ShortlistResponse:
    """The answer as the response model (validated from `shortlist_body`)."""
    return ShortlistResponse.model_validate(
        shortlist_body(index, criteria, result, referral_id, decision, explain)
    )
