"""A rejected bid's reasons in plain English, each with what would have made the bid valid.

Every sentence speaks of the bid's own listing and of the referral only (the provider saw
the referral), never of another bid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from matcher.bids.ranking import RankOptions, RejectedBid
from matcher.match.criteria import Criteria
from matcher.match.radius import OriginPoint, geodesic_m
from matcher.match.request import METRES_PER_MILE
from matcher.registry.columns import RATINGS
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import Dpv, OfstedRating
from matcher.vocabulary.errors import MatcherError
from matcher.vocabulary.reasons import BidReason, Reason

_DPVS = tuple(Dpv)


@dataclass(frozen=True, slots=True)
class Seen:
    """What a sentence may say: the referral, and the rejected bid with its own listing."""

    index: RegistryIndex
    criteria: Criteria
    options: RankOptions
    rejected: RejectedBid
    row: int | None  # the bid's listing (None: unknown)

    @property
    def start(self) -> str:
        """The referral's start date."""
        return date.fromordinal(self.criteria.start_date).isoformat()

    @property
    def latest_start(self) -> str:
        """The latest start the referral accepts (start date plus tolerance)."""
        return date.fromordinal(
            self.criteria.start_date + self.options.start_tolerance_days
        ).isoformat()

    @property
    def known_row(self) -> int:
        """The listing's row (listing reasons come only with a known listing)."""
        if self.row is None:
            raise MatcherError("a listing reason without a listing")
        return self.row

    def column(self, name: str) -> int:
        """One registry column's value for the bid's listing (as a Python int)."""
        return int(getattr(self.index.registry, name)[self.known_row])


def _words(code: str) -> str:
    return code.replace("_", " ")


def _miles(s: Seen) -> str:
    c = s.criteria
    origin = OriginPoint.of(c.origin.lat, c.origin.lon)
    metres = geodesic_m(s.index, origin, np.array([s.known_row]))
    return f"{float(metres[0]) / METRES_PER_MILE:.1f}"


_PLURAL = {"child": "children", "vacancy": "vacancies"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else _PLURAL[noun]}"


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


Text = tuple[str, str]  # (what is wrong, what would have made the bid valid)

