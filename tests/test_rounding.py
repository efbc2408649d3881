"""`round_each` is Python's `round`, value for value (sign of zero included)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from matcher.vocabulary.rounding import round_each

FLOATS = st.one_of(
    st.floats(allow_nan=False),
    st.floats(-2.0, 2.0),
    st.integers(-(10**9), 10**9).map(lambda k: (k + 0.5) / 10**6),  # halves at 6 places
    st.integers(-(10**6), 10**6).map(lambda k: (k + 0.5) / 10**3),  # and at 3
    st.integers(-(10**4), 10**4).map(lambda k: k / 10**6 * 1.0000000000000002),
)


def _same(a: float, b: float) -> bool:
    return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)


@given(values=st.lists(FLOATS, max_size=60), places=st.sampled_from([0, 1, 3, 6, 9]))
def test_round_each_is_round(values: list[float], places: int) -> None:
    got = round_each(values, places).tolist()
    assert all(_same(g, round(v, places)) for g, v in zip(got, values, strict=True))


def test_round_each_keeps_the_shape_and_special_values() -> None:
    got = round_each([[0.1234565, -1e-12], [float("inf"), 2.5e12]], 6)
    assert got.shape == (2, 2)
    assert got[0, 0] == round(0.1234565, 6) and math.copysign(1, got[0, 1]) == -1
    assert got[1, 0] == float("inf") and got[1, 1] == 2.5e12
    nan = round_each([float("nan")], 6)
    assert nan[0] != nan[0]
