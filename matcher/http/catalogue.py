"""`GET /v1/catalogue`: every code a client needs to build its forms, with descriptions.

Read from the same modules the request schema and the index read
(`matcher.vocabulary.catalogue`, `matcher.vocabulary.reasons`, `matcher.bids.weights`,
`matcher.bids.contract_terms`), plus the limits and the contract terms this service runs
with, so the forms can never offer a code the service would refuse.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from matcher.bids.contract_terms import TermsBook
from matcher.bids.weights import COMPONENTS, DEFAULT_PROFILE, PROFILE_DESCRIPTIONS, PROFILES
from matcher.match.request import ShortlistRequest
from matcher.settings import Settings
from matcher.vocabulary.catalogue import (
    DPV_DESCRIPTIONS,
    GENDER_DESCRIPTIONS,
    LOT_DESCRIPTIONS,
    LOTS_BY_DPV,
    NEED_DESCRIPTIONS,
    RATING_DESCRIPTIONS,
    SEVERITY_DESCRIPTIONS,
    DpvStatus,
    OfstedRegistration,
    ServiceUnit,
)
from matcher.vocabulary.feedback_codes import (
    CHANGE_DESCRIPTIONS,
    EFFECT_DESCRIPTIONS,
    LOST_ON_DESCRIPTIONS,
    OUTCOME_DESCRIPTIONS,
)
from matcher.vocabulary.reasons import REASON_DESCRIPTIONS


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Term(_Out):
    """A code and what it means."""

    code: str
    description: str


class DpvOut(_Out):
    """A DPV, its lots and the contract terms (discounts) it is priced with."""

    code: str
    description: str
    lots: list[Term]
    contract_terms: dict[str, Any]


class ProfileOut(_Out):
    """A named set of best-match weights."""

    name: str
    description: str
    weights: dict[str, float]


class WeightsCatalogue(_Out):
    """Best-match score components and weight profiles."""

    default_profile: str
    components: list[Term]
    profiles: list[ProfileOut]


class FeedbackCatalogue(_Out):
    """Provider feedback: bid outcomes, why a valid bid lost, and the market's single changes."""

    outcomes: list[Term]
    lost_on: list[Term]
    changes: list[Term]
    effects: list[Term]


class LimitsOut(_Out):
    """Limits this service enforces on requests."""

    max_body_bytes: int
    max_batch_body_bytes: int
    max_bids: int
    max_radius_miles: float
    allocation_time_limit_s: float
    sufficiency_time_limit_s: float
    market_feedback_time_limit_s: float


class CatalogueOut(_Out):
    """The vocabularies of the API."""

    dpvs: list[DpvOut]
    needs: list[Term]
    genders: list[Term]
    ofsted_ratings: list[Term]
    ofsted_registrations: list[str]
    dpv_statuses: list[str]
    alert_severities: list[Term]
    service_units: list[str]
    reasons: list[Term]
    feedback: FeedbackCatalogue
    weights: WeightsCatalogue
    contract_terms_version: str
    limits: LimitsOut
    request_defaults: dict[str, Any]


def _terms(descriptions: dict[Any, str]) -> list[Term]:
    return [Term(code=str(code), description=text) for code, text in descriptions.items()]


def request_defaults() -> dict[str, Any]:
    """Defaults of the shortlist request's optional scalar fields (what a form pre-fills)."""
    out: dict[str, Any] = {}
    for name, info in ShortlistRequest.model_fields.items():
        if not info.is_required() and isinstance(info.default, bool | int | float | str):
            out[name] = info.default
    return out


def build_catalogue(settings: Settings, terms: TermsBook) -> CatalogueOut:
    """The catalogue for a service running with `settings` and `terms`."""
    return CatalogueOut(
        dpvs=[
            DpvOut(
                code=dpv.value,
                description=DPV_DESCRIPTIONS[dpv],
                lots=[Term(code=lot.value, description=LOT_DESCRIPTIONS[lot]) for lot in lots],
                contract_terms=terms.for_dpv(dpv).as_dict(),
            )
            for dpv, lots in LOTS_BY_DPV.items()
        ],
        needs=_terms(NEED_DESCRIPTIONS),
        genders=_terms(GENDER_DESCRIPTIONS),
        ofsted_ratings=_terms(RATING_DESCRIPTIONS),
        ofsted_registrations=[r.value for r in OfstedRegistration],
        dpv_statuses=[s.value for s in DpvStatus],
        alert_severities=_terms(SEVERITY_DESCRIPTIONS),
        service_units=[u.value for u in ServiceUnit],
        reasons=_terms(REASON_DESCRIPTIONS),
        feedback=FeedbackCatalogue(
            outcomes=_terms(OUTCOME_DESCRIPTIONS),
            lost_on=_terms(LOST_ON_DESCRIPTIONS),
            changes=_terms(CHANGE_DESCRIPTIONS),
            effects=_terms(EFFECT_DESCRIPTIONS),
        ),
        weights=WeightsCatalogue(
            default_profile=DEFAULT_PROFILE,
            components=_terms(COMPONENTS),
            profiles=[
                ProfileOut(name=name, description=PROFILE_DESCRIPTIONS[name], weights=weights)
                for name, weights in PROFILES.items()
            ],
        ),
        contract_terms_version=terms.version,
        limits=LimitsOut(
            max_body_bytes=settings.max_body_bytes,
            max_batch_body_bytes=settings.max_batch_body_bytes,
            max_bids=settings.max_bids,
            max_radius_miles=settings.max_radius_miles,
            allocation_time_limit_s=settings.allocation_time_limit_s,
            sufficiency_time_limit_s=settings.sufficiency_time_limit_s,
            market_feedback_time_limit_s=settings.market_feedback_time_limit_s,
        ),
        request_defaults=request_defaults(),
    )
