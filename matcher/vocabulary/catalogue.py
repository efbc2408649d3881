"""The vocabularies matcher speaks: DPVs and their lots, need codes, genders, Ofsted terms.

One module so that the snapshot schema, the request schema, the index bitmasks and
`GET /v1/catalogue` all read the same codes and the same descriptions. Codes are stable
strings; their *position* in each tuple defines the bit used in the index bitmasks, so
codes are only ever appended, never reordered.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class Dpv(StrEnum):
    """A Dynamic Purchasing Vehicle: one marketplace per category of care."""

    FOSTERING = "fostering"
    RESIDENTIAL = "residential"
    SEN = "sen"


class Lot(StrEnum):
    """A sub-category of a DPV; a provider is approved per lot and sets a ceiling per lot."""

    STANDARD = "standard"
    COMPLEX = "complex"
    PARENT_AND_CHILD = "parent_and_child"
    EMERGENCY = "emergency"
    THERAPEUTIC = "therapeutic"
    SOLO = "solo"
    DISABILITY = "disability"
    DAY = "day"
    RESIDENTIAL = "residential"


class Need(StrEnum):
    """A child's need that a listing declares it can meet (Ofsted categories first)."""

    EMOTIONAL_BEHAVIOURAL = "emotional_behavioural"
    MENTAL_HEALTH = "mental_health"
    LEARNING_DISABILITY = "learning_disability"
    PHYSICAL_DISABILITY = "physical_disability"
    SENSORY_IMPAIRMENT = "sensory_impairment"
    SUBSTANCE_MISUSE = "substance_misuse"
    AUTISM = "autism"
    CSE_RISK = "cse_risk"
    CCE_RISK = "cce_risk"
    MISSING_EPISODES = "missing_episodes"
    SELF_HARM = "self_harm"
    OFFENDING = "offending"
    UASC = "uasc"
    COMPLEX_HEALTH = "complex_health"
    PARENT_AND_CHILD = "parent_and_child"


class Gender(StrEnum):
    """A gender a listing accepts, and the child's gender on a referral."""

    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class OfstedRating(StrEnum):
    """Overall effectiveness at the last full inspection (or none yet)."""

    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"
    NOT_YET_INSPECTED = "not_yet_inspected"


class OfstedRegistration(StrEnum):
    """State of the setting's registration with Ofsted."""

    REGISTERED = "registered"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


class DpvStatus(StrEnum):
    """A provider's standing on the DPV; only `active` may receive referrals."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    BARRED = "barred"


class AlertSeverity(StrEnum):
    """Severity of a safeguarding alert raised by a local authority."""

    LOW = "low"
    MODERATE = "moderate"
    SERIOUS = "serious"


class AlertStatus(StrEnum):
    """Whether a safeguarding alert is still open."""

    OPEN = "open"
    CLOSED = "closed"


class ServiceUnit(StrEnum):
    """The unit an additional service is priced in on the provider's tendered menu."""

    HOUR = "hour"
    SESSION = "session"
    DAY = "day"
    WEEK = "week"


LOTS_BY_DPV: dict[Dpv, tuple[Lot, ...]] = {
    Dpv.FOSTERING: (Lot.STANDARD, Lot.COMPLEX, Lot.PARENT_AND_CHILD, Lot.EMERGENCY),
    Dpv.RESIDENTIAL: (Lot.STANDARD, Lot.THERAPEUTIC, Lot.SOLO, Lot.DISABILITY),
    Dpv.SEN: (Lot.DAY, Lot.RESIDENTIAL),
}

DPV_DESCRIPTIONS: dict[Dpv, str] = {
    Dpv.FOSTERING: "Independent fostering agencies (IFAs) offering foster households.",
    Dpv.RESIDENTIAL: "Children's residential homes registered with Ofsted.",
    Dpv.SEN: "Independent and non-maintained special schools (day or residential).",
}

LOT_DESCRIPTIONS: dict[Lot, str] = {
    Lot.STANDARD: "Standard placement for the DPV's category.",
    Lot.COMPLEX: "Foster care for children with complex or challenging needs.",
    Lot.PARENT_AND_CHILD: "Parent and child placement with assessment.",
    Lot.EMERGENCY: "Same-day or out-of-hours emergency placement.",
    Lot.THERAPEUTIC: "Residential care with an integrated therapeutic model.",
    Lot.SOLO: "Solo (single-occupancy) residential placement, often with high staffing.",
    Lot.DISABILITY: "Residential care for children with disabilities.",
    Lot.DAY: "Day placement at a special school.",
    Lot.RESIDENTIAL: "Residential (boarding) placement at a special school.",
}

