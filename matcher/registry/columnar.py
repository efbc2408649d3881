"""The fast path of snapshot validation: listings decoded by msgspec straight into columns.

Validating one pydantic model per listing after `json.loads` costs ~100 us a listing (11 s
at 100k). Here a chunk of listings is decoded by msgspec into slotted structs that mirror
the snapshot models (`matcher.registry.snapshot`): it checks types, lengths, ranges, codes,
required and unknown keys in C while it parses. The columns are then read off the structs;
patterns are matched once per column (ids: one match over the column joined by newlines)
or once per distinct value (dates, money, service codes, authorities: a memo kept for the
whole load), and the rules across fields (age range, vacancies within places, lots of the
listing's DPV, ceilings only for listed lots and never overlapping, each lot and service
code once, the location's form) are checked over whole columns with numpy.

This path is strict where pydantic is lax: it accepts only the plain JSON form of each
value (an int where an int is due, not `true`, `5.0` or `"5"`; dates as `YYYY-MM-DD`), so
what it accepts is a subset of what the models accept, with the same values (tests compare
the two on generated and mutated snapshots). A chunk with anything else, valid or not, raises
`NotPlain`, and the loader validates that chunk with the pydantic models, which report
every error exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt
from msgspec import UNSET, Meta, Struct, UnsetType

from matcher.registry.columns import (
    ALERT_STATUSES,
    DPVS,
    GENDERS,
    LOTS,
    NEEDS,
    RATINGS,
    REGISTRATIONS,
    SEVERITIES,
    STATUSES,
    TEXT_COLUMNS,
    UNIQUE_TEXT_COLUMNS,
    UNITS,
)
from matcher.registry.snapshot import AUTHORITY_CODE_PATTERN, ID_PATTERN, SERVICE_CODE_PATTERN
from matcher.registry.strings import StrColumn, StrColumnBuilder
from matcher.vocabulary.catalogue import (
    LOTS_BY_DPV,
    AlertSeverity,
    AlertStatus,
    Dpv,
    DpvStatus,
    Gender,
    Lot,
    Need,
    OfstedRating,
    OfstedRegistration,
    ServiceUnit,
)
from matcher.vocabulary.money import MONEY_PATTERN


def _fullmatch(pattern: str) -> re.Pattern[str]:
    """A model's `^...$` pattern as a Python regex for `fullmatch` (pydantic's `$`, Rust's,
    does not match before a final newline as Python's would)."""
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


# Checked per distinct value (memoised) or per column, rather than by msgspec per value.
_ID = _fullmatch(ID_PATTERN)
_MONEY = _fullmatch(MONEY_PATTERN.replace("(", "(?:"))  # without capture: faster
_AUTHORITY = _fullmatch(AUTHORITY_CODE_PATTERN)
_SERVICE_CODE = _fullmatch(SERVICE_CODE_PATTERN)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # the only form of a date taken here


def _one_of(codes: type[Enum]) -> Any:
    """The codes of an enum as a Literal: msgspec checks each value and hands back the one
    interned string of its code (hash cached), what the column tables are keyed by."""
    return Literal[tuple(member.value for member in codes)]  # built at run time


_Text = Annotated[str, Meta(min_length=1, max_length=200)]
_Id = Annotated[str, Meta(min_length=1, max_length=64)]  # + _ID, checked per column
_Lat = Annotated[float, Meta(ge=-90, le=90)]  # msgspec refuses NaN and infinities here
_Lon = Annotated[float, Meta(ge=-180, le=180)]
# A date is a string here (`_DATE`, then a real calendar date, checked per distinct value),
# and so is money (`_MONEY`): one regular-expression call per value in msgspec would cost
# more than the whole rest of the decoding.
_Date = str


class _Plain(Struct, forbid_unknown_fields=True, gc=False):
    """The snapshot models' fields, strictly typed (see the module docstring)."""


class _Location(_Plain):
    """Any of the three location forms; which one it is is decided from the keys given."""

    lat: _Lat | UnsetType = UNSET
    lon: _Lon | UnsetType = UNSET
    postcode: Annotated[str, Meta(min_length=5, max_length=8)] | UnsetType = UNSET
    postcode_district: Annotated[str, Meta(min_length=2, max_length=4)] | UnsetType = UNSET


