"""Price a bid exactly: core fee per child per week, discounts, time-limited extras.

All arithmetic is in exact `Decimal` pence; each reported figure is rounded half-up to the
penny once, from its exact value (so a total is never the sum of already-rounded parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from matcher.bids.contract_terms import ContractTerms
from matcher.vocabulary.catalogue import ServiceUnit
from matcher.vocabulary.money import round_pence

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Discount:
    """One discount applied to the weekly core fee."""

    kind: str  # "sibling_group" | "long_placement"
    percent: Decimal
    weekly_pence: int


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """An additional service priced from the menu, charged for at most the placement."""

    code: str
    unit: ServiceUnit
    rate_pence: int
    units_per_week: Decimal
    weeks_charged: int
    cost_pence: int


@dataclass(frozen=True, slots=True)
class PricedBid:
    """Every figure of a bid's price, in pence."""

    fee_pence: int
    children: int
    gross_weekly_core_pence: int
    discounts: tuple[Discount, ...]
    net_weekly_core_pence: int
    services: tuple[ServiceLine, ...]
    services_total_pence: int
    expected_duration_weeks: int
    expected_total_pence: int
    average_weekly_pence: int
    exact_total: Decimal  # for ordering, before rounding


def discount_percents(
    terms: ContractTerms, children: int, duration_weeks: int
) -> list[tuple[str, Decimal]]:
    """The discounts that apply (kind, percent), in a fixed order."""
    out: list[tuple[str, Decimal]] = []
    if children >= terms.sibling_min_group and terms.sibling_discount_percent > 0:
        out.append(("sibling_group", terms.sibling_discount_percent))
    if duration_weeks >= terms.long_placement_min_weeks and terms.long_placement_discount_percent:
        out.append(("long_placement", terms.long_placement_discount_percent))
    return out


def price_bid(
    fee_pence: int,
    children: int,
    duration_weeks: int,
    terms: ContractTerms,
    services: list[tuple[str, ServiceUnit, int, Decimal, int]],
) -> PricedBid:
    """Price a bid.

    Parameters
    ----------
    fee_pence : the bid's weekly fee per child, in pence.
    children : the sibling group size (each child pays the fee).
    duration_weeks : expected duration of the placement, weeks.
    terms : the DPV's contract terms.
    services : (code, unit, rate_pence, units_per_week, weeks) for each additional service.
    """
    gross = Decimal(fee_pence) * children
    applied = discount_percents(terms, children, duration_weeks)
    exact_discounts = [(kind, pct, gross * pct / HUNDRED) for kind, pct in applied]
    net = gross - sum((d for _, _, d in exact_discounts), Decimal(0))
    lines: list[ServiceLine] = []
    services_exact = Decimal(0)
    for code, unit, rate, units, weeks in services:
        charged = min(weeks, duration_weeks)
        cost = Decimal(rate) * units * charged
        services_exact += cost
        lines.append(ServiceLine(code, unit, rate, units, charged, round_pence(cost)))
    total = net * duration_weeks + services_exact
    return PricedBid(
        fee_pence=fee_pence,
        children=children,
        gross_weekly_core_pence=round_pence(gross),
        discounts=tuple(Discount(k, p, round_pence(d)) for k, p, d in exact_discounts),
        net_weekly_core_pence=round_pence(net),
        services=tuple(lines),
        services_total_pence=round_pence(services_exact),
        expected_duration_weeks=duration_weeks,
        expected_total_pence=round_pence(total),
        average_weekly_pence=round_pence(total / duration_weeks),
        exact_total=total,
    )
