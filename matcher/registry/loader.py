"""Read, validate and load a registry snapshot file; refuse it whole on any error.

Validation is total: every problem of every listing is collected (up to a cap shown in the
message) with the listing id and the field, so the brokerage system can fix its export in
one pass rather than one error per attempt.
"""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

import geodata
from matcher.registry.columns import (
    ALERT_STATUSES,
    DPVS,
    GENDERS,
    LOCATION_KINDS,
    LOTS,
    NEEDS,
    RATINGS,
    REGISTRATIONS,
    SEVERITIES,
    STATUSES,
    UNITS,
    Csr,
    Registry,
    to_ordinal,
)
from matcher.registry.snapshot import DistrictLocation, Listing, PointLocation, PostcodeLocation
from matcher.vocabulary.catalogue import lot_belongs_to
from matcher.vocabulary.errors import ErrorDetail, SnapshotError
from matcher.vocabulary.money import to_pence

MAX_REPORTED_ERRORS = 200
_LISTING = TypeAdapter(Listing)


class _Envelope(BaseModel):
    """The snapshot's top level, validated before its listings."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int
    generated_at: datetime
    listings: list[Any]


def read_document(path: Path) -> Any:
    """Parse a `.json` or `.json.gz` file; any I/O or syntax problem is a SnapshotError."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"registry file not found: {name}") from None
    except OSError as exc:
        raise SnapshotError(f"registry file unreadable: {name}: {exc.strerror}") from None
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise SnapshotError(f"registry file is not valid gzip: {name}: {exc}") from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"registry file is not valid JSON: {name}: {exc}") from None