class _Capacity(_Plain):
    places: Annotated[int, Meta(ge=0, le=1000)]
    vacancies: Annotated[int, Meta(ge=0, le=1000)]
    available_from: _Date | None = None


class _Ofsted(_Plain):
    urn: Annotated[str, Meta(min_length=1, max_length=20)]
    registration: _one_of(OfstedRegistration)  # type: ignore[valid-type]
    rating: _one_of(OfstedRating)  # type: ignore[valid-type]
    inspected_on: _Date | None = None
    admissions_restricted_until: _Date | None = None


class _Alert(_Plain):
    id: _Id
    raised_by: str  # + _AUTHORITY
    raised_on: _Date
    severity: _one_of(AlertSeverity)  # type: ignore[valid-type]
    status: _one_of(AlertStatus)  # type: ignore[valid-type]


class _Ceiling(_Plain):
    lot: _one_of(Lot)  # type: ignore[valid-type]
    weekly_gbp: str  # + _MONEY
    valid_from: _Date
    valid_to: _Date


class _Service(_Plain):
    code: str  # + _SERVICE_CODE
    unit: _one_of(ServiceUnit)  # type: ignore[valid-type]
    rate_gbp: str  # + _MONEY


class _Listing(_Plain):
    id: _Id
    provider_id: _Id
    provider_name: _Text
    name: _Text
    dpv: _one_of(Dpv)  # type: ignore[valid-type]
    lots: Annotated[tuple[_one_of(Lot), ...], Meta(min_length=1, max_length=9)]  # type: ignore[valid-type]
    location: _Location
    genders: Annotated[tuple[_one_of(Gender), ...], Meta(min_length=1, max_length=3)]  # type: ignore[valid-type]
    age_min: Annotated[int, Meta(ge=0, le=25)]
    age_max: Annotated[int, Meta(ge=0, le=25)]
    capacity: _Capacity
    ofsted: _Ofsted
    dpv_status: _one_of(DpvStatus)  # type: ignore[valid-type]
    needs: Annotated[tuple[_one_of(Need), ...], Meta(max_length=15)] = ()  # type: ignore[valid-type]
    max_sibling_group: Annotated[int, Meta(ge=1, le=10)] = 1
    safeguarding_alerts: Annotated[list[_Alert], Meta(max_length=100)] = []
    ceilings: Annotated[list[_Ceiling], Meta(max_length=50)] = []
    additional_services: Annotated[list[_Service], Meta(max_length=50)] = []
    kpi_score: Annotated[float, Meta(ge=0, le=1)] | None = None


class SnapshotParts(Struct, forbid_unknown_fields=True):
    """A snapshot's top level with its values left encoded (listings one by one)."""

    schema_version: msgspec.Raw
    generated_at: msgspec.Raw
    listings: list[msgspec.Raw]


PARTS = msgspec.json.Decoder(SnapshotParts)
_LISTINGS = msgspec.json.Decoder(list[_Listing])
LISTING_FIELDS = frozenset(_Listing.__struct_fields__)


class NotPlain(Exception):  # noqa: N818  # a signal to take the pydantic path, not an error
    """Some listing of the chunk is not in plain form (or is invalid)."""


def decode_listings(raw: Sequence[msgspec.Raw]) -> list[_Listing]:
    """The encoded listings `raw`, decoded and checked field by field, or NotPlain."""
    return decode_array(joined(raw))


def joined(raw: Sequence[msgspec.Raw]) -> bytes:
    """Encoded listings as one JSON array."""
    return b"[" + b",".join(raw) + b"]"


def decode_array(encoded: bytes) -> list[_Listing]:
    """A JSON array of listings (`joined`), decoded and checked field by field, or NotPlain."""
    try:
        return _LISTINGS.decode(encoded)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise NotPlain(str(exc)) from None


