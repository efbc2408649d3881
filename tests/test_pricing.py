"""Exact pricing: every discount combination, ceilings to the penny, half-up rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from matcher.bids.contract_terms import DEFAULT_TERMS, ContractTerms, terms_book
from matcher.bids.pricing import Pricer, price_bid
from matcher.vocabulary.catalogue import Dpv, ServiceUnit
from matcher.vocabulary.money import MoneyStr, format_pence, pence_bytes, pence_texts, to_pence

FOSTERING = DEFAULT_TERMS[Dpv.FOSTERING]
RESIDENTIAL = DEFAULT_TERMS[Dpv.RESIDENTIAL]
SEN = DEFAULT_TERMS[Dpv.SEN]


@pytest.mark.parametrize(
    ("terms", "children", "weeks", "kinds", "net_weekly"),
    [
        (FOSTERING, 1, 12, [], 100000),  # single, short: no discount
        (FOSTERING, 1, 39, ["long_placement"], 95000),  # 9 months exactly: 5%
        (FOSTERING, 1, 38, [], 100000),  # one week short of 9 months
        (FOSTERING, 2, 12, ["sibling_group"], 190000),  # siblings: 5% off each child's fee
        (FOSTERING, 2, 52, ["sibling_group", "long_placement"], 180000),  # cumulative 10%
        (FOSTERING, 3, 52, ["sibling_group", "long_placement"], 270000),  # 10% for a group of 3
        (RESIDENTIAL, 1, 52, ["long_placement"], 97000),  # residential 3%
        (RESIDENTIAL, 2, 52, ["long_placement"], 194000),  # no sibling discount
        (RESIDENTIAL, 1, 20, [], 100000),
        (SEN, 1, 52, [], 100000),  # none by default
    ],
)
def test_discount_combinations(
    terms: ContractTerms, children: int, weeks: int, kinds: list[str], net_weekly: int
) -> None:
    """Discounts follow the report's default terms (fee 1000.00 per child per week)."""
    priced = price_bid(100000, children, weeks, terms, [])
    assert [d.kind for d in priced.discounts] == kinds
    assert priced.net_weekly_core_pence == net_weekly
    assert priced.expected_total_pence == net_weekly * weeks


def test_long_sibling_placement_is_ten_percent_cumulative() -> None:
    """The report: 5% sibling + 5% permanence = 10%, not 9.75% compounded."""
    priced = price_bid(84581, 2, 52, FOSTERING, [])
    assert priced.gross_weekly_core_pence == 169162
    assert sum(d.percent for d in priced.discounts) == Decimal(10)
    assert priced.expected_total_pence == round(169162 * 0.9 * 52)


def test_residential_rate_is_configuration() -> None:
    """The report also says 5% for residential: a setting, with its own terms version."""
    five = terms_book(Decimal(5))
    assert five.for_dpv(Dpv.RESIDENTIAL).long_placement_discount_percent == 5
    assert five.version != terms_book().version
    assert (
        price_bid(100000, 1, 52, five.for_dpv(Dpv.RESIDENTIAL), []).net_weekly_core_pence == 95000
    )


def test_rounding_is_half_up_once_at_the_end() -> None:
    """3% of 3816.77 = 114.5031 a week; the total is rounded from the exact value."""
    priced = price_bid(381677, 1, 39, RESIDENTIAL, [])
    assert priced.discounts[0].weekly_pence == 11450
    exact_total = Decimal(381677) * Decimal("0.97") * 39
    assert priced.expected_total_pence == int(exact_total.quantize(Decimal(1), "ROUND_HALF_UP"))
    # half a penny rounds up
    half = price_bid(1, 1, 39, RESIDENTIAL, [])  # 0.97p a week * 39 = 37.83p
    assert half.expected_total_pence == 38


def test_additional_services_are_time_limited_to_the_placement() -> None:
    """Services cost units x rate for their weeks, capped at the expected duration."""
    services = [("one_to_one_staffing", ServiceUnit.HOUR, 2450, Decimal(10), 12),
                ("therapy_session", ServiceUnit.SESSION, 9000, Decimal("1.5"), 100)]  # fmt: skip
    priced = price_bid(400000, 1, 20, SEN, services)
    assert [s.weeks_charged for s in priced.services] == [12, 20]
    assert priced.services_total_pence == 2450 * 10 * 12 + 9000 * 15 * 2
    assert priced.expected_total_pence == 400000 * 20 + priced.services_total_pence
    assert priced.average_weekly_pence == priced.expected_total_pence // 20


@pytest.mark.parametrize(
    ("text", "pence"),
    [("4200", 420000), ("4200.5", 420050), ("4200.05", 420005), ("0.01", 1), ("0", 0)],
)
def test_money_round_trips(text: str, pence: int) -> None:
    """Money strings parse to integer pence and format back with two decimals."""
    assert to_pence(text) == pence
    assert to_pence(format_pence(pence)) == pence


@given(pence=st.integers(-(10**12), 10**12))
def test_money_as_bytes_is_the_same_text(pence: int) -> None:
    """Answers written as JSON text format amounts as bytes: the same digits."""
    assert pence_bytes(pence) == format_pence(pence).encode()


@given(
    st.lists(
        st.one_of(
            st.integers(-(10**12), 10**12),
            st.integers(-(2**64), 2**64),
            st.sampled_from([0, -1, 99, -100, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1]),
        ),
        max_size=40,
    )
)
@example([0, -1, 1, -99, 99, -100, 100, -101, 2**63 - 1, -(2**63) + 1])
@example([5, -(2**63), 7])
@example([1, 2**64])
def test_a_column_of_amounts_is_each_amount_as_bytes(amounts: list[int]) -> None:
    """Amounts formatted a column at a time are `pence_bytes` of each, beyond 64 bits too."""
    assert pence_texts(amounts) == [pence_bytes(p) for p in amounts]


@given(st.integers(0, 999_999_999), st.sampled_from(["", "0", "5", "05", "50", "99"]))
def test_money_fast_paths_equal_decimal_arithmetic(whole: int, decimals: str) -> None:
    """The string fast paths give exactly what Decimal gives, for every accepted form."""
    text = f"{whole}.{decimals}" if decimals else str(whole)
    exact = Decimal(text)
    canonical = TypeAdapter(MoneyStr).validate_python(text)
    assert canonical == str(exact.quantize(Decimal("0.01")))
    pence = int((exact * 100).to_integral_value(rounding=ROUND_HALF_UP))
    assert to_pence(canonical) == to_pence(text) == pence
    assert to_pence(f"-{canonical}") == -pence


@given(
    fee=st.integers(1, 10**11),
    children=st.integers(1, 10),
    weeks=st.integers(1, 520),
    sibling=st.sampled_from(["0", "5", "2.5", "12.345", "100", "60", "0.000001"]),
    long_stay=st.sampled_from(["0", "3", "5", "7.75", "99.99", "1.2345678"]),
)
def test_integer_pricing_equals_decimal_pricing(
    fee: int, children: int, weeks: int, sibling: str, long_stay: str
) -> None:
    """A bid without services is priced in integers: every figure and the exact total are
    those of the Decimal arithmetic (percentages beyond 6 places go to Decimal anyway)."""
    terms = ContractTerms(Decimal(sibling), 2, Decimal(long_stay), 39)
    pricer = Pricer.of(terms, children, weeks)
    assert pricer.price(fee, []) == pricer._in_decimals(fee, [])
