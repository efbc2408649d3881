"""Best-match score: a weighted mean of named components, each in [0, 1].

Every component is a plain function of one bid's facts, so an officer can read why a bid
sits where it does: its components are reported as {value, weight, contribution} and the
contributions add up to the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from matcher.bids.weights import ResolvedWeights
from matcher.vocabulary.catalogue import OfstedRating

DISTANCE_HALF_MILES = 10.0
OFSTED_VALUE: dict[OfstedRating, float] = {
    OfstedRating.OUTSTANDING: 1.0,
    OfstedRating.GOOD: 0.75,
    OfstedRating.REQUIRES_IMPROVEMENT: 0.35,
    OfstedRating.INADEQUATE: 0.0,
    OfstedRating.NOT_YET_INSPECTED: 0.5,
}
# Highest open alert severity (0 none, 1 low, 2 moderate, 3 serious) -> component value.
SAFEGUARDING_VALUE = (1.0, 0.75, 0.4, 0.1)
NEUTRAL = 0.5


@dataclass(frozen=True, slots=True)
class BidFacts:
    """What the scores of a referral's valid bids depend on: one entry per bid in each list,
    and the referral's own needs and start tolerance."""

    total_cost: list[Decimal]
    distance_miles: list[float]
    rating: list[OfstedRating]
    kpi: list[float | None]
    listing_needs: list[int]
    in_area: list[bool]
    open_alert_severity: list[int]
    days_late: list[int]
    preferred: list[bool]
    required_needs: int
    secondary_needs: int
    start_tolerance_days: int


def component_values(facts: BidFacts) -> dict[str, list[float]]:
    """Each component's value in [0, 1], for every bid (component -> one value per bid)."""
    cheapest = min(facts.total_cost)
    secondary, required = facts.secondary_needs, facts.required_needs
    tolerance = facts.start_tolerance_days + 1

    def fit(listing: int) -> float:
        if secondary:
            return (secondary & listing).bit_count() / secondary.bit_count()
        if required and listing:
            return required.bit_count() / listing.bit_count()
        return NEUTRAL

    return {
        "price": [
            min(1.0, max(0.0, float(cheapest / total) if total > 0 else 1.0))
            for total in facts.total_cost
        ],
        "distance": [
            math.exp(-math.log(2) * miles / DISTANCE_HALF_MILES) for miles in facts.distance_miles
        ],
        "ofsted": [OFSTED_VALUE[rating] for rating in facts.rating],
        "quality": [NEUTRAL if kpi is None else kpi for kpi in facts.kpi],
        "needs_fit": [fit(listing) for listing in facts.listing_needs],
        "in_area": [1.0 if inside else 0.0 for inside in facts.in_area],
        "safeguarding": [SAFEGUARDING_VALUE[s] for s in facts.open_alert_severity],
        "start_date": [
            max(0.0, 1.0 - late / tolerance) if late > 0 else 1.0 for late in facts.days_late
        ],
        "preference": [1.0 if preferred else 0.0 for preferred in facts.preferred],
    }


def scores(
    values: dict[str, list[float]], weights: ResolvedWeights
) -> tuple[list[float], list[list[float]]]:
    """Per bid, the weighted mean and each component's contribution (in `weights` order):
    the contributions sum to the score.

    A contribution is `value * weight / total`, computed for every bid and component at once
    in numpy: the same two IEEE operations, in the same order, as in Python, so the same
    floats; the score adds a bid's contributions exactly (`math.fsum`).
    """
    matrix = np.array([values[name] for name in weights.weights], dtype=np.float64)
    scale = np.array(list(weights.weights.values()), dtype=np.float64)[:, np.newaxis]
    rows: list[list[float]] = ((matrix * scale) / weights.total).T.tolist()
    return [math.fsum(row) for row in rows], rows
