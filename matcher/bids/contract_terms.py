"""Contract terms per DPV: the default discounts of the report, as configuration.

Defaults (DOMAIN rule 5): fostering 5% off the core fee when a sibling group (2+) is placed
with the same agency and 5% when the placement is expected to last 9 months (39 weeks) or
more, cumulative (10% for a long sibling placement); residential 3% for 39+ weeks (the
report also mentions 5%, hence configuration); SEN none. Every answer names the terms
version it was priced with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from matcher.vocabulary.audit import canonical_json
from matcher.vocabulary.catalogue import Dpv


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """Discounts off the core weekly fee for one DPV (percent, additive)."""

    sibling_discount_percent: Decimal
    sibling_min_group: int
    long_placement_discount_percent: Decimal
    long_placement_min_weeks: int

    def as_dict(self) -> dict[str, object]:
        """JSON form for answers and the catalogue."""
        return {
            "sibling_discount_percent": str(self.sibling_discount_percent),
            "sibling_min_group": self.sibling_min_group,
            "long_placement_discount_percent": str(self.long_placement_discount_percent),
            "long_placement_min_weeks": self.long_placement_min_weeks,
        }


LONG_PLACEMENT_WEEKS = 39  # nine months

DEFAULT_TERMS: dict[Dpv, ContractTerms] = {
    Dpv.FOSTERING: ContractTerms(Decimal("5"), 2, Decimal("5"), LONG_PLACEMENT_WEEKS),
    Dpv.RESIDENTIAL: ContractTerms(Decimal("0"), 2, Decimal("3"), LONG_PLACEMENT_WEEKS),
    Dpv.SEN: ContractTerms(Decimal("0"), 2, Decimal("0"), LONG_PLACEMENT_WEEKS),
}


@dataclass(frozen=True, slots=True)
class TermsBook:
    """The terms in force for every DPV, with a version derived from their content."""

    terms: dict[Dpv, ContractTerms]
    version: str = field(init=False)  # `terms-<hash>`: changes whenever any rate changes

    def __post_init__(self) -> None:
        doc = {dpv.value: t.as_dict() for dpv, t in sorted(self.terms.items())}
        digest = hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:12]
        object.__setattr__(self, "version", "terms-" + digest)  # computed once, not per answer

    def for_dpv(self, dpv: Dpv) -> ContractTerms:
        """The terms of one DPV."""
        return self.terms[dpv]


def terms_book(residential_long_placement_percent: Decimal | None = None) -> TermsBook:
    """The default terms, with the residential long-placement rate overridable (3% or 5%)."""
    terms = dict(DEFAULT_TERMS)
    if residential_long_placement_percent is not None:
        base = terms[Dpv.RESIDENTIAL]
        terms[Dpv.RESIDENTIAL] = ContractTerms(
            base.sibling_discount_percent,
            base.sibling_min_group,
            residential_long_placement_percent,
            base.long_placement_min_weeks,
        )
    return TermsBook(terms)
