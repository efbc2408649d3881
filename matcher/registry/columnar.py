"""The fast path of snapshot validation: listings decoded by msgspec straight into columns.

Validating one pydantic model per listing after `json.loads` costs ~100 us a listing (11 s
at 100k). Here a chunk of listings is decoded by msgspec into slotted structs that mirror
the snapshot models (`matcher.registry.snapshot`), which checks types, lengths, ranges,
patterns, codes, dates and unknown keys in C while it parses; the columns are then read
off the structs, and the rules across fields (age range, vacancies within places, lots of
the listing's DPV, ceilings only for listed lots and never overlapping, each lot and
service code once, the location's form) are checked over whole columns with numpy.

msgspec is strict where pydantic is lax: it accepts only the plain JSON form of each value
(an int where an int is due, not `true`, `5.0` or `"5"`; dates as `YYYY-MM-DD`), so what it
accepts is a subset of what the models accept, with the same values (tests compare the two
on generated and mutated snapshots). A chunk with anything else, valid or not, raises
`NotPlain`, and the loader validates that chunk with the pydantic models, which report
every error exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any

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


def _fullmatch(pattern: str) -> str:
    """A `^...$` pattern for msgspec, which searches with Python's `re`: there `$` also
    matches before a final newline, which pydantic's (Rust) `$` does not; `\\Z` does not."""
    return pattern.removesuffix("$") + r"\Z"


_Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=_fullmatch(ID_PATTERN))]
_Text = Annotated[str, Meta(min_length=1, max_length=200)]
_Money = Annotated[str, Meta(pattern=_fullmatch(MONEY_PATTERN))]
_Lat = Annotated[float, Meta(ge=-90, le=90)]  # msgspec refuses NaN and infinities here
_Lon = Annotated[float, Meta(ge=-180, le=180)]


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
    available_from: date | None = None


class _Ofsted(_Plain):
    urn: Annotated[str, Meta(min_length=1, max_length=20)]
    registration: OfstedRegistration
    rating: OfstedRating
    inspected_on: date | None = None
    admissions_restricted_until: date | None = None


class _Alert(_Plain):
    id: _Id
    raised_by: Annotated[str, Meta(pattern=_fullmatch(AUTHORITY_CODE_PATTERN))]
    raised_on: date
    severity: AlertSeverity
    status: AlertStatus


class _Ceiling(_Plain):
    lot: Lot
    weekly_gbp: _Money
    valid_from: date
    valid_to: date


class _Service(_Plain):
    code: Annotated[str, Meta(pattern=_fullmatch(SERVICE_CODE_PATTERN))]
    unit: ServiceUnit
    rate_gbp: _Money


class _Listing(_Plain):
    id: _Id
    provider_id: _Id
    provider_name: _Text
    name: _Text
    dpv: Dpv
    lots: Annotated[tuple[Lot, ...], Meta(min_length=1, max_length=9)]
    location: _Location
    genders: Annotated[tuple[Gender, ...], Meta(min_length=1, max_length=3)]
    age_min: Annotated[int, Meta(ge=0, le=25)]
    age_max: Annotated[int, Meta(ge=0, le=25)]
    capacity: _Capacity
    ofsted: _Ofsted
    dpv_status: DpvStatus
    needs: Annotated[tuple[Need, ...], Meta(max_length=15)] = ()
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
    try:
        return _LISTINGS.decode(b"[" + b",".join(raw) + b"]")
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        raise NotPlain(str(exc)) from None


def convert_listings(parsed: Sequence[Any]) -> list[_Listing]:
    """Already-parsed listings (dicts from `json.loads`), checked like `decode_listings`."""
    try:
        return msgspec.convert(parsed, list[_Listing])
    except (msgspec.ValidationError, ValueError, TypeError, OverflowError) as exc:
        # ValueError: a lone surrogate in a code makes msgspec's UTF-8 conversion fail.
        raise NotPlain(str(exc)) from None


def _column_table(order: Sequence[Any]) -> dict[Any, int]:
    return {item: i for i, item in enumerate(order)}


DPV_AT, LOT_AT, UNIT_AT = _column_table(DPVS), _column_table(LOTS), _column_table(UNITS)
REGISTRATION_AT, RATING_AT = _column_table(REGISTRATIONS), _column_table(RATINGS)
STATUS_AT, SEVERITY_AT = _column_table(STATUSES), _column_table(SEVERITIES)
ALERT_STATUS_AT = _column_table(ALERT_STATUSES)
LOT_BITS = {lot: 1 << i for i, lot in enumerate(LOTS)}
GENDER_BITS = {g: 1 << i for i, g in enumerate(GENDERS)}
NEED_BITS = {need: 1 << i for i, need in enumerate(NEEDS)}
# Per DPV code: the mask of its lots.
DPV_LOT_MASK = np.array([sum(LOT_BITS[lot] for lot in LOTS_BY_DPV[d]) for d in DPVS], np.int64)


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

    money: dict[str, int] = field(default_factory=dict)
    dates: dict[date | None, int] = field(default_factory=dict)
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


def _coded(codes: Sequence[Any], table: dict[Any, int]) -> npt.NDArray[np.uint8]:
    """Each enum member as its column value (its position in the registry's order)."""
    return np.fromiter(map(table.__getitem__, codes), dtype=np.uint8, count=len(codes))


def _floats(values: Sequence[Any], missing: object) -> npt.NDArray[np.float64]:
    """Numbers as float64, NaN where the value is `missing` (None, or msgspec's UNSET)."""
    array = np.array(values, dtype=object)
    array[array == missing] = np.nan
    return array.astype(np.float64)


def _ordinals(dates: Sequence[date | None], memo: Memo) -> npt.NDArray[np.int32]:
    """Dates as ordinals, 0 for None (`columns.NO_DATE`)."""
    return _memoised(dates, memo.dates, _ordinal).astype(np.int32)


def _ordinal(day: date | None) -> int:
    return 0 if day is None else day.toordinal()


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


def _pence(amounts: Sequence[str], memo: Memo) -> npt.NDArray[np.int64]:
    """Money strings (already matched against the money pattern) as pence."""

    def pence(amount: str) -> int:
        whole, _, decimals = amount.partition(".")
        return int(whole) * 100 + int(f"{decimals:0<2}")

    return _memoised(amounts, memo.money, pence)


def _memoised(
    values: Sequence[Any], table: dict[Any, int], convert: Callable[[Any], int]
) -> npt.NDArray[np.int64]:
    """`convert` of each value as int64, each distinct value converted once per load."""
    try:
        return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))
    except KeyError:
        for value in set(values) - table.keys():
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
    pence = _pence(amounts, memo)
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
    rows = np.repeat(np.arange(len(lists)), per_row).tolist()
    _require(len(set(zip(rows, codes, strict=True))) == len(codes))  # a code once a listing
    text["svc_code"] = list(codes)
    values["svc_unit"] = _coded(units, UNIT_AT)
    values["svc_pence"] = _pence(rates, memo)
