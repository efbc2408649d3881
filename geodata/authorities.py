"""The 153 English upper-tier authorities with children's services, and finding one by name.

Councils refer to each other by ONS code (sometimes an old one), by official name, or by
whatever is on their letterhead. :func:`authority` accepts all of these; when it cannot
decide it fails with suggestions rather than guessing, because placing a child against the
wrong council is worse than asking again. Codes of authorities split in two (Cumbria,
Northamptonshire) are therefore refused with both successors named.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

from geodata.data_files import read_csv
from geodata.errors import UnknownAuthorityError
from geodata.names import RESERVED_KEYS, name_keys

__all__ = ["Authority", "authorities", "authority", "authority_by_code"]

_CODE = re.compile(r"[EWSN]\d{8}")


@dataclass(frozen=True, slots=True)
class Authority:
    """One upper-tier authority; ``lat``/``lon`` and ``easting``/``northing`` are the same point.

    The point is the mean position of the authority's live postcodes (moved to its nearest
    own postcode when that mean falls outside the authority, e.g. in Torbay's bay).
    ``superseded_codes`` lists codes this authority replaced wholly or in part.
    """

    code: str
    name: str
    type: str
    lat: float
    lon: float
    easting: float
    northing: float
    aliases: tuple[str, ...]
    superseded_codes: tuple[str, ...]
    postcode_count: int


@dataclass(frozen=True, slots=True)
class _Registry:
    by_code: dict[str, Authority]
    successors: dict[str, tuple[str, tuple[str, ...]]]  # old code -> (old name, new codes)
    keys: dict[str, str]  # name key -> code
    ambiguous: dict[str, tuple[str, ...]]  # name key -> several codes


def _split(field: str) -> tuple[str, ...]:
    return tuple(field.split("|")) if field else ()


@functools.cache
def _registry() -> _Registry:
    by_code = {
        row["code"]: Authority(
            code=row["code"],
            name=row["name"],
            type=row["type"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            easting=float(row["easting"]),
            northing=float(row["northing"]),
            aliases=_split(row["aliases"]),
            superseded_codes=_split(row["superseded_codes"]),
            postcode_count=int(row["postcode_count"]),
        )
        for row in read_csv("authorities.csv")
    }
    successors = {
        row["code"]: (row["name"], _split(row["successor_codes"]))
        for row in read_csv("superseded.csv")
    }
    candidates: dict[str, set[str]] = {}
    # Current names first: an old name ("Somerset") only fills keys nobody current holds.
    for a in by_code.values():
        for text in (a.name, *a.aliases):
            for key in name_keys(text):
                candidates.setdefault(key, set()).add(a.code)
    current_keys = set(candidates)
    for old_name, new_codes in successors.values():
        for key in name_keys(old_name):
            if key not in current_keys:
                candidates.setdefault(key, set()).update(new_codes)
    keys: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for key, codes in candidates.items():
        if key in RESERVED_KEYS:
            continue
        if len(codes) == 1:
            keys[key] = next(iter(codes))
        else:
            ambiguous[key] = tuple(sorted(codes))
    return _Registry(by_code, successors, keys, ambiguous)


def authorities() -> tuple[Authority, ...]:
    """All 153 current authorities, sorted by ONS code."""
    return tuple(sorted(_registry().by_code.values(), key=lambda a: a.code))


def authority_by_code(code: str) -> Authority:
    """The authority with this current or superseded ONS code (no name matching)."""
    reg = _registry()
    code = code.strip().upper()
    if code in reg.by_code:
        return reg.by_code[code]
    if code in reg.successors:
        old_name, new_codes = reg.successors[code]
        if len(new_codes) == 1:
            return reg.by_code[new_codes[0]]
        names = [reg.by_code[c].name for c in new_codes]
        listed = " and ".join(f"{reg.by_code[c].name} ({c})" for c in new_codes)
        raise UnknownAuthorityError(
            f"{code} ({old_name}) was split into {listed}; use one of those",
            query=code,
            suggestions=names,
        )
    raise UnknownAuthorityError(
        f"{code} is not the code of a current English upper-tier authority "
        "(a London borough, metropolitan district, unitary authority or county)",
        query=code,
        suggestions=[],
    )


def authority(query: str) -> Authority:
    """Find an authority by ONS code (current or superseded) or by any variant of its name.

    Raises
    ------
    UnknownAuthorityError
        With ``suggestions`` (names, best first) when nothing or more than one matches.
    """
    text = query.strip()
    if _CODE.fullmatch(text.upper()):
        return authority_by_code(text)
    reg = _registry()
    keys = name_keys(text)
    for key in keys:
        if key in reg.keys:
            return reg.by_code[reg.keys[key]]
        if key in reg.ambiguous:
            names = [reg.by_code[c].name for c in reg.ambiguous[key]]
            raise UnknownAuthorityError(
                f"{query!r} matches more than one authority: {', '.join(names)}; name one of them",
                query=query,
                suggestions=names,
            )
    if RESERVED_KEYS.intersection(keys):
        raise UnknownAuthorityError(
            f"{query!r} is a region of 33 authorities, not one; name the London borough "
            "(or 'City of London')",
            query=query,
            suggestions=["City of London"],
        )
    suggestions = _suggest(keys)
    hint = f"; did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
    raise UnknownAuthorityError(
        f"no English upper-tier authority is called {query!r} (only English London "
        f"boroughs, metropolitan districts, unitaries and counties are covered){hint}",
        query=query,
        suggestions=suggestions,
    )


def _suggest(keys: list[str], limit: int = 5) -> list[str]:
    reg = _registry()
    every = sorted(reg.keys)
    names: dict[str, None] = {}
    for key in reversed(keys):  # the most stripped form is the most comparable
        for match in difflib.get_close_matches(key, every, n=limit * 2, cutoff=0.6):
            names.setdefault(reg.by_code[reg.keys[match]].name)
    return list(names)[:limit]