def convert_listings(parsed: Sequence[Any]) -> list[_Listing]:
    """Already-parsed listings (dicts from `json.loads`), checked like `decode_listings`."""
    try:
        return msgspec.convert(parsed, list[_Listing])
    except (msgspec.ValidationError, ValueError, TypeError, OverflowError) as exc:
        # ValueError: a lone surrogate in a code makes msgspec's UTF-8 conversion fail.
        raise NotPlain(str(exc)) from None


def _column_table(order: Sequence[Any]) -> dict[str, int]:
    """Code -> its column value (position in the registry's fixed order)."""
    return {item.value: i for i, item in enumerate(order)}


def _bit_table(order: Sequence[Any]) -> dict[str, int]:
    """Code -> its bit in a mask column."""
    return {item.value: 1 << i for i, item in enumerate(order)}


DPV_AT, LOT_AT, UNIT_AT = _column_table(DPVS), _column_table(LOTS), _column_table(UNITS)
REGISTRATION_AT, RATING_AT = _column_table(REGISTRATIONS), _column_table(RATINGS)
STATUS_AT, SEVERITY_AT = _column_table(STATUSES), _column_table(SEVERITIES)
ALERT_STATUS_AT = _column_table(ALERT_STATUSES)
LOT_BITS, GENDER_BITS, NEED_BITS = _bit_table(LOTS), _bit_table(GENDERS), _bit_table(NEEDS)
# Per DPV code: the mask of its lots.
DPV_LOT_MASK = np.array(
    [sum(LOT_BITS[lot.value] for lot in LOTS_BY_DPV[d]) for d in DPVS], dtype=np.int64
)


@dataclass
class Chunk:
    """The columns of a run of listings, before their locations are resolved.

    `values` holds every numeric column under its `Registry` name, except that `point_lat`
    and `point_lon` are the given coordinates (NaN for a postcode or district); `counts`
    holds, per CSR ("ceilings", "services", "alerts"), the items of each listing.
    """

    text: dict[str, list[str]]
    values: dict[str, npt.NDArray[Any]]
    counts: dict[str, npt.NDArray[np.int64]]


@dataclass
class Memo:
    """Conversions of distinct values, kept across the chunks of one load."""

    dates: dict[str | None, int] = field(default_factory=dict)
    # Per pattern: the values seen to match it.
    matching: dict[re.Pattern[str], set[str]] = field(default_factory=dict)
    # Per code table (lots, genders, needs): the codes as given -> their bitmask.
    masks: dict[int, dict[tuple[Any, ...], int]] = field(default_factory=dict)


class ColumnAccumulator:
    """Chunks appended in order, joined into whole columns at the end."""

    def __init__(self) -> None:
        self._text: dict[str, StrColumnBuilder] = {
            name: StrColumnBuilder(codable=name not in UNIQUE_TEXT_COLUMNS) for name in TEXT_COLUMNS
        }
        self._values: dict[str, list[npt.NDArray[Any]]] = {}
        self._counts: dict[str, list[npt.NDArray[np.int64]]] = {}
        self.add(plain_chunk([], Memo()))  # every column, with its dtype, even for no listings

    def add(self, chunk: Chunk) -> None:
        """Append `chunk`'s listings (text is packed now, so no chunk's strings pile up)."""
        for name, strings in chunk.text.items():
            self._text[name].extend(strings)
        for name, array in chunk.values.items():
            self._values.setdefault(name, []).append(array)
        for name, counts in chunk.counts.items():
            self._counts.setdefault(name, []).append(counts)

    def text(self) -> dict[str, StrColumn]:
        """Every text column, whole; each is released from the accumulator as it is joined."""
        return {name: self._text.pop(name).finish() for name in TEXT_COLUMNS}

    def values(self) -> dict[str, npt.NDArray[Any]]:
        """Every numeric column, whole."""
        return {name: np.concatenate(self._values.pop(name)) for name in list(self._values)}

    def offsets(self) -> dict[str, npt.NDArray[np.int64]]:
        """Each CSR's offsets (length n+1) from the per-listing item counts."""
        out = {}
        for name in list(self._counts):
            counts = np.concatenate(self._counts.pop(name))
            offsets = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            out[name] = offsets
        return out