def load_registry(path: Path) -> Registry:
    """Read and validate a snapshot file into a Registry (version computed eagerly)."""
    with _collector_paused():
        document = read_document(path)
        registry = registry_from_document(document, source=str(path))
        _ = registry.version
    return registry


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a snapshot loads.

    Loading allocates millions of acyclic objects (parsed JSON, then one pydantic model per
    listing) while the whole document is alive, so every full collection re-walks it: at
    100k listings the collector took 7 of 17 s. Nothing the load allocates forms a cycle,
    and reference counting still frees everything; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def registry_from_document(document: Any, source: str = "snapshot") -> Registry:
    """Validate a parsed snapshot document and build its columns, or raise SnapshotError."""
    try:
        envelope = _Envelope.model_validate(document)
    except ValidationError as exc:
        details = [
            ErrorDetail(field=".".join(str(p) for p in e["loc"]), reason=e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise SnapshotError(f"{source}: not a registry snapshot", details) from None
    errors: list[ErrorDetail] = []
    if envelope.schema_version != 1:
        errors.append(ErrorDetail("schema_version", "unsupported schema_version; expected 1"))
    listings: list[Listing] = []
    for index, raw in enumerate(envelope.listings):
        label = _label(raw, index)
        try:
            listing = _LISTING.validate_python(raw)
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                field = ".".join(str(p) for p in e["loc"])
                errors.append(ErrorDetail(f"{label}.{field}", e["msg"]))
            continue
        errors.extend(_listing_errors(listing, label))
        listings.append(listing)
    errors.extend(_duplicate_id_errors(listings))
    lat, lon, location_errors = _resolve_locations(listings)
    errors.extend(location_errors)
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f" (first {len(shown)} shown)" if len(errors) > len(shown) else ""
        raise SnapshotError(
            f"{source}: registry snapshot refused: {len(errors)} error(s){more}", shown
        )
    return build_registry(listings, envelope.generated_at, lat, lon)


def _label(raw: Any, index: int) -> str:
    """`listings[7](L000123)` so an error names both the position and the id."""
    lid = raw.get("id") if isinstance(raw, dict) else None
    return f"listings[{index}]({lid})" if isinstance(lid, str) else f"listings[{index}]"


def _listing_errors(listing: Listing, label: str) -> Iterable[ErrorDetail]:
    """Cross-field rules pydantic field validation cannot express on its own."""
    if listing.age_min > listing.age_max:
        yield ErrorDetail(f"{label}.age_min", "age_min is greater than age_max")
    for lot in listing.lots:
        if not lot_belongs_to(listing.dpv, lot):
            yield ErrorDetail(f"{label}.lots", f"lot {lot.value!r} is not a {listing.dpv} lot")
    if len(set(listing.lots)) != len(listing.lots):
        yield ErrorDetail(f"{label}.lots", "duplicate lot")
    by_lot: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for k, ceiling in enumerate(listing.ceilings):
        if ceiling.lot not in listing.lots:
            yield ErrorDetail(
                f"{label}.ceilings[{k}].lot", f"ceiling for lot {ceiling.lot.value!r} not listed"
            )
        by_lot[ceiling.lot].append((ceiling.valid_from.toordinal(), ceiling.valid_to.toordinal()))
    for lot_code, periods in by_lot.items():
        periods.sort()
        for (_, end), (start, _) in pairwise(periods):
            if start <= end:
                yield ErrorDetail(
                    f"{label}.ceilings", f"ceilings for lot {lot_code!r} have overlapping validity"
                )
                break
    codes = [s.code for s in listing.additional_services]
    if len(set(codes)) != len(codes):
        yield ErrorDetail(f"{label}.additional_services", "duplicate service code")


def _duplicate_id_errors(listings: list[Listing]) -> Iterable[ErrorDetail]:
    seen: set[str] = set()
    for listing in listings:
        if listing.id in seen:
            yield ErrorDetail(f"listing({listing.id}).id", "duplicate listing id")
        seen.add(listing.id)


def _resolve_locations(
    listings: list[Listing],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[ErrorDetail]]:
    """Coordinates for every listing; postcodes resolve to their district's centroid."""
    n = len(listings)
    lat = np.empty(n, dtype=np.float64)
    lon = np.empty(n, dtype=np.float64)
    errors: list[ErrorDetail] = []
    for i, listing in enumerate(listings):
        loc = listing.location
        if isinstance(loc, PointLocation):
            lat[i], lon[i] = loc.lat, loc.lon
            continue
        query = loc.postcode if isinstance(loc, PostcodeLocation) else loc.postcode_district
        try:
            district = geodata.outcode(query)
        except geodata.GeodataError as exc:
            errors.append(ErrorDetail(f"listing({listing.id}).location", exc.message))
            lat[i] = lon[i] = np.nan
            continue
        lat[i], lon[i] = district.lat, district.lon
    inside = geodata.check_in_great_britain_v(lat, lon)
    for bad in np.flatnonzero(~inside & ~np.isnan(lat)).tolist():
        errors.append(
            ErrorDetail(
                f"listing({listings[bad].id}).location",
                "coordinates are outside Great Britain",
                {"lat": float(lat[bad]), "lon": float(lon[bad])},
            )
        )
    return lat, lon, errors


def build_registry(
    listings: list[Listing],
    generated_at: datetime,
    lat: np.ndarray[Any, Any],
    lon: np.ndarray[Any, Any],
) -> Registry:
    """Columns from validated listings (the only path from pydantic objects to the index)."""
    lots_idx, unit_at, severity_at, alert_status_at = (
        _positions(LOTS),
        _positions(UNITS),
        _positions(SEVERITIES),
        _positions(ALERT_STATUSES),
    )
    dpv_at, registration_at, rating_at, status_at = (
        _positions(DPVS),
        _positions(REGISTRATIONS),
        _positions(RATINGS),
        _positions(STATUSES),
    )
    ceil_rows: list[tuple[int, int, int, int, int]] = []
    svc_rows: list[tuple[int, str, int, int]] = []
    alert_rows: list[tuple[int, str, str, int, int, int]] = []
    kinds: list[int] = []
    labels: list[str] = []
    for row, listing in enumerate(listings):
        for c in listing.ceilings:
            ceil_rows.append(
                (
                    row,
                    lots_idx[c.lot],
                    to_ordinal(c.valid_from),
                    to_ordinal(c.valid_to),
                    to_pence(c.weekly_gbp),
                )
            )
        for s in listing.additional_services:
            svc_rows.append((row, s.code, unit_at[s.unit], to_pence(s.rate_gbp)))
        for a in listing.safeguarding_alerts:
            alert_rows.append(
                (
                    row,
                    a.id,
                    a.raised_by,
                    to_ordinal(a.raised_on),
                    severity_at[a.severity],
                    alert_status_at[a.status],
                )
            )
        loc = listing.location
        if isinstance(loc, PostcodeLocation):
            kinds.append(LOCATION_KINDS.index("postcode"))
            labels.append(loc.postcode)
        elif isinstance(loc, DistrictLocation):
            kinds.append(LOCATION_KINDS.index("postcode_district"))
            labels.append(loc.postcode_district)
        else:
            kinds.append(LOCATION_KINDS.index("point"))
            labels.append("")
    ceil_rows.sort()
    n = len(listings)

    def offsets(rows: list[int]) -> np.ndarray[Any, Any]:
        counts = np.bincount(np.asarray(rows, dtype=np.int64), minlength=n)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    lot_bits, gender_bits, need_bits = _bits(LOTS), _bits(GENDERS), _bits(NEEDS)

    def mask(items: Iterable[Any], bits: dict[Any, int]) -> int:
        m = 0
        for item in items:
            m |= bits[item]
        return m

    return Registry(
        generated_at=generated_at,
        ids=[x.id for x in listings],
        provider_ids=[x.provider_id for x in listings],
        provider_names=[x.provider_name for x in listings],
        names=[x.name for x in listings],
        dpv=np.array([dpv_at[x.dpv] for x in listings], dtype=np.uint8),
        lots_mask=np.array([mask(x.lots, lot_bits) for x in listings], dtype=np.uint16),
        genders_mask=np.array([mask(x.genders, gender_bits) for x in listings], dtype=np.uint8),
        age_min=np.array([x.age_min for x in listings], dtype=np.uint8),
        age_max=np.array([x.age_max for x in listings], dtype=np.uint8),
        needs_mask=np.array([mask(x.needs, need_bits) for x in listings], dtype=np.uint32),
        places=np.array([x.capacity.places for x in listings], dtype=np.int32),
        vacancies=np.array([x.capacity.vacancies for x in listings], dtype=np.int32),
        available_from=np.array(
            [to_ordinal(x.capacity.available_from) for x in listings], dtype=np.int32
        ),
        max_sibling_group=np.array([x.max_sibling_group for x in listings], dtype=np.uint8),
        ofsted_urn=[x.ofsted.urn for x in listings],
        registration=np.array(
            [registration_at[x.ofsted.registration] for x in listings], dtype=np.uint8
        ),
        rating=np.array([rating_at[x.ofsted.rating] for x in listings], dtype=np.uint8),
        inspected_on=np.array([to_ordinal(x.ofsted.inspected_on) for x in listings], np.int32),
        restricted_until=np.array(
            [to_ordinal(x.ofsted.admissions_restricted_until) for x in listings], np.int32
        ),
        dpv_status=np.array([status_at[x.dpv_status] for x in listings], dtype=np.uint8),
        kpi_score=np.array(
            [np.nan if x.kpi_score is None else x.kpi_score for x in listings], dtype=np.float64
        ),
        lat=np.asarray(lat, dtype=np.float64),
        lon=np.asarray(lon, dtype=np.float64),
        location_kind=np.array(kinds, dtype=np.uint8),
        location_label=labels,
        ceilings=Csr(offsets([r[0] for r in ceil_rows])),
        ceil_lot=np.array([r[1] for r in ceil_rows], dtype=np.uint8),
        ceil_from=np.array([r[2] for r in ceil_rows], dtype=np.int32),
        ceil_to=np.array([r[3] for r in ceil_rows], dtype=np.int32),
        ceil_pence=np.array([r[4] for r in ceil_rows], dtype=np.int64),
        services=Csr(offsets([r[0] for r in svc_rows])),
        svc_code=[r[1] for r in svc_rows],
        svc_unit=np.array([r[2] for r in svc_rows], dtype=np.uint8),
        svc_pence=np.array([r[3] for r in svc_rows], dtype=np.int64),
        alerts=Csr(offsets([r[0] for r in alert_rows])),
        alert_id=[r[1] for r in alert_rows],
        alert_raised_by=[r[2] for r in alert_rows],
        alert_raised_on=np.array([r[3] for r in alert_rows], dtype=np.int32),
        alert_severity=np.array([r[4] for r in alert_rows], dtype=np.uint8),
        alert_status=np.array([r[5] for r in alert_rows], dtype=np.uint8),
    )


def _positions(order: tuple[Any, ...]) -> dict[Any, int]:
    """Code -> its column value (position in the registry's fixed order)."""
    return {item: i for i, item in enumerate(order)}


def _bits(order: tuple[Any, ...]) -> dict[Any, int]:
    """Code -> its bit in a mask column."""
    return {item: 1 << i for i, item in enumerate(order)}


__all__ = [
    "build_registry",
    "load_registry",
    "read_document",
    "registry_from_document",
]
