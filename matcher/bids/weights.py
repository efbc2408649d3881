"""Best-match weights: named components, named profiles, validation.

The score is a weighted mean, so only the ratios between weights matter (scaling every
weight by the same constant changes nothing). Defaults (`balanced`) and why:
- price 3: value for money matters, but the report ranks price first only among options
  that fully meet needs (that rule is the tie-break, not a heavier weight);
- needs_fit 2 and ofsted 2: meeting the child's needs in a good setting is the point;
- distance 2 and in_area 1: s22G asks for placements within the LA's area where practicable,
  and proximity keeps school, family and social worker within reach;
- quality 1: provider KPIs are useful but lag and vary in how they are collected;
- safeguarding 1: open alerts that do not exclude still lower the score;
- preference 1: parental/child preference must be "incorporated where required";
- start_date 0.5: bids that cannot start in time are rejected; this only prefers on-time starts
  within the tolerance the referral allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matcher.vocabulary.errors import InvalidWeightsError

COMPONENTS: dict[str, str] = {
    "price": "Cheapest valid bid's expected total cost divided by this bid's (1 = cheapest).",
    "distance": "Smooth decay with distance: 1 at the origin, 0.5 at the half-distance.",
    "ofsted": "Ofsted rating: outstanding 1, good 0.75, requires improvement 0.35, "
    "inadequate 0, not yet inspected 0.5.",
    "quality": "The provider's KPI score in [0, 1] (0.5 when not reported).",
    "needs_fit": "Share of the child's secondary needs supported; without secondary needs, "
    "specialism: required needs / needs the listing supports.",
    "in_area": "1 inside the placing authority's boundary, else 0 (s22G Children Act 1989).",
    "safeguarding": "1 with no open alert; lower for open alerts that do not exclude.",
    "start_date": "1 when the bid can start by the start date, lower within the tolerance.",
    "preference": "1 for a listing the child or parents prefer (preferred_listing_ids).",
}

PROFILES: dict[str, dict[str, float]] = {
    "balanced": {
        "price": 3, "distance": 2, "ofsted": 2, "quality": 1, "needs_fit": 2,
        "in_area": 1, "safeguarding": 1, "start_date": 0.5, "preference": 1,
    },
    "cost_focused": {
        "price": 6, "distance": 1, "ofsted": 1, "quality": 0.5, "needs_fit": 1,
        "in_area": 0.5, "safeguarding": 1, "start_date": 0.5, "preference": 0.5,
    },
    "proximity_focused": {
        "price": 1.5, "distance": 5, "ofsted": 1.5, "quality": 0.5, "needs_fit": 1.5,
        "in_area": 3, "safeguarding": 1, "start_date": 0.5, "preference": 1,
    },
    "quality_focused": {
        "price": 1, "distance": 1, "ofsted": 4, "quality": 3, "needs_fit": 3,
        "in_area": 0.5, "safeguarding": 2, "start_date": 0.5, "preference": 1,
    },
}  # fmt: skip

PROFILE_DESCRIPTIONS: dict[str, str] = {
    "balanced": "Default: needs, quality and proximity weighed with price.",
    "cost_focused": "Price dominates; other components break near-ties.",
    "proximity_focused": "Keeps the child close to home and inside the authority.",
    "quality_focused": "Ofsted rating, KPIs and needs fit dominate.",
}

DEFAULT_PROFILE = "balanced"
MAX_WEIGHT = 1e6


@dataclass(frozen=True, slots=True)
class ResolvedWeights:
    """The weights actually used, after profile and overrides."""

    profile: str
    weights: dict[str, float]

    @property
    def total(self) -> float:
        """Sum of weights (positive by construction)."""
        return sum(self.weights.values())


def resolve_weights(
    profile: str | None, overrides: dict[str, float] | None, field: str = "weights"
) -> ResolvedWeights:
    """Profile (default `balanced`) with per-request overrides, validated."""
    name = profile or DEFAULT_PROFILE
    if name not in PROFILES:
        raise InvalidWeightsError(
            f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}",
            field="profile",
            allowed=list(PROFILES),
        )
    weights = dict(PROFILES[name])
    for key, value in (overrides or {}).items():
        if key not in COMPONENTS:
            raise InvalidWeightsError(
                f"unknown weight component {key!r}; allowed: {', '.join(COMPONENTS)}",
                field=f"{field}.{key}",
                allowed=list(COMPONENTS),
            )
        if not math.isfinite(value) or value < 0 or value > MAX_WEIGHT:
            raise InvalidWeightsError(
                f"weight {key!r} must be finite, >= 0 and <= {MAX_WEIGHT:g}",
                field=f"{field}.{key}",
            )
        weights[key] = float(value)
    if not any(w > 0 for w in weights.values()):
        raise InvalidWeightsError("at least one weight must be positive", field=field)
    return ResolvedWeights(profile=name, weights=weights)