# The fields read off each listing (one attrgetter call a listing), transposed into columns.
_FIELDS = (
    "id", "provider_id", "provider_name", "name", "ofsted.urn", "dpv", "lots", "genders",
    "needs", "age_min", "age_max", "capacity.places", "capacity.vacancies",
    "capacity.available_from", "max_sibling_group", "ofsted.registration", "ofsted.rating",
    "ofsted.inspected_on", "ofsted.admissions_restricted_until", "dpv_status", "kpi_score",
    "location.lat", "location.lon", "location.postcode", "location.postcode_district",
    "safeguarding_alerts", "ceilings", "additional_services",
)  # fmt: skip
_LISTING_FIELDS = attrgetter(*_FIELDS)


def plain_chunk(listings: list[_Listing], memo: Memo) -> Chunk:
    """The columns of decoded `listings`, or NotPlain if a rule across fields fails."""
    n = len(listings)
    columns = list(zip(*map(_LISTING_FIELDS, listings), strict=True)) or [()] * len(_FIELDS)
    c = dict(zip(_FIELDS, columns, strict=True))
    text: dict[str, list[str]] = {
        "ids": list(c["id"]),
        "provider_ids": list(c["provider_id"]),
        "provider_names": list(c["provider_name"]),
        "names": list(c["name"]),
        "ofsted_urn": list(c["ofsted.urn"]),
    }
    _strict_utf8(text["provider_names"], text["names"], text["ofsted_urn"])
    _all_match(text["ids"], _ID)
    _all_match(text["provider_ids"], _ID)
    dpv = _coded(c["dpv"], DPV_AT)
    lots_mask = _masks(c["lots"], LOT_BITS, memo, unique=True)
    _require(((lots_mask & ~DPV_LOT_MASK[dpv]) == 0).all())  # every lot is of the DPV
    age_min = np.array(c["age_min"], dtype=np.uint8)
    age_max = np.array(c["age_max"], dtype=np.uint8)
    _require((age_min <= age_max).all())
    places = np.array(c["capacity.places"], dtype=np.int32)
    vacancies = np.array(c["capacity.vacancies"], dtype=np.int32)
    _require((vacancies <= places).all())
    values: dict[str, npt.NDArray[Any]] = {
        "dpv": dpv,
        "lots_mask": lots_mask.astype(np.uint16),
        "genders_mask": _masks(c["genders"], GENDER_BITS, memo).astype(np.uint8),
        "age_min": age_min,
        "age_max": age_max,
        "needs_mask": _masks(c["needs"], NEED_BITS, memo).astype(np.uint32),
        "places": places,
        "vacancies": vacancies,
        "available_from": _ordinals(c["capacity.available_from"], memo),
        "max_sibling_group": np.array(c["max_sibling_group"], dtype=np.uint8),
        "registration": _coded(c["ofsted.registration"], REGISTRATION_AT),
        "rating": _coded(c["ofsted.rating"], RATING_AT),
        "inspected_on": _ordinals(c["ofsted.inspected_on"], memo),
        "restricted_until": _ordinals(c["ofsted.admissions_restricted_until"], memo),
        "dpv_status": _coded(c["dpv_status"], STATUS_AT),
        "kpi_score": _floats(c["kpi_score"], None),
    }
    _locations(c, text, values)
    _strict_utf8(text["location_label"])
    counts: dict[str, npt.NDArray[np.int64]] = {}
    _alerts(c["safeguarding_alerts"], memo, text, values, counts)
    _ceilings(c["ceilings"], lots_mask, memo, values, counts)
    _services(c["additional_services"], memo, text, values, counts)
    assert len(values["dpv"]) == n  # noqa: S101  # one row per listing, by construction
    return Chunk(text=text, values=values, counts=counts)


def _require(ok: bool | np.bool_) -> None:
    if not ok:
        raise NotPlain("a rule across fields does not hold")


def _strict_utf8(*columns: list[str]) -> None:
    """Free text must encode as UTF-8 (a lone surrogate, which pydantic refuses, does not).

    msgspec's JSON decoder never produces one; `msgspec.convert` of parsed JSON can.
    """
    for column in columns:
        joined = "".join(column)
        if not joined.isascii():
            try:
                joined.encode()
            except UnicodeEncodeError:
                raise NotPlain("a string is not valid Unicode") from None