_TEXTS: dict[str, Callable[[Seen], Text]] = {
    BidReason.UNKNOWN_LISTING: lambda s: (
        f"listing {s.rejected.bid.listing_id} is not in the registry snapshot",
        "bid for a listing registered on the DPV (check the listing id)",
    ),
    BidReason.DUPLICATE_BID_ID: lambda s: (
        "another bid in the request has the same bid id",
        "give every bid its own bid id",
    ),
    BidReason.DUPLICATE_LISTING_BID: lambda s: (
        "an earlier bid in the request is for the same listing",
        "send one bid per listing",
    ),
    BidReason.ABOVE_CEILING: lambda s: (
        f"fee GBP {s.rejected.details['excess_weekly_gbp']} above the ceiling of "
        f"GBP {s.rejected.details['ceiling_weekly_gbp']}",
        f"a weekly fee of at most GBP {s.rejected.details['ceiling_weekly_gbp']}",
    ),
    BidReason.SERVICE_NOT_ON_MENU: lambda s: (
        "service not on your tendered menu: "
        + ", ".join(s.rejected.details["services_not_on_menu"]),
        "only services on the tendered menu (or add them to the menu)",
    ),
    BidReason.CANNOT_START_BY_START_DATE: lambda s: (
        f"available from {s.rejected.details['available_from']}, after the latest start "
        f"{s.latest_start}",
        f"a start by {s.latest_start}",
    ),
    Reason.DPV_MISMATCH: lambda s: (
        f"the listing is on the {_DPVS[s.column('dpv')].value} DPV, the referral on "
        f"{s.criteria.dpv.value}",
        f"a listing on the {s.criteria.dpv.value} DPV",
    ),
    Reason.LOT_NOT_APPROVED: lambda s: (
        f"the listing is not approved for the {_words(s.criteria.lot.value)} lot",
        f"approval for the {_words(s.criteria.lot.value)} lot",
    ),
    Reason.GENDER_NOT_ACCEPTED: lambda s: (
        "the listing does not accept the child's gender",
        "accepting the child's gender",
    ),
    Reason.AGE_OUT_OF_RANGE: lambda s: (
        f"the child's age is outside the listing's range "
        f"{s.column('age_min')}-{s.column('age_max')}",
        "an age range that includes the child's age",
    ),
    Reason.NEEDS_NOT_MET: lambda s: (
        "does not support required needs: " + ", ".join(s.rejected.details["missing_needs"]),
        "supporting " + ", ".join(s.rejected.details["missing_needs"]),
    ),
    Reason.SIBLING_GROUP_TOO_LARGE: lambda s: (
        f"takes sibling groups of up to {s.column('max_sibling_group')}; "
        f"{_count(s.criteria.sibling_group_size, 'child')} are to be placed together",
        f"taking a sibling group of {s.criteria.sibling_group_size}",
    ),
    Reason.NO_VACANCY: lambda s: (
        f"{_count(s.column('vacancies'), 'vacancy')} for "
        f"{_count(s.criteria.sibling_group_size, 'child')}",
        f"{_count(s.criteria.sibling_group_size, 'vacancy')} by the start date",
    ),
    Reason.NOT_AVAILABLE_BY_START_DATE: lambda s: (
        f"the vacancy opens {_day(s.column('available_from'))}, after the latest start "
        f"{s.latest_start}",
        f"a vacancy open by {s.latest_start}",
    ),
    Reason.OFSTED_REGISTRATION_SUSPENDED: lambda s: (
        "Ofsted registration suspended",
        "Ofsted registration restored",
    ),
    Reason.OFSTED_REGISTRATION_CANCELLED: lambda s: (
        "Ofsted registration cancelled",
        "a current Ofsted registration",
    ),
    Reason.OFSTED_ADMISSIONS_RESTRICTED: lambda s: (
        f"an Ofsted restriction on admissions until {_day(s.column('restricted_until'))}",
        f"no restriction on admissions on {s.start}",
    ),
    Reason.OFSTED_RATING_BELOW_MINIMUM: lambda s: (
        f"Ofsted rating {_words(RATINGS[s.column('rating')].value)} is below the referral's "
        f"minimum {_words(s.criteria.min_rating.value)}",
        f"an Ofsted rating of at least {_words(s.criteria.min_rating.value)}",
    ),
    Reason.OFSTED_NOT_YET_INSPECTED: lambda s: (
        "not yet inspected, and the referral requires an Ofsted rating",
        f"an Ofsted rating of at least {_words(s.criteria.min_rating.value)}",
    ),
    Reason.DPV_SUSPENDED: lambda s: (
        "the provider is suspended from the DPV",
        "reinstatement on the DPV",
    ),
    Reason.DPV_BARRED: lambda s: (
        "the provider is barred from the DPV",
        "readmission to the DPV",
    ),
    Reason.SAFEGUARDING_ALERT: lambda s: (
        "an open safeguarding alert at or above the excluding severity",
        "the alert resolved and closed",
    ),
    Reason.NO_VALID_CEILING: lambda s: (
        f"no ceiling price for the {_words(s.criteria.lot.value)} lot valid on {s.start}",
        f"a ceiling for the {_words(s.criteria.lot.value)} lot valid on the start date",
    ),
    Reason.TOO_FAR: lambda s: (
        f"{_miles(s)} miles from the referral's origin, beyond its "
        f"{s.criteria.max_distance_m / METRES_PER_MILE:g}-mile radius",
        f"a listing within {s.criteria.max_distance_m / METRES_PER_MILE:g} miles",
    ),
    Reason.EXCLUDED_BY_REFERRAL: lambda s: (
        "the placing authority excluded this listing from the referral",
        "nothing the bid can change: the authority chose to exclude the listing",
    ),
}


def explain(
    index: RegistryIndex, criteria: Criteria, options: RankOptions, rejected: RejectedBid
) -> list[dict[str, Any]]:
    """Each reason of a rejected bid: {reason, message, to_be_valid}, in its order."""
    seen = Seen(index, criteria, options, rejected, index.registry.row_of(rejected.bid.listing_id))
    out = []
    for reason in rejected.reasons:
        message, fix = _TEXTS[reason](seen)
        out.append({"reason": reason, "message": message, "to_be_valid": fix})
    return out


def rating_words(rating: OfstedRating) -> str:
    """An Ofsted rating as words ("requires improvement")."""
    return _words(rating.value)
