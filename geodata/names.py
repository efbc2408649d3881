"""Normalising authority names so that the many ways councils are written compare equal.

"LB Barking & Dagenham", "London Borough of Barking and Dagenham" and "barking and dagenham"
must all find one authority, while genuinely different names must not collide. We lowercase,
turn "&" into "and", drop punctuation, then peel administrative prefixes and suffixes one at
a time; every intermediate form is a lookup key, tried from least to most stripped, so the
most specific match wins ("City of London" matches before any stripping happens).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["RESERVED_KEYS", "name_keys", "normalise"]

_PREFIXES = (
    "london borough of",
    "royal borough of",
    "metropolitan borough of",
    "borough of",
    "council of the",
    "city and county of the",
    "city and county of",
    "city of",
    "county of",
    "lb of",
    "lb",
    "rb",
    "the",
)
_SUFFIXES = (
    "metropolitan borough council",
    "metropolitan district council",
    "borough council",
    "city council",
    "county council",
    "district council",
    "unitary authority",
    "council",
    "corporation",
    "city of",
    "county of",
    "city",
)

RESERVED_KEYS = frozenset({"london"})
"""Keys never indexed: "London" alone means the region (33 authorities), not the City."""


def normalise(text: str) -> str:
    """Lowercase ASCII words separated by single spaces; "&" becomes "and"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", " ", ascii_text.lower().replace("&", " and "))
    return " ".join(words.split())


def name_keys(text: str) -> list[str]:
    """Lookup keys for a name, least stripped first, never empty strings."""
    key = normalise(text)
    keys = [key] if key else []
    while key:
        stripped = _strip_once(key)
        if stripped == key or not stripped:
            break
        key = stripped
        keys.append(key)
    return keys


def _strip_once(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix + " "):
            return key[len(prefix) + 1 :]
    for suffix in _SUFFIXES:
        if key.endswith(" " + suffix):
            return key[: -len(suffix) - 1]
    return key