def _all_match(values: list[str], pattern: re.Pattern[str]) -> None:
    """Every value matches `pattern`: one match over the values joined by newlines (no
    pattern here takes a newline, and a value holding one fails the count)."""
    if not values:
        return
    joined = "\n".join(values)
    _require(joined.count("\n") == len(values) - 1)
    _require(_repeated(pattern).fullmatch(joined) is not None)


@cache
def _repeated(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern.pattern})(?:\n(?:{pattern.pattern}))*")


def _distinct_match(values: Sequence[str], pattern: re.Pattern[str], memo: Memo) -> None:
    """Every value matches `pattern` (each distinct value checked once per load)."""
    seen = memo.matching.setdefault(pattern, set())
    for value in set(values) - seen:
        _require(pattern.fullmatch(value) is not None)
        seen.add(value)


def _coded(codes: Sequence[Any], table: dict[Any, int]) -> npt.NDArray[np.uint8]:
    """Each enum member as its column value (its position in the registry's order)."""
    return np.fromiter(map(table.__getitem__, codes), dtype=np.uint8, count=len(codes))


def _floats(values: Sequence[Any], missing: object) -> npt.NDArray[np.float64]:
    """Numbers as float64, NaN where the value is `missing` (None, or msgspec's UNSET)."""
    array = np.array(values, dtype=object)
    array[array == missing] = np.nan
    return array.astype(np.float64)


def _ordinals(dates: Sequence[str | None], memo: Memo) -> npt.NDArray[np.int32]:
    """Dates as ordinals, 0 for None (`columns.NO_DATE`)."""
    return _memoised(dates, memo.dates, _ordinal).astype(np.int32)


def _ordinal(day: str | None) -> int:
    """A `YYYY-MM-DD` date (a real one) as its ordinal, 0 for None; else NotPlain."""
    if day is None:
        return 0
    _require(_DATE.fullmatch(day) is not None)
    try:
        return date.fromisoformat(day).toordinal()
    except ValueError:
        raise NotPlain("not a calendar date") from None


def _masks(
    codes: Sequence[tuple[Any, ...]], bits: dict[Any, int], memo: Memo, unique: bool = False
) -> npt.NDArray[np.int64]:
    """Each tuple of codes as a bitmask (with `unique`, a code given twice is not plain)."""
    table = memo.masks.setdefault(id(bits), {})

    def mask(given: tuple[Any, ...]) -> int:
        value = 0
        for code in given:
            value |= bits[code]
        if unique and value.bit_count() != len(given):
            raise NotPlain("a code is given twice")
        return value

    return _memoised(codes, table, mask)


def _pence(amounts: Sequence[str]) -> npt.NDArray[np.int64]:
    """Money strings (no sign or exponent, at most two decimals) as exact pence.

    Parsed as floats: below 1e9 pounds with at most two decimals, a float times 100 is
    within 1e-5 of the whole number of pence, so rounding it is exact (tested against
    `to_pence`); a snapshot has about as many distinct amounts as amounts.
    """
    listed = list(amounts)
    _all_match(listed, _MONEY)
    return np.rint(np.array(listed, dtype=np.float64) * 100).astype(np.int64)


def _memoised(
    values: Sequence[Any], table: dict[Any, int], convert: Callable[[Any], int]
) -> npt.NDArray[np.int64]:
    """`convert` of each value as int64, each distinct value converted once per load."""
    try:
        return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))
    except KeyError:
        for value in dict.fromkeys(values):  # each distinct value once, O(len(values))
            if value not in table:
                table[value] = convert(value)
        return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))


_POINT, _POSTCODE, _DISTRICT = 0, 1, 2  # `columns.LOCATION_KINDS` positions


