"""The registry in memory: one numpy column per attribute, row position = listing.

Why columns: a shortlist evaluates a dozen criteria over hundreds or thousands of
candidates per request; numpy does that in microseconds where per-row Python objects take
milliseconds, and a million listings fit in a few hundred MB. Variable-length attributes
(ceilings, additional services, safeguarding alerts) are stored CSR-style: an offsets array
of length n+1 and flat value arrays, so row i's items are `values[offsets[i]:offsets[i+1]]`.
Text columns are `StrColumn`s (one buffer plus offsets, read as a `Sequence[str]`), and a
listing id finds its row through an `IdIndex` (sorted ids, binary search), not a dict.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.registry.strings import IdIndex, StrColumn, as_str_column
from matcher.vocabulary.catalogue import (
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
from matcher.vocabulary.money import format_pence

I8 = npt.NDArray[np.int8]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

DPVS: tuple[Dpv, ...] = tuple(Dpv)
LOTS: tuple[Lot, ...] = tuple(Lot)
GENDERS: tuple[Gender, ...] = tuple(Gender)
NEEDS: tuple[Need, ...] = tuple(Need)
RATINGS: tuple[OfstedRating, ...] = tuple(OfstedRating)
REGISTRATIONS: tuple[OfstedRegistration, ...] = tuple(OfstedRegistration)
STATUSES: tuple[DpvStatus, ...] = tuple(DpvStatus)
SEVERITIES: tuple[AlertSeverity, ...] = tuple(AlertSeverity)
ALERT_STATUSES: tuple[AlertStatus, ...] = tuple(AlertStatus)
UNITS: tuple[ServiceUnit, ...] = tuple(ServiceUnit)

# How a listing's location was given, kept so the snapshot round-trips exactly.
LOCATION_KINDS = ("point", "postcode", "postcode_district")
NO_DATE = 0  # ordinal sentinel: "no date" (never restricted / available now / not inspected)


def to_ordinal(d: date | None) -> int:
    """A date as a proleptic Gregorian ordinal, `NO_DATE` for None."""
    return NO_DATE if d is None else d.toordinal()


def from_ordinal(o: int) -> str | None:
    """An ordinal back to ISO text, None for `NO_DATE`."""
    return None if o == NO_DATE else date.fromordinal(int(o)).isoformat()


@dataclass(frozen=True, slots=True)
class Csr:
    """Row i's items are rows offsets[i]:offsets[i+1] of the value columns."""

    offsets: I64

    def span(self, row: int) -> range:
        """The flat item rows of listing `row`."""
        return range(int(self.offsets[row]), int(self.offsets[row + 1]))


