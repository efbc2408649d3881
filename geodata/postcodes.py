"""Postcode districts (outcodes) of Great Britain, and reading a postcode down to its district.

We hold one point per district, not per postcode: a district is precise enough for "how far
is this provider" (a few km) and keeps the committed data ~200 KB instead of ~50 MB.
Northern Ireland (BT) postcodes are refused outright: they are not in the Open Government
Licence data (Code-Point Open covers Great Britain only), and guessing would be worse.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

from geodata.data_files import read_csv
from geodata.errors import OutsideCoverageError, UnknownPostcodeError

__all__ = ["Outcode", "looks_like_postcode", "outcode", "outcodes", "outward_code"]

# UK format: outward code = area (1-2 letters) + district (digit, then digit or letter);
# inward code = digit + 2 letters, always 3 characters. Spaces are optional on input.
_OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_FULL = re.compile(rf"({_OUTWARD})([0-9][A-Z]{{2}})")
_DISTRICT = re.compile(_OUTWARD)

_NOT_COVERED = {
    "BT": "Northern Ireland (BT) postcodes are not covered: Code-Point Open, the Open "
    "Government Licence source used here, covers Great Britain only",
    "GY": "Guernsey (GY) postcodes are not covered: the Channel Islands are not in Great Britain",
    "JE": "Jersey (JE) postcodes are not covered: the Channel Islands are not in Great Britain",
    "IM": "Isle of Man (IM) postcodes are not covered: the Isle of Man is not in Great Britain",
}


@dataclass(frozen=True, slots=True)
class Outcode:
    """A postcode district: the mean position of its live postcodes.

    ``country`` is "england", "scotland" or "wales" (where most of its postcodes are);
    ``authority_code`` is the English upper-tier authority holding most of its postcodes,
    None when most are in Scotland or Wales.
    """

    outcode: str
    lat: float
    lon: float
    easting: float
    northing: float
    country: str
    authority_code: str | None
    postcode_count: int


@functools.cache
def _outcodes() -> dict[str, Outcode]:
    return {
        row["outcode"]: Outcode(
            outcode=row["outcode"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            easting=float(row["easting"]),
            northing=float(row["northing"]),
            country=row["country"],
            authority_code=row["authority_code"] or None,
            postcode_count=int(row["postcode_count"]),
        )
        for row in read_csv("outcodes.csv")
    }


@functools.cache
def _retired() -> dict[str, str]:
    return {row["outcode"]: row["nearest_live_outcode"] for row in read_csv("retired_outcodes.csv")}


def outcodes() -> tuple[Outcode, ...]:
    """Every live postcode district in Great Britain, sorted by outcode."""
    return tuple(_outcodes().values())


def _compact(query: str) -> str:
    return re.sub(r"\s+", "", query).upper()


def looks_like_postcode(query: str) -> bool:
    """Whether ``query`` has the shape of a full postcode or of an outward code."""
    compact = _compact(query)
    return bool(_FULL.fullmatch(compact) or _DISTRICT.fullmatch(compact))


def outward_code(query: str) -> str:
    """The outward code of a full postcode or district ("ig11 7lu" -> "IG11").

    Raises
    ------
    UnknownPostcodeError
        If ``query`` has neither shape.
    """
    compact = _compact(query)
    full = _FULL.fullmatch(compact)
    if full:
        return full.group(1)
    if _DISTRICT.fullmatch(compact):
        return compact
    raise UnknownPostcodeError(
        f"{query!r} is not a UK postcode or postcode district (e.g. 'IG11 7LU' or 'IG11')",
        query=query,
        suggestions=[],
    )


def outcode(query: str) -> Outcode:
    """The district of a full postcode or outward code, case- and space-insensitive.

    Raises
    ------
    OutsideCoverageError
        For Northern Ireland (BT), Channel Islands and Isle of Man postcodes.
    UnknownPostcodeError
        For malformed input and districts not in use, with close ``suggestions``.
    """
    district = outward_code(query)
    if district[:2] in _NOT_COVERED:
        raise OutsideCoverageError(_NOT_COVERED[district[:2]], query=query)
    found = _outcodes().get(district)
    if found is not None:
        return found
    close = difflib.get_close_matches(district, list(_outcodes()), n=5, cutoff=0.5)
    retired = _retired().get(district)
    if retired is not None:
        suggestions = [retired, *(c for c in close if c != retired)][:5]
        raise UnknownPostcodeError(
            f"postcode district {district} is no longer in use; the nearest current "
            f"district to where it was is {retired}",
            query=query,
            suggestions=suggestions,
        )
    hint = f"; did you mean {' or '.join(close[:3])}?" if close else ""
    raise UnknownPostcodeError(
        f"postcode district {district} is not in use in Great Britain{hint}",
        query=query,
        suggestions=close,
    )
