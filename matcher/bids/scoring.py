"""Best-match score: a weighted mean of named components, each in [0, 1].

Every component is a plain function of one bid's facts, so an officer can read why a bid
sits where it does: its components are reported as {value, weight, contribution} and the
contributions add up to the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

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
    """What the score of one valid bid depends on."""

    total_cost: Decimal
    distance_miles: float
    rating: OfstedRating
    kpi: float | None
    required_needs: int
    secondary_needs: int
    listing_needs: int
    in_area: bool
    open_alert_severity: int
    days_late: int
    start_tolerance_days: int
    preferred: bool


def _popcount(mask: int) -> int:
    return mask.bit_count()


def component_values(facts: BidFacts, cheapest: Decimal) -> dict[str, float]:
    """Each component's value in [0, 1] for one bid."""
    price = float(cheapest / facts.total_cost) if facts.total_cost > 0 else 1.0
    distance = math.exp(-math.log(2) * facts.distance_miles / DISTANCE_HALF_MILES)
    if facts.secondary_needs:
        fit = _popcount(facts.secondary_needs & facts.listing_needs) / _popcount(
            facts.secondary_needs
        )
    elif facts.required_needs and facts.listing_needs:
        fit = _popcount(facts.required_needs) / _popcount(facts.listing_needs)
    else:
        fit = NEUTRAL
    start = 1.0
    if facts.days_late > 0:
        start = 1.0 - facts.days_late / (facts.start_tolerance_days + 1)
    return {
        "price": min(1.0, max(0.0, price)),
        "distance": distance,
        "ofsted": OFSTED_VALUE[facts.rating],
        "quality": NEUTRAL if facts.kpi is None else facts.kpi,
        "needs_fit": fit,
        "in_area": 1.0 if facts.in_area else 0.0,
        "safeguarding": SAFEGUARDING_VALUE[facts.open_alert_severity],
        "start_date": max(0.0, start),
        "preference": 1.0 if facts.preferred else 0.0,
    }


def score(values: dict[str, float], weights: ResolvedWeights) -> tuple[float, list[float]]:
    """The weighted mean, and each component's contribution (in `weights` order): the
    contributions sum to the score."""
    total = weights.total
    contributions = [values[name] * w / total for name, w in weights.weights.items()]
    return math.fsum(contributions), contributions