@dataclass(frozen=True, eq=False)
class Registry:
    """All listings of one snapshot as columns. Immutable once built.

    Text columns may be given as any `Sequence[str]` (a list, say); they are stored as
    `StrColumn`s.
    """

    generated_at: datetime
    ids: Sequence[str]
    provider_ids: Sequence[str]
    provider_names: Sequence[str]
    names: Sequence[str]
    dpv: U8
    lots_mask: U16
    genders_mask: U8
    age_min: U8
    age_max: U8
    needs_mask: U32
    places: I32
    vacancies: I32
    available_from: I32
    max_sibling_group: U8
    ofsted_urn: Sequence[str]
    registration: U8
    rating: U8
    inspected_on: I32
    restricted_until: I32
    dpv_status: U8
    kpi_score: F64  # NaN where not given
    lat: F64
    lon: F64
    location_kind: U8
    location_label: Sequence[str]  # postcode or district as given; "" for points
    # ceilings, CSR sorted by (row, lot, valid_from)
    ceilings: Csr
    ceil_lot: U8
    ceil_pence: I64
    ceil_from: I32
    ceil_to: I32
    # additional services menu, CSR in given order
    services: Csr
    svc_code: Sequence[str]
    svc_unit: U8
    svc_pence: I64
    # safeguarding alerts, CSR in given order
    alerts: Csr
    alert_id: Sequence[str]
    alert_raised_by: Sequence[str]
    alert_raised_on: I32
    alert_severity: U8
    alert_status: U8
    _id_index: IdIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name in TEXT_COLUMNS:
                codable = f.name not in UNIQUE_TEXT_COLUMNS
                object.__setattr__(self, f.name, as_str_column(getattr(self, f.name), codable))
        object.__setattr__(self, "_id_index", IdIndex(self.ids))  # type: ignore[arg-type]

    @property
    def size(self) -> int:
        """Number of listings."""
        return len(self.ids)

    @cached_property
    def version(self) -> str:
        """`snapshot_version`: a content hash of the registry, independent of formatting.

        Every column (all dataclass fields: a new one is included by construction) is hashed
        with its name and dtype, rows in listing-id order and each row's ceilings, services
        and alerts in their canonical order, so the same registry gives the same version
        however its file was formatted or ordered. Hashing the columns instead of a
        canonical JSON text takes milliseconds instead of ~110 us per listing (11 s at 100k
        listings, minutes at 1M) at every start and reload.
        """
        return "sha256:" + self.digest[:16]

    @cached_property
    def digest(self) -> str:
        """The full sha256 hex digest `version` shows the first 16 digits of."""
        return _column_digest(self)

    @property
    def id_order(self) -> npt.NDArray[np.integer[Any]]:
        """Rows in listing-id order (the canonical order of the version and of snapshots)."""
        return self._id_index.order

    def row_of(self, listing_id: str) -> int | None:
        """The row position of a listing id, or None if unknown."""
        return self._id_index.row_of(listing_id)

    def rows_of(self, listing_ids: Sequence[str]) -> npt.NDArray[np.intp]:
        """The row of each listing id, -1 where unknown (vectorised `row_of`)."""
        return self._id_index.rows_of(listing_ids)

    def has_duplicate_ids(self) -> bool:
        """Whether a listing id appears on more than one row (never in a loaded snapshot)."""
        return self._id_index.duplicates()

    @cached_property
    def open_alert_max_severity(self) -> U8:
        """Per row: 0 if no open alert, else 1 + index of the highest open severity."""
        out = np.zeros(self.size, dtype=np.uint8)
        open_code = ALERT_STATUSES.index(AlertStatus.OPEN)
        counts = np.diff(self.alerts.offsets)
        rows = np.repeat(np.arange(self.size), counts)
        is_open = self.alert_status == open_code
        np.maximum.at(out, rows[is_open], (self.alert_severity[is_open] + 1).astype(np.uint8))
        return out

    def ceiling_pence(self, row: int, lot: Lot, on: int) -> int | None:
        """The ceiling for `lot` valid on ordinal date `on`, in pence, or None."""
        code = LOTS.index(lot)
        for k in self.ceilings.span(row):
            if self.ceil_lot[k] == code and self.ceil_from[k] <= on <= self.ceil_to[k]:
                return int(self.ceil_pence[k])
        return None

    def service_menu(self, row: int) -> dict[str, tuple[ServiceUnit, int]]:
        """The listing's additional services: code -> (unit, rate in pence)."""
        return {
            self.svc_code[k]: (UNITS[self.svc_unit[k]], int(self.svc_pence[k]))
            for k in self.services.span(row)
        }

    def open_alerts(self, row: int) -> list[dict[str, str]]:
        """The listing's open safeguarding alerts, as shown against it in answers."""
        open_code = ALERT_STATUSES.index(AlertStatus.OPEN)
        return [
            {
                "id": self.alert_id[k],
                "raised_by": self.alert_raised_by[k],
                "raised_on": from_ordinal(int(self.alert_raised_on[k])) or "",
                "severity": SEVERITIES[self.alert_severity[k]].value,
            }
            for k in self.alerts.span(row)
            if self.alert_status[k] == open_code
        ]

    def listing_dict(self, row: int) -> dict[str, Any]:
        """Listing `row` in the snapshot's canonical JSON form (round-trips exactly)."""
        kind = LOCATION_KINDS[self.location_kind[row]]
        location: dict[str, Any]
        if kind == "point":
            location = {"lat": float(self.lat[row]), "lon": float(self.lon[row])}
        else:
            location = {kind: self.location_label[row]}
        kpi = float(self.kpi_score[row])
        return {
            "id": self.ids[row],
            "provider_id": self.provider_ids[row],
            "provider_name": self.provider_names[row],
            "name": self.names[row],
            "dpv": DPVS[self.dpv[row]].value,
            "lots": [lot.value for i, lot in enumerate(LOTS) if self.lots_mask[row] >> i & 1],
            "location": location,
            "genders": [g.value for i, g in enumerate(GENDERS) if self.genders_mask[row] >> i & 1],
            "age_min": int(self.age_min[row]),
            "age_max": int(self.age_max[row]),
            "needs": [n.value for i, n in enumerate(NEEDS) if self.needs_mask[row] >> i & 1],
            "capacity": {
                "places": int(self.places[row]),
                "vacancies": int(self.vacancies[row]),
                "available_from": from_ordinal(int(self.available_from[row])),
            },
            "max_sibling_group": int(self.max_sibling_group[row]),
            "ofsted": {
                "urn": self.ofsted_urn[row],
                "registration": REGISTRATIONS[self.registration[row]].value,
                "rating": RATINGS[self.rating[row]].value,
                "inspected_on": from_ordinal(int(self.inspected_on[row])),
                "admissions_restricted_until": from_ordinal(int(self.restricted_until[row])),
            },
            "dpv_status": STATUSES[self.dpv_status[row]].value,
            "safeguarding_alerts": [
                {
                    "id": self.alert_id[k],
                    "raised_by": self.alert_raised_by[k],
                    "raised_on": from_ordinal(int(self.alert_raised_on[k])),
                    "severity": SEVERITIES[self.alert_severity[k]].value,
                    "status": ALERT_STATUSES[self.alert_status[k]].value,
                }
                for k in self.alerts.span(row)
            ],
            "ceilings": [
                {
                    "lot": LOTS[self.ceil_lot[k]].value,
                    "weekly_gbp": format_pence(int(self.ceil_pence[k])),
                    "valid_from": from_ordinal(int(self.ceil_from[k])),
                    "valid_to": from_ordinal(int(self.ceil_to[k])),
                }
                for k in self.ceilings.span(row)
            ],
            "additional_services": [
                {
                    "code": self.svc_code[k],
                    "unit": UNITS[self.svc_unit[k]].value,
                    "rate_gbp": format_pence(int(self.svc_pence[k])),
                }
                for k in self.services.span(row)
            ],
            "kpi_score": None if np.isnan(kpi) else kpi,
        }

    def snapshot_dict(self) -> dict[str, Any]:
        """The whole registry as a snapshot document (listings in id order)."""
        order = self.id_order.tolist()
        return {
            "schema_version": 1,
            "generated_at": self.generated_at.isoformat().replace("+00:00", "Z"),
            "listings": [self.listing_dict(i) for i in order],
        }


