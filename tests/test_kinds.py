"""Per-kind tables: the accept-word test is exactly the reason bits' definition."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import geodata
from matcher.match.criteria import Criteria, Origin
from matcher.match.eligibility import kind_eligible, reason_bits, required_bits, row_facts
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import (
    DPV_CODE,
    LOT_CODE,
    LOTS_BY_DPV,
    Dpv,
    Gender,
    Need,
    OfstedRating,
    needs_mask,
)

AUTHORITY = geodata.authorities()[0]


@st.composite
def criteria(draw: st.DrawFn) -> Criteria:
    """Every criterion the accept word encodes, over its whole range, and start dates
    across the demo registry's ceiling years (so listings with two periods are tested on
    both sides of the boundary)."""
    dpv = draw(st.sampled_from(list(Dpv)))
    return Criteria(
        authority_code=AUTHORITY.code,
        dpv=dpv,
        lot=draw(st.sampled_from(LOTS_BY_DPV[dpv])),
        age=draw(st.integers(0, 25)),
        gender=draw(st.sampled_from(list(Gender))),
        needs_mask=needs_mask(draw(st.sets(st.sampled_from(list(Need)), max_size=3))),
        sibling_group_size=draw(st.integers(1, 10)),
        start_date=draw(st.dates(date(2025, 1, 1), date(2028, 12, 31))).toordinal(),
        origin=Origin(AUTHORITY.lat, AUTHORITY.lon, "authority", AUTHORITY.code),
        max_distance_m=1000.0,
        min_rating=draw(
            st.sampled_from([r for r in OfstedRating if r is not OfstedRating.NOT_YET_INSPECTED])
        ),
        accept_not_yet_inspected=draw(st.booleans()),
        exclude_listing_ids=frozenset(),
    )


@given(c=criteria())
def test_kind_table_accepts_exactly_the_listings_without_a_reason(
    index: RegistryIndex, c: Criteria
) -> None:
    """Over the whole registry: the rows the referral's kind table accepts are the rows
    whose reason bits are 0 (distance aside), each once."""
    kind = index.kinds[(DPV_CODE[c.dpv], LOT_CODE[c.lot])]
    every = np.arange(kind.size, dtype=np.intp)
    ok = kind_eligible(kind, every, required_bits(c), np.int32(c.start_date))
    accepted = kind.row[ok]
    assert len(np.unique(accepted)) == len(accepted)  # one period per date at most
    all_rows = np.arange(index.registry.size, dtype=np.intp)
    truth = np.flatnonzero(reason_bits(index, all_rows, c) == 0)
    assert np.array_equal(np.sort(accepted), truth)


def test_kind_tables_hold_only_listings_that_could_take_a_referral(index: RegistryIndex) -> None:
    """No suspended, barred, unregistered, alerted or full listing is in any table, and
    every table's columns follow its tree's storage order."""
    reg = index.registry
    for (dpv, lot), kind in index.kinds.items():
        assert np.all(index.static_bits[kind.row] == 0)
        assert np.all(reg.vacancies[kind.row] >= 1)
        assert np.all(reg.dpv[kind.row] == dpv)
        assert np.all((reg.lots_mask[kind.row] >> lot) & 1 == 1)
        assert np.array_equal(kind.easting, index.easting[kind.row])
        assert np.all(kind.start_lo <= kind.start_hi)


@given(
    c=criteria(),
    picks=st.lists(st.integers(0, 10**9), min_size=0, max_size=60),
    excluded=st.lists(st.integers(0, 10**9), max_size=4),
)
def test_row_facts_are_reason_bits_and_ceilings(
    index: RegistryIndex, c: Criteria, picks: list[int], excluded: list[int]
) -> None:
    """The compiled pass of an answer's rows gives exactly `reason_bits` (the definition)
    and the lot's ceiling on the start date, for any rows (repeats included) and any
    excluded listings (one unknown id among them)."""
    n = index.registry.size
    rows = np.array([p % n for p in picks], dtype=np.intp)
    ids = {index.registry.ids[p % n] for p in excluded} | ({"L-UNKNOWN"} if excluded else set())
    c = replace(c, exclude_listing_ids=frozenset(ids))
    facts = row_facts(index, rows, c)
    assert facts.bits.dtype == np.uint32
    assert np.array_equal(facts.bits, reason_bits(index, rows, c))
    ceilings = index.lot_ceilings[LOT_CODE[c.lot]].pence_on(rows, c.start_date)
    assert np.array_equal(facts.ceiling_pence, ceilings)


def test_row_facts_of_the_whole_registry(index: RegistryIndex) -> None:
    """Every row at once, for a referral most listings fail in several ways."""
    c = Criteria(
        authority_code=AUTHORITY.code, dpv=Dpv.RESIDENTIAL,
        lot=LOTS_BY_DPV[Dpv.RESIDENTIAL][0], age=17,
        gender=Gender.FEMALE, needs_mask=needs_mask([Need.AUTISM]), sibling_group_size=2,
        start_date=date(2026, 3, 1).toordinal(),
        origin=Origin(AUTHORITY.lat, AUTHORITY.lon, "authority", AUTHORITY.code),
        max_distance_m=1000.0, min_rating=OfstedRating.GOOD, accept_not_yet_inspected=False,
        exclude_listing_ids=frozenset(index.registry.ids[:3]),
    )  # fmt: skip
    every = np.arange(index.registry.size, dtype=np.intp)
    truth = reason_bits(index, every, c)
    assert len(np.unique(truth)) > 10  # many different combinations of reasons
    assert np.array_equal(row_facts(index, every, c).bits, truth)
