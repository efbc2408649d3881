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
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from matcher.bids.contract_terms import ContractTerms
from matcher.bids.pricing import PricedBid, Pricer
from matcher.bids.request import Bid
from matcher.bids.scoring import BidFacts, component_values, scores
from matcher.bids.weights import ResolvedWeights
from matcher.match.criteria import Criteria
from matcher.match.eligibility import row_facts
from matcher.match.radius import OriginPoint, geodesic_m
from matcher.match.request import METRES_PER_MILE
from matcher.registry.columns import RATINGS
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import Need, needs_from_mask, needs_mask
from matcher.vocabulary.money import format_pence, to_pence
from matcher.vocabulary.reasons import REASON_BIT, BidReason, Reason, reasons_from_bits
from matcher.vocabulary.rounding import round_each

_LATE_BIT = REASON_BIT[Reason.NOT_AVAILABLE_BY_START_DATE]
_TOO_FAR_BIT = REASON_BIT[Reason.TOO_FAR]
_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]
SCORE_DECIMALS = 9  # ordering precision: immune to float noise from weight scaling
DEFAULT_TIE_EPSILON = 0.01


class RankedBid(NamedTuple):
    """A valid bid with its price, score and components (a named tuple, like `PricedBid`).

    `values` are the components' values and `contributions` their weighted shares of the
    score, both in the order of the weights used. `tie_break_over`, set by `_order`: the bids
    (ids, in score order) this one was placed above by the cheapest-first tie rule, although
    each scores higher; empty when it sits where its score or price puts it.
    """

    bid: Bid
    row: int
    distance_m: float
    in_area: bool
    price: PricedBid
    ceiling_pence: int
    fully_meets_needs: bool
    score: float
    values: list[float]
    contributions: list[float]
    tie_break_over: tuple[str, ...] = ()

    def placed_above(self, passed: tuple[str, ...]) -> RankedBid:
        """This bid, marked as placed above `passed` by the tie rule (by position: a third
        of the time of `_replace`)."""
        return RankedBid(*self[:-1], passed)


