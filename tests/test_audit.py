"""Audit ids: the canonical JSON text decision ids hash is `json.dumps`' exact text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from matcher.vocabulary.audit import canonical_json

# Every JSON value, with floats of every magnitude (the encoders differ below 1e-4), any
# Unicode (control characters, line separators, astral planes) in keys and strings.
JSON: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(value=JSON)
def test_canonical_json_is_json_dumps_text(value: Any) -> None:
    """Whichever encoder writes it, the text is json.dumps' sorted, compact, UTF-8 text."""
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected
