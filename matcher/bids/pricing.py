"""Price a bid exactly: core fee per child per week, discounts, time-limited extras.

All arithmetic is exact; each reported figure is rounded half-up to the penny once, from
its exact value (so a total is never the sum of already-rounded parts). A bid without
additional services (most bids) is priced in integers: with every percentage a decimal of
few places, each exact figure is an integer over one power of ten. Additional services
(a rate times a decimal number of units) are priced in `Decimal` pence, as before: the
two ways give the same figures (tested on random bids).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from matcher.bids.contract_terms import ContractTerms
from matcher.vocabulary.catalogue import ServiceUnit
from matcher.vocabulary.money import round_pence

HUNDRED = Decimal(100)


class Discount(NamedTuple):
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


class PricedBid(NamedTuple):
    """Every figure of a bid's price, in pence.

    Named tuples (this, `Discount`, `RankedBid`): immutable as frozen dataclasses are, and
    built in half the time; a ranking builds several per bid.
    """

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
    return Pricer.of(terms, children, duration_weeks).price(fee_pence, services)


MAX_PERCENT_PLACES = 6  # beyond this, `Decimal` prices every bid (no integer shortcut)


@dataclass(frozen=True, slots=True)
class Pricer:
    """Prices the bids of one referral: its group size, duration and discounts are fixed.

    `scaled` holds each applied percentage as an integer over `den` / 100, so that a bid
    without additional services is priced in integers (see `price`); None when a
    percentage has more than `MAX_PERCENT_PLACES` decimal places.
    """

    children: int
    duration_weeks: int
    applied: list[tuple[str, Decimal]]
    scaled: list[int] | None
    den: int

    @classmethod
    def of(cls, terms: ContractTerms, children: int, duration_weeks: int) -> Pricer:
        """The pricer for a referral under these terms."""
        applied = discount_percents(terms, children, duration_weeks)
        places = 0
        for _, pct in applied:
            exponent = pct.as_tuple().exponent
            if not isinstance(exponent, int) or -exponent > MAX_PERCENT_PLACES:
                return cls(children, duration_weeks, applied, None, 1)
            places = max(places, -exponent)
        scaled = [int(pct.scaleb(places)) for _, pct in applied]
        return cls(children, duration_weeks, applied, scaled, 100 * 10**places)

    def price(
        self, fee_pence: int, services: list[tuple[str, ServiceUnit, int, Decimal, int]]
    ) -> PricedBid:
        """Price one bid (see `price_bid`)."""
        if not services and self.scaled is not None:
            return self._in_integers(fee_pence, self.scaled)
        return self._in_decimals(fee_pence, services)

    def _in_integers(self, fee_pence: int, scaled: list[int]) -> PricedBid:
        """With percentages p_i / (den / 100), every exact figure is an integer over den:
        the discounts gross * p_i, the net weekly core gross * (den - sum p_i), the total
        the net times the weeks; the average weekly cost is the net itself. A ranking prices
        every bid this way, so the tuples are built by position (half the time of keywords)."""
        den, weeks = self.den, self.duration_weeks
        gross = fee_pence * self.children
        net_num = gross * (den - sum(scaled))
        total_num = net_num * weeks
        net = half_up(net_num, den)
        return PricedBid(
            fee_pence,
            self.children,
            gross,
            tuple(
                [
                    Discount(kind, pct, half_up(gross * p, den))
                    for (kind, pct), p in zip(self.applied, scaled, strict=True)
                ]
            ),
            net,
            (),  # services
            0,  # services_total_pence
            weeks,
            half_up(total_num, den),  # expected_total_pence
            net,  # average_weekly_pence
            Decimal(total_num) / den,  # exact_total
        )

    def _in_decimals(
        self, fee_pence: int, services: list[tuple[str, ServiceUnit, int, Decimal, int]]
    ) -> PricedBid:
        duration_weeks = self.duration_weeks
        gross = Decimal(fee_pence) * self.children
        exact_discounts = [(kind, pct, gross * pct / HUNDRED) for kind, pct in self.applied]
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
            children=self.children,
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


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (> 0) rounded to an integer, halves away from zero, as
    `Decimal`'s ROUND_HALF_UP does."""
    if numerator < 0:
        return -half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)
