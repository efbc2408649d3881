"""Example request bodies for the API docs.

They are real requests: against the embedded demo registry (`matcher serve` without a
registry) the shortlist finds listings and the rank example's bids are all valid, with
fees at or below each listing's ceiling. Against another registry the same bodies still
answer 200 (bids for unknown listings come back rejected with `unknown_listing`).
"""

from __future__ import annotations

from typing import Any

SHORTLIST: dict[str, Any] = {
    "referral_id": "R-2026-000123",
    "placing_authority": "Harrow",
    "dpv": "residential",
    "lot": "standard",
    "child": {"age": 14, "gender": "male", "needs": ["emotional_behavioural"]},
    "start_date": "2026-12-01",
    "max_distance_miles": 20,
}

SHORTLIST_FROM_DISTRICT: dict[str, Any] = {
    "referral_id": "R-2026-000124",
    "placing_authority": "E09000002",
    "dpv": "fostering",
    "lot": "standard",
    "child": {"age": 9, "gender": "female", "needs": [], "secondary_needs": ["autism"]},
    "sibling_group_size": 2,
    "expected_duration_weeks": 40,
    "start_date": "2026-12-01",
    "origin": {"postcode_district": "IG11"},
    "max_distance_miles": 15,
    "min_ofsted_rating": "good",
    "limit": 10,
    "explain": False,
}

RANK: dict[str, Any] = {
    **SHORTLIST,
    "bids": [
        {"bid_id": "B-1", "listing_id": "L0000398", "weekly_fee_gbp": "4650.00"},
        {
            "bid_id": "B-2",
            "listing_id": "L0004325",
            "weekly_fee_gbp": "4900.00",
            "additional_services": [
                {"code": "one_to_one_staffing", "units_per_week": 10, "weeks": 12}
            ],
        },
        {"bid_id": "B-3", "listing_id": "L0000360", "weekly_fee_gbp": "3500.00"},
    ],
    "order_by": "best_match",
    "profile": "balanced",
}

RANK_BY_PRICE: dict[str, Any] = {**RANK, "order_by": "price", "profile": None}

COMPARE: dict[str, Any] = {
    "request": RANK,
    "a": {"profile": "cost_focused"},
    "b": {"profile": "quality_focused", "weights": {"in_area": 2}},
}

ALLOCATE: dict[str, Any] = {
    "referrals": [
        {**RANK, "referral_id": "R-2026-000201", "order_by": "best_match"},
        {
            **SHORTLIST,
            "referral_id": "R-2026-000202",
            "bids": [{"bid_id": "B-9", "listing_id": "L0000398", "weekly_fee_gbp": "4500.00"}],
        },
    ],
    "objective": "min_cost",
}

SUFFICIENCY: dict[str, Any] = {
    "referrals": [SHORTLIST, SHORTLIST_FROM_DISTRICT],
    "radii_miles": [20, 50],
}

MARKET_FEEDBACK: dict[str, Any] = {
    "requests": [
        RANK,
        {**RANK_BY_PRICE, "referral_id": "R-2026-000125"},
        {**SHORTLIST_FROM_DISTRICT, "referral_id": "R-2026-000126",
         "bids": [{"bid_id": "B-7", "listing_id": "L0000398", "weekly_fee_gbp": "900.00"}]},
    ],
}  # fmt: skip

EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "ShortlistRequest": {
        "harrow_residential": {
            "summary": "Boy of 14, residential, from Harrow",
            "value": SHORTLIST,
        },
        "sibling_fostering": {
            "summary": "Two siblings, fostering, from a postcode district",
            "value": SHORTLIST_FROM_DISTRICT,
        },
    },
    "RankRequest": {
        "best_match": {"summary": "Three bids, best match", "value": RANK},
        "by_price": {"summary": "The same bids, cheapest first", "value": RANK_BY_PRICE},
    },
    "CompareRequest": {
        "cost_vs_quality": {"summary": "Cost-focused vs quality-focused", "value": COMPARE},
    },
    "AllocateRequest": {
        "two_referrals": {"summary": "Two referrals sharing a listing", "value": ALLOCATE},
    },
    "SufficiencyRequest": {
        "two_referrals": {
            "summary": "Supply for two referrals at 20 and 50 miles",
            "value": SUFFICIENCY,
        },
    },
    "MarketFeedbackRequest": {
        "three_referrals": {
            "summary": "Three referrals and their bids, every provider",
            "value": MARKET_FEEDBACK,
        },
    },
}
