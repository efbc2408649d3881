"""The listings' fixed JSON text: the same bytes as encoding the answer's values each time."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.match import listing_json
from matcher.match.request import METRES_PER_MILE, ShortlistRequest
from matcher.match.response import miles, miles_texts
from matcher.service import Matcher
from matcher.vocabulary.rounding import float_texts, round_each
from tests.conftest import referral

# Geodesic distances on the WGS84 ellipsoid are at most ~20,004 km.
DISTANCES = st.one_of(
    st.floats(0.0, 2.1e7, allow_nan=False),
    st.integers(0, 21_000_000).map(lambda m: m / 1.0),
    st.integers(0, 21_000_000).map(lambda m: m * METRES_PER_MILE / 1000),
    st.integers(0, 10**6).map(lambda m: (m + 0.5) / 10),  # halfway cases of the rounding
)


@given(metres=st.lists(DISTANCES, max_size=60))
def test_distances_are_written_as_orjson_writes_the_rounded_floats(metres: list[float]) -> None:
    """A column of distances written at once is, value for value, what encoding each
    rounded float alone gives (miles to 3 decimals, metres to 1)."""
    assert miles_texts(metres) == [orjson.dumps(miles(m)) for m in metres]
    assert float_texts(round_each(metres, 1)) == [orjson.dumps(round(m, 1)) for m in metres]


def test_answers_are_the_same_when_the_text_cache_starts_again(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for a few rows only, the cache is emptied again and again mid-answer; the
    answers do not change and it never holds more than its bound."""
    requests = [
        ShortlistRequest.model_validate(referral(limit=40, max_distance_miles=radius))
        for radius in (10, 25, 40)
    ]
    before = [matcher.shortlist_answer(r).json() for r in requests]
    texts = listing_json.listing_json(matcher.snapshot.index.registry)
    monkeypatch.setattr(listing_json, "MAX_CACHED_ROWS", 16)
    texts._entries.texts.clear()
    texts._excluded.texts.clear()
    for _ in range(2):
        assert [matcher.shortlist_answer(r).json() for r in requests] == before
        assert len(texts._entries.texts) <= 40 + 16
    assert len(before[-1]) > len(before[0])


def test_one_text_cache_per_registry(matcher: Matcher) -> None:
    registry = matcher.snapshot.index.registry
    assert listing_json.listing_json(registry) is listing_json.listing_json(registry)