def _locations(
    c: Mapping[str, Sequence[Any]], text: dict[str, list[str]], values: dict[str, npt.NDArray[Any]]
) -> None:
    """Each listing's location form (from the keys given, as the models decide it)."""
    postcode = np.array(c["location.postcode"], dtype=object)
    district = np.array(c["location.postcode_district"], dtype=object)
    has_postcode = postcode != UNSET
    has_district = district != UNSET
    is_point = ~has_postcode & ~has_district
    lat, lon = _floats(c["location.lat"], UNSET), _floats(c["location.lon"], UNSET)
    # A postcode or district comes alone; a point has both coordinates.
    _require(not (has_postcode & has_district).any())
    _require((np.isnan(lat) != is_point).all() and (np.isnan(lon) != is_point).all())
    labels = np.where(has_postcode, postcode, np.where(has_district, district, ""))
    text["location_label"] = labels.tolist()
    values["location_kind"] = np.where(
        has_postcode, _POSTCODE, np.where(has_district, _DISTRICT, _POINT)
    ).astype(np.uint8)
    values["point_lat"], values["point_lon"] = lat, lon


def _items(lists: Sequence[list[Any]], fields: tuple[str, ...]) -> tuple[Any, ...]:
    """Per listing, how many items its list holds; then each field's column over all items."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    items = map(attrgetter(*fields), chain.from_iterable(lists))
    return counts, *(list(zip(*items, strict=True)) or [()] * len(fields))


_ALERT = ("id", "raised_by", "raised_on", "severity", "status")
_CEILING = ("lot", "weekly_gbp", "valid_from", "valid_to")
_SERVICE = ("code", "unit", "rate_gbp")


def _alerts(
    lists: Sequence[list[_Alert]],
    memo: Memo,
    text: dict[str, list[str]],
    values: dict[str, npt.NDArray[Any]],
    counts: dict[str, npt.NDArray[np.int64]],
) -> None:
    counts["alerts"], ids, raised_by, raised_on, severity, status = _items(lists, _ALERT)
    text["alert_id"], text["alert_raised_by"] = list(ids), list(raised_by)
    _all_match(text["alert_id"], _ID)
    _distinct_match(raised_by, _AUTHORITY, memo)
    values["alert_raised_on"] = _ordinals(raised_on, memo)
    values["alert_severity"] = _coded(severity, SEVERITY_AT)
    values["alert_status"] = _coded(status, ALERT_STATUS_AT)


def _ceilings(
    lists: Sequence[list[_Ceiling]],
    lots_mask: npt.NDArray[np.int64],
    memo: Memo,
    values: dict[str, npt.NDArray[Any]],
    counts: dict[str, npt.NDArray[np.int64]],
) -> None:
    per_row, lots, amounts, starts, ends = _items(lists, _CEILING)
    counts["ceilings"] = per_row
    lot = _coded(lots, LOT_AT).astype(np.int64)
    pence = _pence(amounts)
    start, end = _ordinals(starts, memo), _ordinals(ends, memo)
    _require((start <= end).all())
    row = np.repeat(np.arange(len(lists)), per_row)
    _require(((lots_mask[row] >> lot) & 1).all())  # a ceiling only for a listed lot
    # Stored sorted by (listing, lot, valid_from, valid_to, pence), as the model path sorts.
    order = np.lexsort((pence, end, start, lot, row))
    row, lot, start, end, pence = row[order], lot[order], start[order], end[order], pence[order]
    same = (row[1:] == row[:-1]) & (lot[1:] == lot[:-1])
    _require(not (same & (start[1:] <= end[:-1])).any())  # periods of a lot never overlap
    values["ceil_lot"], values["ceil_pence"] = lot.astype(np.uint8), pence
    values["ceil_from"], values["ceil_to"] = start, end


def _services(
    lists: Sequence[list[_Service]],
    memo: Memo,
    text: dict[str, list[str]],
    values: dict[str, npt.NDArray[Any]],
    counts: dict[str, npt.NDArray[np.int64]],
) -> None:
    per_row, codes, units, rates = _items(lists, _SERVICE)
    counts["services"] = per_row
    _distinct_match(codes, _SERVICE_CODE, memo)
    rows = np.repeat(np.arange(len(lists)), per_row).tolist()
    _require(len(set(zip(rows, codes, strict=True))) == len(codes))  # a code once a listing
    text["svc_code"] = list(codes)
    values["svc_unit"] = _coded(units, UNIT_AT)
    values["svc_pence"] = _pence(rates)
