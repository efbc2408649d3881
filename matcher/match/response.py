"""The shortlist answer: response schema and its construction from index rows."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

import geodata
from matcher.match.criteria import Criteria
from matcher.match.eligibility import row_facts
from matcher.match.listing_json import listing_json, money_json
from matcher.match.request import METRES_PER_MILE
from matcher.match.shortlist import Hit, ShortlistResult
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import needs_from_mask
from matcher.vocabulary.reasons import REASON_BIT, Reason, reasons_from_bits
from matcher.vocabulary.rounding import float_texts, round_each

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


def miles_texts(metres: list[float]) -> list[bytes]:
    """`miles` of each distance, as the JSON text orjson writes for it (one column at once:
    `round_each` gives `round`'s floats, `float_texts` their text)."""
    return float_texts(round_each([m / METRES_PER_MILE for m in metres], 3))


def shortlist_body(
    index: RegistryIndex,
    criteria: Criteria,
    result: ShortlistResult,
    referral_id: str,
    decision: str,
    explain: bool,
) -> dict[str, Any]:
    """The answer as JSON-ready data for orjson, fields in the order of `ShortlistResponse`.

    The listings shown are `orjson.Fragment`s (their JSON text, mostly written once per
    snapshot: no Python object per field), so `orjson.dumps` of it gives exactly
    `ShortlistResponse`'s `model_dump_json()` (tested); `Matcher.shortlist` validates
    those bytes into the model.
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


def entries(index: RegistryIndex, criteria: Criteria, hits: list[Hit]) -> list[orjson.Fragment]:
    """The eligible listings as shown to the officer (`ShortlistEntry` fields, in order),
    each as its JSON text: the listing's fixed text (`matcher.match.listing_json`) around
    the referral's own fields (distance, in-area flag, ceiling on the start date)."""
    if not hits:
        return []
    row_list = [h.row for h in hits]
    rows = np.asarray(row_list, dtype=np.intp)
    ceilings = row_facts(index, rows, criteria).ceiling_pence
    in_area = index.in_area(rows, criteria.authority_code).tolist()
    parts = listing_json(index.registry).entry_parts(row_list)
    metres = [h.distance_m for h in hits]
    entry = b'{%b,"distance_miles":%b,"distance_m":%b,"in_area":%b,"ceiling_weekly_gbp":%b,%b}'
    return [
        orjson.Fragment(
            entry
            % (
                head,
                distance_miles,
                distance_m,
                b"true" if area else b"false",
                money_json(ceiling if ceiling > 0 else 0),
                tail,
            )
        )
        for (head, tail), distance_miles, distance_m, area, ceiling in zip(
            parts,
            miles_texts(metres),
            float_texts(round_each(metres, 1)),
            in_area,
            ceilings.tolist(),
            strict=True,
        )
    ]


def excluded_entries(
    index: RegistryIndex, criteria: Criteria, hits: list[Hit]
) -> list[orjson.Fragment]:
    """Excluded listings with all their reasons and the needs they lack (`ExcludedListing`),
    each as its JSON text (the listing's fixed text, then distance, reasons and needs)."""
    if not hits:
        return []
    reg = index.registry
    row_list = [h.row for h in hits]
    heads = listing_json(reg).excluded_head(row_list)
    needs = reg.needs_mask.take(np.asarray(row_list, dtype=np.intp)).tolist()
    return [
        orjson.Fragment(
            b'{%b,"distance_miles":%b,"reasons":%b,"missing_needs":%b}'
            % (
                head,
                distance_miles,
                _reasons_json(hit.bits),
                _needs_json(criteria.needs_mask & ~listing_needs if hit.bits & _NEEDS_BIT else 0),
            )
        )
        for hit, head, distance_miles, listing_needs in zip(
            hits, heads, miles_texts([h.distance_m for h in hits]), needs, strict=True
        )
    ]


@lru_cache(maxsize=4096)
def _reasons_json(bits: int) -> bytes:
    return orjson.dumps(reasons_from_bits(bits))


@lru_cache(maxsize=4096)
def _needs_json(mask: int) -> bytes:
    return orjson.dumps(needs_from_mask(mask))
