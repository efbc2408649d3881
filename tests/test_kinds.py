"""Per-kind tables: the accept-word test is exactly the reason bits' definition."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import geodata
from matcher.match.criteria import Criteria, Origin
from matcher.match.eligibility import kind_eligible, reason_bits, required_bits
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
