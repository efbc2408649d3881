"""Machine-readable reasons: why a listing is not on a shortlist, why a bid was rejected.

The report asks that the platform "identifies the reasons why a particular bid was not
successful" so providers can improve future offers; these codes are that feedback. Each
listing-level reason has a bit, so the index can carry all the reasons of many candidates
in one integer column and decode them only for the rows it explains.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class Reason(StrEnum):
    """Why a listing is excluded from a referral's shortlist (stable codes, append only)."""

    DPV_MISMATCH = "dpv_mismatch"
    LOT_NOT_APPROVED = "lot_not_approved"
    GENDER_NOT_ACCEPTED = "gender_not_accepted"
    AGE_OUT_OF_RANGE = "age_out_of_range"
    NEEDS_NOT_MET = "needs_not_met"
    SIBLING_GROUP_TOO_LARGE = "sibling_group_too_large"
    NO_VACANCY = "no_vacancy"
    NOT_AVAILABLE_BY_START_DATE = "not_available_by_start_date"
    OFSTED_REGISTRATION_SUSPENDED = "ofsted_registration_suspended"
    OFSTED_REGISTRATION_CANCELLED = "ofsted_registration_cancelled"
    OFSTED_ADMISSIONS_RESTRICTED = "ofsted_admissions_restricted"
    OFSTED_RATING_BELOW_MINIMUM = "ofsted_rating_below_minimum"
    OFSTED_NOT_YET_INSPECTED = "ofsted_not_yet_inspected"
    DPV_SUSPENDED = "dpv_suspended"
    DPV_BARRED = "dpv_barred"
    SAFEGUARDING_ALERT = "safeguarding_alert"
    NO_VALID_CEILING = "no_valid_ceiling"
    TOO_FAR = "too_far"
    EXCLUDED_BY_REFERRAL = "excluded_by_referral"


class BidReason(StrEnum):
    """Why a bid was rejected, beyond its listing's own exclusion reasons."""

    UNKNOWN_LISTING = "unknown_listing"
    ABOVE_CEILING = "above_ceiling"
    SERVICE_NOT_ON_MENU = "service_not_on_menu"
    CANNOT_START_BY_START_DATE = "cannot_start_by_start_date"
    DUPLICATE_BID_ID = "duplicate_bid_id"
    DUPLICATE_LISTING_BID = "duplicate_listing_bid"


REASON_BIT: dict[Reason, int] = {reason: 1 << i for i, reason in enumerate(Reason)}
REASONS_BY_BIT: tuple[Reason, ...] = tuple(Reason)

REASON_DESCRIPTIONS: dict[str, str] = {
    Reason.DPV_MISMATCH: "The listing is on another DPV than the referral's.",
    Reason.LOT_NOT_APPROVED: "The listing is not approved for the referral's lot.",
    Reason.GENDER_NOT_ACCEPTED: "The listing does not accept the child's gender.",
    Reason.AGE_OUT_OF_RANGE: "The child's age is outside the listing's age range.",
    Reason.NEEDS_NOT_MET: "The listing does not support every required need (see `missing_needs`).",
    Reason.SIBLING_GROUP_TOO_LARGE: "The listing cannot take a sibling group of this size.",
    Reason.NO_VACANCY: "Fewer vacancies than the children to place.",
    Reason.NOT_AVAILABLE_BY_START_DATE: "The vacancy opens after the referral's start date.",
    Reason.OFSTED_REGISTRATION_SUSPENDED: "Ofsted registration suspended: cannot take a child.",
    Reason.OFSTED_REGISTRATION_CANCELLED: "Ofsted registration cancelled: cannot take a child.",
    Reason.OFSTED_ADMISSIONS_RESTRICTED: "Ofsted restriction on admissions on the start date.",
    Reason.OFSTED_RATING_BELOW_MINIMUM: "Ofsted rating below the referral's minimum.",
    Reason.OFSTED_NOT_YET_INSPECTED: "Not yet inspected, and the referral requires a rating.",
    Reason.DPV_SUSPENDED: "Provider suspended from the DPV: unable to receive referrals.",
    Reason.DPV_BARRED: "Provider barred from the DPV: unable to receive referrals.",
    Reason.SAFEGUARDING_ALERT: "An open safeguarding alert at or above the excluding severity.",
    Reason.NO_VALID_CEILING: "No ceiling price for the referral's lot valid on the start date.",
    Reason.TOO_FAR: "Farther than the referral's maximum distance (geodesic).",
    Reason.EXCLUDED_BY_REFERRAL: "Excluded by the referral (exclude_listing_ids).",
    BidReason.UNKNOWN_LISTING: "The bid names a listing that is not in the registry snapshot.",
    BidReason.ABOVE_CEILING: "The weekly fee is above the listing's ceiling for the lot.",
    BidReason.SERVICE_NOT_ON_MENU: "An additional service is not on the listing's tendered menu.",
    BidReason.CANNOT_START_BY_START_DATE: "The bid's available_from is after the start date.",
    BidReason.DUPLICATE_BID_ID: "Another bid in the request has the same bid_id.",
    BidReason.DUPLICATE_LISTING_BID: "A bid for the same listing came earlier in the request.",
}


@cache
def _decode(bits: int) -> tuple[str, ...]:
    return tuple(r.value for i, r in enumerate(REASONS_BY_BIT) if bits >> i & 1)


def reasons_from_bits(bits: int) -> list[str]:
    """Decode a reason bitmask into codes, in catalogue order (memoised: few distinct masks)."""
    return list(_decode(bits))
