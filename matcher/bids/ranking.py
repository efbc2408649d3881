"""Validate, price and rank the bids of one referral (DOMAIN rules 4-8).

A bid is rejected, with every reason, when its listing is unknown or not eligible for the
referral, its fee is above the ceiling valid on the start date, a service is not on the
menu, it cannot start in time, or it duplicates another bid. Valid bids are priced exactly
and ordered by expected total cost (`price`) or by best-match score (`best_match`), where
bids that both fully meet needs and score within `epsilon` are ordered cheapest first
("if two options fully meet needs of child, [the LA] can choose the cheapest").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

import geodata
from matcher.bids.contract_terms import ContractTerms
from matcher.bids.pricing import PricedBid, price_bid
from matcher.bids.request import Bid
from matcher.bids.scoring import BidFacts, Component, component_values, score
from matcher.bids.weights import ResolvedWeights
from matcher.match.criteria import Criteria
from matcher.match.eligibility import reason_bits
from matcher.match.radius import OriginPoint, geodesic_m
from matcher.match.request import METRES_PER_MILE
from matcher.registry.columns import RATINGS, Registry
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import LOT_CODE, Need, needs_mask
from matcher.vocabulary.money import format_pence, to_pence
from matcher.vocabulary.reasons import REASON_BIT, BidReason, Reason, reasons_from_bits

_LATE_BIT = REASON_BIT[Reason.NOT_AVAILABLE_BY_START_DATE]
SCORE_DECIMALS = 9  # ordering precision: immune to float noise from weight scaling
DEFAULT_TIE_EPSILON = 0.01


@dataclass(frozen=True, slots=True)
class RankedBid:
    """A valid bid with its price, score and components."""

    bid: Bid
    row: int
    distance_m: float
    in_area: bool
    price: PricedBid
    ceiling_pence: int
    fully_meets_needs: bool
    score: float
    components: dict[str, Component]


@dataclass(frozen=True, slots=True)
class RejectedBid:
    """A bid that cannot be ranked, with all its reasons and their details."""

    bid: Bid
    reasons: list[str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RankOptions:
    """Per-request ranking choices."""

    order_by: str
    weights: ResolvedWeights
    expected_duration_weeks: int
    secondary_needs: list[Need]
    preferred_listing_ids: frozenset[str]
    start_tolerance_days: int = 0
    tie_epsilon: float = DEFAULT_TIE_EPSILON  # RankRequest.tie_epsilon


def rank_bids(
    index: RegistryIndex,
    criteria: Criteria,
    bids: list[Bid],
    terms: ContractTerms,
    options: RankOptions,
) -> tuple[list[RankedBid], list[RejectedBid]]:
    """Validate every bid, price the valid ones and order them; rejections keep input order."""
    reg = index.registry
    origin = OriginPoint.of(criteria.origin.lat, criteria.origin.lon)
    rows = [reg.row_of(b.listing_id) for b in bids]
    known = np.array([r for r in rows if r is not None], dtype=np.intp)
    bits_of = dict(zip(known.tolist(), reason_bits(index, known, criteria).tolist(), strict=True))
    dist_of = dict(zip(known.tolist(), geodesic_m(index, origin, known).tolist(), strict=True))
    ceilings = index.lot_ceilings[LOT_CODE[criteria.lot]].pence_on(known, criteria.start_date)
    ceiling_of = dict(zip(known.tolist(), ceilings.tolist(), strict=True))
    inside = geodata.in_authority(criteria.authority_code, reg.lat[known], reg.lon[known])
    in_area_of = dict(zip(known.tolist(), (bool(x) for x in inside), strict=True))

    latest_start = criteria.start_date + options.start_tolerance_days
    seen_ids: set[str] = set()
    seen_listings: set[str] = set()
    pending: list[tuple[Bid, int, PricedBid, int]] = []
    rejected: list[RejectedBid] = []
    for bid, row in zip(bids, rows, strict=True):
        reasons: list[str] = []
        details: dict[str, Any] = {}
        if bid.bid_id in seen_ids:
            reasons.append(BidReason.DUPLICATE_BID_ID)
        elif bid.listing_id in seen_listings:
            reasons.append(BidReason.DUPLICATE_LISTING_BID)
        seen_ids.add(bid.bid_id)
        seen_listings.add(bid.listing_id)
        if row is None:
            reasons.append(BidReason.UNKNOWN_LISTING)
            rejected.append(RejectedBid(bid, reasons, details))
            continue
        bits = bits_of[row]
        if bits & _LATE_BIT and _start_day(bid, reg, row) <= latest_start:
            bits &= ~_LATE_BIT  # the vacancy opens within the start tolerance: scored, not refused
        if dist_of[row] > criteria.max_distance_m:
            bits |= REASON_BIT[Reason.TOO_FAR]
        if bits:
            reasons.extend(reasons_from_bits(bits))
            if bits & REASON_BIT[Reason.NEEDS_NOT_MET]:
                missing = criteria.needs_mask & ~int(reg.needs_mask[row])
                details["missing_needs"] = [n.value for n in Need if missing & needs_mask([n])]
        fee = to_pence(bid.weekly_fee_gbp)
        ceiling = ceiling_of[row]
        if ceiling >= 0 and fee > ceiling:
            reasons.append(BidReason.ABOVE_CEILING)
            details["ceiling_weekly_gbp"] = format_pence(int(ceiling))
            details["excess_weekly_gbp"] = format_pence(fee - int(ceiling))
        menu = reg.service_menu(row)
        off_menu = [s.code for s in bid.additional_services if s.code not in menu]
        if off_menu:
            reasons.append(BidReason.SERVICE_NOT_ON_MENU)
            details["services_not_on_menu"] = off_menu
        start = bid.available_from.toordinal() if bid.available_from else 0
        if start > latest_start:
            reasons.append(BidReason.CANNOT_START_BY_START_DATE)
            details["available_from"] = (
                bid.available_from.isoformat() if bid.available_from else None
            )
        if reasons:
            rejected.append(RejectedBid(bid, _dedupe(reasons), details))
            continue
        services = [
            (s.code, menu[s.code][0], menu[s.code][1], Decimal(str(s.units_per_week)), s.weeks)
            for s in bid.additional_services
        ]
        priced = price_bid(
            fee, criteria.sibling_group_size, options.expected_duration_weeks, terms, services
        )
        pending.append((bid, row, priced, int(ceiling)))

    ranked = _score(index, criteria, pending, dist_of, in_area_of, options)
    return _order(ranked, options), rejected


def _start_day(bid: Bid, reg: Registry, row: int) -> int:
    """The earliest day the placement can start: the later of the bid's and the vacancy's."""
    offered = bid.available_from.toordinal() if bid.available_from else 0
    return max(offered, int(reg.available_from[row]))


def _dedupe(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(str(r) for r in reasons))


def _score(
    index: RegistryIndex,
    criteria: Criteria,
    pending: list[tuple[Bid, int, PricedBid, int]],
    dist_of: dict[int, float],
    in_area_of: dict[int, bool],
    options: RankOptions,
) -> list[RankedBid]:
    if not pending:
        return []
    reg = index.registry
    cheapest = min(p.exact_total for _, _, p, _ in pending)
    secondary = needs_mask(options.secondary_needs)
    out: list[RankedBid] = []
    for bid, row, priced, ceiling in pending:
        listing_needs = int(reg.needs_mask[row])
        kpi = float(reg.kpi_score[row])
        start = _start_day(bid, reg, row)
        facts = BidFacts(
            total_cost=priced.exact_total,
            distance_miles=dist_of[row] / METRES_PER_MILE,
            rating=RATINGS[reg.rating[row]],
            kpi=None if np.isnan(kpi) else kpi,
            required_needs=criteria.needs_mask,
            secondary_needs=secondary,
            listing_needs=listing_needs,
            in_area=in_area_of[row],
            open_alert_severity=int(reg.open_alert_max_severity[row]),
            days_late=max(0, start - criteria.start_date),
            start_tolerance_days=options.start_tolerance_days,
            preferred=bid.listing_id in options.preferred_listing_ids,
        )
        value, parts = score(component_values(facts, cheapest), options.weights)
        out.append(
            RankedBid(
                bid=bid,
                row=row,
                distance_m=dist_of[row],
                in_area=in_area_of[row],
                price=priced,
                ceiling_pence=ceiling,
                fully_meets_needs=(secondary & listing_needs) == secondary,
                score=value,
                components=parts,
            )
        )
    return out


def _order(ranked: list[RankedBid], options: RankOptions) -> list[RankedBid]:
    """Price: total, distance, bid id. Best match: score, with the cheapest-first tie rule."""

    def cheap_key(r: RankedBid) -> tuple[Decimal, float, str]:
        return (r.price.exact_total, r.distance_m, r.bid.bid_id)

    if options.order_by == "price":
        return sorted(ranked, key=cheap_key)
    score_key = {id(r): round(r.score, SCORE_DECIMALS) for r in ranked}
    by_score = sorted(ranked, key=lambda r: (-score_key[id(r)], *cheap_key(r)))
    ordered: list[RankedBid] = []
    remaining = by_score
    while remaining:
        head = remaining[0]
        if not head.fully_meets_needs:
            ordered.append(head)
            remaining = remaining[1:]
            continue
        floor = score_key[id(head)] - options.tie_epsilon
        tied = [r for r in remaining if r.fully_meets_needs and score_key[id(r)] >= floor]
        cheapest = min(tied, key=cheap_key)
        ordered.append(cheapest)
        remaining = [r for r in remaining if r is not cheapest]
    return ordered