NEED_DESCRIPTIONS: dict[Need, str] = {
    Need.EMOTIONAL_BEHAVIOURAL: "Emotional and behavioural difficulties (Ofsted category).",
    Need.MENTAL_HEALTH: "Mental health needs (Ofsted category).",
    Need.LEARNING_DISABILITY: "Learning disability (Ofsted category).",
    Need.PHYSICAL_DISABILITY: "Physical disability (Ofsted category).",
    Need.SENSORY_IMPAIRMENT: "Sensory impairment (Ofsted category).",
    Need.SUBSTANCE_MISUSE: "Drug or alcohol misuse (Ofsted category).",
    Need.AUTISM: "Autism spectrum condition.",
    Need.CSE_RISK: "At risk of child sexual exploitation.",
    Need.CCE_RISK: "At risk of child criminal exploitation (including county lines).",
    Need.MISSING_EPISODES: "History of going missing from care or home.",
    Need.SELF_HARM: "Self-harm or suicidal ideation.",
    Need.OFFENDING: "Offending behaviour or youth justice involvement.",
    Need.UASC: "Unaccompanied asylum-seeking child.",
    Need.COMPLEX_HEALTH: "Complex health needs requiring clinical support.",
    Need.PARENT_AND_CHILD: "A parent placed with their child for support or assessment.",
}

GENDER_DESCRIPTIONS: dict[Gender, str] = {
    Gender.MALE: "Male.",
    Gender.FEMALE: "Female.",
    Gender.OTHER: "Another gender identity; listings opt in explicitly.",
}

RATING_DESCRIPTIONS: dict[OfstedRating, str] = {
    OfstedRating.OUTSTANDING: "Outstanding.",
    OfstedRating.GOOD: "Good.",
    OfstedRating.REQUIRES_IMPROVEMENT: "Requires improvement to be good.",
    OfstedRating.INADEQUATE: "Inadequate.",
    OfstedRating.NOT_YET_INSPECTED: "Registered but not yet inspected (new settings).",
}

# Higher is better. `not_yet_inspected` has no place on the scale: a referral says
# separately whether it accepts uninspected settings (see Referral.accept_not_yet_inspected).
RATING_RANK: dict[OfstedRating, int] = {
    OfstedRating.INADEQUATE: 1,
    OfstedRating.REQUIRES_IMPROVEMENT: 2,
    OfstedRating.GOOD: 3,
    OfstedRating.OUTSTANDING: 4,
    OfstedRating.NOT_YET_INSPECTED: 0,
}

SEVERITY_DESCRIPTIONS: dict[AlertSeverity, str] = {
    AlertSeverity.LOW: "Low: shown against the provider, never excludes.",
    AlertSeverity.MODERATE: "Moderate: shown; excludes only under a strict policy.",
    AlertSeverity.SERIOUS: "Serious: excludes the listing under the default policy.",
}

# Bit positions used by the index (stable: append only).
LOT_BIT: dict[Lot, int] = {lot: 1 << i for i, lot in enumerate(Lot)}
NEED_BIT: dict[Need, int] = {need: 1 << i for i, need in enumerate(Need)}
GENDER_BIT: dict[Gender, int] = {g: 1 << i for i, g in enumerate(Gender)}
DPV_CODE: dict[Dpv, int] = {d: i for i, d in enumerate(Dpv)}
LOT_CODE: dict[Lot, int] = {lot: i for i, lot in enumerate(Lot)}
NEEDS_BY_BIT: tuple[Need, ...] = tuple(Need)
REGISTRATION_CODE: dict[OfstedRegistration, int] = {r: i for i, r in enumerate(OfstedRegistration)}
DPV_STATUS_CODE: dict[DpvStatus, int] = {s: i for i, s in enumerate(DpvStatus)}
SEVERITY_RANK: dict[AlertSeverity, int] = {s: i + 1 for i, s in enumerate(AlertSeverity)}


def lot_belongs_to(dpv: Dpv, lot: Lot) -> bool:
    """True when `lot` is one of `dpv`'s lots."""
    return lot in LOTS_BY_DPV[dpv]


def needs_mask(needs: tuple[Need, ...] | list[Need] | frozenset[Need]) -> int:
    """The bitmask of a set of needs, in index bit order."""
    mask = 0
    for need in needs:
        mask |= NEED_BIT[need]
    return mask


@cache
def _needs_tuple(mask: int) -> tuple[str, ...]:
    return tuple(need.value for i, need in enumerate(NEEDS_BY_BIT) if mask >> i & 1)


def needs_from_mask(mask: int) -> list[str]:
    """The need codes set in `mask`, in catalogue order (memoised: at most 2**15 masks)."""
    return list(_needs_tuple(mask))