def component_matrices(
    ranked: list[RankedBid],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The bids' component values and contributions, each a bids x components array (in
    the weights' order): for the answer's text and the feedback's gaps, each computed for
    all bids at once. `np.fromiter` over the flat rows takes half the time of `np.array`
    of the nested lists."""
    shape = (len(ranked), len(ranked[0].values) if ranked else 0)
    values, contributions = (
        np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=shape[0] * shape[1]).reshape(
            shape
        )
        for rows in ([r.values for r in ranked], [r.contributions for r in ranked])
    )
    return values, contributions


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


class _Listing(NamedTuple):
    """What validation and scoring read of a bid's listing (looked up once per listing)."""

    row: int
    bits: int
    distance_m: float
    ceiling_pence: int
    in_area: bool
    available_from: int


def rank_bids(
    index: RegistryIndex,
    criteria: Criteria,
    bids: list[Bid],
    terms: ContractTerms,
    options: RankOptions,
) -> tuple[list[RankedBid], list[RejectedBid]]:
    """Validate every bid, price the valid ones and order them; rejections keep input order."""
    reg = index.registry
    listings = _listings(index, criteria, bids)
    pricer = Pricer.of(terms, criteria.sibling_group_size, options.expected_duration_weeks)
    latest_start = criteria.start_date + options.start_tolerance_days
    seen_ids: set[str] = set()
    seen_listings: set[str] = set()
    pending: list[tuple[Bid, _Listing, PricedBid]] = []
    rejected: list[RejectedBid] = []
    for bid in bids:
        reasons: list[str] = []
        details: dict[str, Any] = {}
        if bid.bid_id in seen_ids:
            reasons.append(BidReason.DUPLICATE_BID_ID)
        elif bid.listing_id in seen_listings:
            reasons.append(BidReason.DUPLICATE_LISTING_BID)
        seen_ids.add(bid.bid_id)
        seen_listings.add(bid.listing_id)
        listing = listings.get(bid.listing_id)
        if listing is None:
            reasons.append(BidReason.UNKNOWN_LISTING)
            rejected.append(RejectedBid(bid, reasons, details))
            continue
        bits = listing.bits
        if bits & _LATE_BIT and _start_day(bid, listing) <= latest_start:
            bits &= ~_LATE_BIT  # the vacancy opens within the start tolerance: scored, not refused
        if listing.distance_m > criteria.max_distance_m:
            bits |= _TOO_FAR_BIT
        if bits:
            reasons.extend(reasons_from_bits(bits))
            if bits & _NEEDS_BIT:
                missing = criteria.needs_mask & ~int(reg.needs_mask[listing.row])
                details["missing_needs"] = needs_from_mask(missing)
        fee = to_pence(bid.weekly_fee_gbp)
        ceiling = listing.ceiling_pence
        if ceiling >= 0 and fee > ceiling:
            reasons.append(BidReason.ABOVE_CEILING)
            details["ceiling_weekly_gbp"] = format_pence(ceiling)
            details["excess_weekly_gbp"] = format_pence(fee - ceiling)
        menu = reg.service_menu(listing.row) if bid.additional_services else {}
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
        pending.append((bid, listing, pricer.price(fee, services)))

    ranked = _score(index, criteria, pending, options)
    return _order(ranked, options), rejected


def _listings(index: RegistryIndex, criteria: Criteria, bids: list[Bid]) -> dict[str, _Listing]:
    """The bids' known listings, with every per-listing fact computed in one vectorised
    pass: reason bits, geodesic distance, ceiling, in-area flag, vacancy date."""
    reg = index.registry
    ids = list(dict.fromkeys(b.listing_id for b in bids))
    found = [(lid, row) for lid in ids if (row := reg.row_of(lid)) is not None]
    if not found:
        return {}
    rows = np.fromiter((row for _, row in found), dtype=np.intp, count=len(found))
    origin = OriginPoint.of(criteria.origin.lat, criteria.origin.lon)
    checked = row_facts(index, rows, criteria)
    facts = zip(
        found,
        checked.bits.tolist(),
        geodesic_m(index, origin, rows).tolist(),
        checked.ceiling_pence.tolist(),
        index.in_area(rows, criteria.authority_code).tolist(),
        reg.available_from.take(rows).tolist(),
        strict=True,
    )
    return {
        lid: _Listing(row, bits, distance, ceiling, area, available)
        for (lid, row), bits, distance, ceiling, area, available in facts
    }


def _start_day(bid: Bid, listing: _Listing) -> int:
    """The earliest day the placement can start: the later of the bid's and the vacancy's."""
    offered = bid.available_from.toordinal() if bid.available_from else 0
    return max(offered, listing.available_from)


def _dedupe(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(str(r) for r in reasons))


def _score(
    index: RegistryIndex,
    criteria: Criteria,
    pending: list[tuple[Bid, _Listing, PricedBid]],
    options: RankOptions,
) -> list[RankedBid]:
    """Score every valid bid at once (component columns, see `matcher.bids.scoring`)."""
    if not pending:
        return []
    reg = index.registry
    rows = np.fromiter((listing.row for _, listing, _ in pending), dtype=np.intp)
    kpi = reg.kpi_score.take(rows)
    needs = reg.needs_mask.take(rows).tolist()
    secondary = needs_mask(options.secondary_needs)
    facts = BidFacts(
        total_cost=[priced.exact_total for _, _, priced in pending],
        distance_miles=[listing.distance_m / METRES_PER_MILE for _, listing, _ in pending],
        rating=[RATINGS[code] for code in reg.rating.take(rows).tolist()],
        kpi=[None if k < 0 else k for k in np.where(np.isnan(kpi), -1.0, kpi).tolist()],
        listing_needs=needs,
        in_area=[listing.in_area for _, listing, _ in pending],
        open_alert_severity=reg.open_alert_max_severity.take(rows).tolist(),
        days_late=[
            max(0, _start_day(bid, listing) - criteria.start_date) for bid, listing, _ in pending
        ],
        preferred=[bid.listing_id in options.preferred_listing_ids for bid, _, _ in pending],
        required_needs=criteria.needs_mask,
        secondary_needs=secondary,
        start_tolerance_days=options.start_tolerance_days,
    )
    columns = component_values(facts)
    totals, contributions = scores(columns, options.weights)
    values = list(zip(*(columns[name] for name in options.weights.weights), strict=True))
    return [
        RankedBid(  # by position (bid, row, ... contributions): half the time of keywords
            bid,
            listing.row,
            listing.distance_m,
            listing.in_area,
            priced,
            listing.ceiling_pence,
            (secondary & listing_needs) == secondary,
            total,
            list(value),
            contribution,
        )
        for (bid, listing, priced), listing_needs, total, value, contribution in zip(
            pending, needs, totals, values, contributions, strict=True
        )
    ]


def _order(ranked: list[RankedBid], options: RankOptions) -> list[RankedBid]:
    """Price: total, distance, bid id. Best match: score, with the cheapest-first tie rule.

    Best match walks the bids in score order: the next bid is the first remaining one,
    unless it fully meets needs, in which case it is the cheapest remaining bid that fully
    meets needs and scores within `tie_epsilon` of it. Those bids are a prefix of the
    remaining ones (they are in score order), so each step scans only that prefix. A bid
    picked ahead of higher-scoring ones records them in `tie_break_over`. "Cheapest" is
    the price order's (total, distance, bid id), sorted once: the walk compares places in
    it, not those keys.
    """
    by_price = sorted(
        range(len(ranked)),
        key=lambda i: (ranked[i].price.exact_total, ranked[i].distance_m, ranked[i].bid.bid_id),
    )
    if options.order_by == "price":
        return [ranked[i] for i in by_price]
    cheap = [0] * len(ranked)  # each bid's place in price order
    for place, i in enumerate(by_price):
        cheap[i] = place
    rounded = round_each([r.score for r in ranked], SCORE_DECIMALS).tolist()
    remaining = sorted(range(len(ranked)), key=lambda i: (-rounded[i], cheap[i]))
    scores = [rounded[i] for i in remaining]
    fully = [r.fully_meets_needs for r in ranked]
    ordered: list[RankedBid] = []
    while remaining:
        head = remaining[0]
        if not fully[head]:
            ordered.append(ranked[remaining.pop(0)])
            scores.pop(0)
            continue
        floor = scores[0] - options.tie_epsilon
        pick, pick_place = 0, cheap[head]
        for at in range(1, len(remaining)):
            if scores[at] < floor:
                break
            i = remaining[at]
            if fully[i] and cheap[i] < pick_place:
                pick, pick_place = at, cheap[i]
        moved = ranked[remaining.pop(pick)]
        if pick:
            moved = moved.placed_above(tuple(ranked[i].bid.bid_id for i in remaining[:pick]))
        ordered.append(moved)
        scores.pop(pick)
    return ordered