# The text columns, stored as StrColumn; those of one value per listing or alert are never
# worth coding (see `matcher.registry.strings`).
TEXT_COLUMNS = frozenset({"ids", "provider_ids", "provider_names", "names", "ofsted_urn",
                          "location_label", "svc_code", "alert_id", "alert_raised_by"})  # fmt: skip
UNIQUE_TEXT_COLUMNS = frozenset({"ids", "ofsted_urn", "alert_id"})
# Item columns of each CSR, by field-name prefix; every other column has one value per row.
_ITEM_PREFIXES = {"ceil_": "ceilings", "svc_": "services", "alert_": "alerts"}
_DIGEST_SCHEME = b"matcher-registry-columns-v1"


def _column_digest(reg: Registry) -> str:
    """sha256 over every column of `reg` in canonical order (see `Registry.version`)."""
    h = hashlib.sha256(_DIGEST_SCHEME)
    order = reg.id_order
    items = {name: _canonical_items(getattr(reg, name), order) for name in _ITEM_PREFIXES.values()}
    for f in dataclasses.fields(reg):
        if f.name.startswith("_"):
            continue
        value = getattr(reg, f.name)
        prefix = next((p for p in _ITEM_PREFIXES if f.name.startswith(p)), None)
        take = order if prefix is None else items[_ITEM_PREFIXES[prefix]]
        h.update(f"\n{f.name}:".encode())
        if isinstance(value, datetime):
            h.update(value.isoformat().encode())
        elif isinstance(value, Csr):
            h.update(np.diff(value.offsets)[order].astype("<i8").tobytes())
        elif isinstance(value, StrColumn):
            # json.dumps of the strings in canonical order, as when these were lists.
            for piece in value.json_chunks(take):
                h.update(piece)
        elif isinstance(value, np.ndarray):
            column = value[take]
            if column.dtype.kind == "f":  # one bit pattern for "not given"
                column = np.where(np.isnan(column), np.nan, column)
            h.update(
                column.dtype.str.encode() + column.astype(column.dtype.newbyteorder("<")).tobytes()
            )
        else:
            raise TypeError(f"registry column {f.name} has no canonical form: {type(value)}")
    return h.hexdigest()


def _canonical_items(csr: Csr, order: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.intp]:
    """Item positions of a CSR with its rows taken in `order` (items keep their row order)."""
    starts = csr.offsets[:-1][order]
    counts = np.diff(csr.offsets)[order]
    first_of_row = np.repeat(np.cumsum(counts) - counts, counts)
    positions: npt.NDArray[np.intp] = (
        np.repeat(starts, counts) + np.arange(int(counts.sum())) - first_of_row
    ).astype(np.intp)
    return positions
