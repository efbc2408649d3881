"""Read, validate and load a registry snapshot file; refuse it whole on any error.

Validation is total: every problem of every listing is collected (up to a cap shown in the
message) with the listing id and the field, so the brokerage system can fix its export in
one pass rather than one error per attempt.

How a file is read (see README "The registry snapshot"): msgspec splits the document into
its top-level values and the listings, still encoded (no objects yet); listings are then
decoded and checked a chunk at a time straight into columns (`matcher.registry.columnar`),
so only a few chunks' objects are alive at once (for a large file, a helper process
decodes some of the chunks: `matcher.registry.helper`). A chunk the fast path does not
accept (anything invalid, or valid but not in plain JSON form) is validated with the
pydantic models, which produce the errors; a file msgspec cannot split (malformed, NaN, a
byte-order mark, ...) is parsed whole with `json.loads` as before. Either way the registry
and every error message are the ones the models alone give.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import gzip
import json
import logging
import sys
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import msgspec
import numpy as np
import numpy.typing as npt
from isal import isal_zlib
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

import geodata
from matcher.registry import cache
from matcher.registry.columnar import (
    PARTS,
    Chunk,
    ColumnAccumulator,
    Memo,
    NotPlain,
    convert_listings,
    decode_listings,
    joined,
    plain_chunk,
)
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
from matcher.registry.helper import Helper, HelperGone
from matcher.registry.snapshot import DistrictLocation, Listing, PostcodeLocation
from matcher.registry.strings import StrColumn
from matcher.vocabulary.catalogue import lot_belongs_to
from matcher.vocabulary.errors import ErrorDetail, SnapshotError
from matcher.vocabulary.money import to_pence

log = logging.getLogger("matcher.registry")

MAX_REPORTED_ERRORS = 200
CHUNK_LISTINGS = 4096  # listings decoded and checked together (a few MB of objects)
# From this size of text (~27,000 listings of the usual size) a helper process decodes
# chunks beside the loader; below, its start (~0.3 s, a fresh interpreter) saves too little.
HELPER_MIN_BYTES = 24 << 20
HELPER_QUEUE = 2  # chunks given to it at once: it starts the next as it answers one
_LISTING = TypeAdapter(Listing)


class _Envelope(BaseModel):
    """The snapshot's top level, validated before its listings."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int
    generated_at: datetime
    listings: list[Any]


class _Unusual(Exception):  # noqa: N818  # a signal to parse the file whole, not an error
    """The file is not one the split-and-stream path reads; `json.loads` it whole instead."""


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


def load_registry(path: Path, cache_dir: Path | None = None, helper: bool = True) -> Registry:
    """Read and validate a snapshot file into a Registry (version computed eagerly).

    With `cache_dir`, a registry validated before from the same bytes (by the same code) is
    read back from there instead, verified against its recorded digest; otherwise the file
    is validated and the result saved there for the next process (`matcher.registry.cache`).
    `helper`: a text of `HELPER_MIN_BYTES` or more is decoded on two processes
    (`matcher.registry.helper`); the registry is the same either way.
    """
    started = time.perf_counter()
    with collector_paused():
        held: list[bytes | None] = [None]  # None: unreadable (read_document names why)
        with contextlib.suppress(OSError):
            held[0] = path.read_bytes()
        raw = held[0]
        key = None
        if cache_dir is not None and raw is not None and cache.usable_folder(cache_dir):
            key = cache.source_key(raw, gzipped=str(path).endswith(".gz"))
        del raw  # from here `held` is the only reference: validation drops it when done
        if key is None or cache_dir is None:
            registry = _validated(path, held, helper)
        else:
            found = cache.read(cache_dir, key)
            if found is None:
                found = _validated_once(path, held, cache_dir, key, helper)
            registry = found
        _ = registry.version
    return_freed_memory()
    _log_loaded(path, registry, time.perf_counter() - started)
    return registry


def _validated_once(
    path: Path, held: list[bytes | None], folder: Path, key: str, helper: bool
) -> Registry:
    """Validate and save, unless another process did while this one waited for the lock."""
    with cache.exclusive(folder, key):
        found = cache.read(folder, key)
        if found is not None:
            return found
        registry = _validated(path, held, helper)
        cache.write(folder, key, registry)
        return registry


def _validated(path: Path, held: list[bytes | None], helper: bool) -> Registry:
    """`_load_source` on the bytes in `held` (taken out, so they are freed when read)."""
    started = time.perf_counter()
    registry = _load_source(path, held.pop(), helper)
    _ = registry.digest
    fields = {"source": str(path), "listings": registry.size,
              "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
    log.info("snapshot validated", extra={"fields": fields})
    return registry


def _log_loaded(path: Path, registry: Registry, seconds: float) -> None:
    fields = {"source": str(path), "snapshot_version": registry.version,
              "listings": registry.size, "seconds": round(seconds, 3)}  # fmt: skip
    log.info("snapshot registry loaded", extra={"fields": fields})


def return_freed_memory() -> None:
    """Hand freed heap back to the OS (glibc keeps it otherwise: ~190 MB after loading or
    indexing a million listings), so a worker's resident memory is what it holds."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _load_source(path: Path, raw: bytes | None, helper: bool = False) -> Registry:
    """Validate the file's bytes `raw` (None when unreadable) into a Registry; `helper`:
    with a helper process when its text is large (`matcher.registry.helper`)."""
    source = str(path)
    gzipped = source.endswith(".gz")
    large = raw is not None and _text_size(raw, gzipped) >= HELPER_MIN_BYTES
    beside = Helper.start() if helper and large else None
    try:
        with beside or contextlib.nullcontext():  # started first: it imports while we inflate
            if raw is None:
                raise _Unusual("unreadable")
            text = _inflated(raw) if gzipped else raw
            del raw
            parts = PARTS.decode(text)
            document = {
                "schema_version": json.loads(bytes(parts.schema_version)),
                "generated_at": json.loads(bytes(parts.generated_at)),
                "listings": [],
            }
            _envelope(document, source)
            encoded = parts.listings
            del parts
            validation = _Validation(source)
            size = CHUNK_LISTINGS
            validation.add_all_encoded(
                [encoded[i : i + size] for i in range(0, len(encoded), size)], beside
            )
            del encoded, text  # the file's text goes before the whole-registry work
    except (_Unusual, SnapshotError, msgspec.DecodeError, msgspec.ValidationError, ValueError):
        # Not the plain shape (or the top level is invalid, which must be reported after
        # any syntax error, as before): parse the whole file as always.
        return registry_from_document(read_document(path), source)
    return validation.finish(document)


def _text_size(raw: bytes, gzipped: bool) -> int:
    """The size of the file's text: its own, or for gzip the size its trailer gives (modulo
    2**32, so a text beyond 4 GiB may read as small: it is then only decoded slower)."""
    return int.from_bytes(raw[-4:], "little") if gzipped and len(raw) >= 4 else len(raw)


# isal's stubs declare `error` as an instance: it is the exception class (IsalError).
_ISAL_ERROR = cast(type[Exception], isal_zlib.error)


def _inflated(data: bytes) -> bytes:
    """The content of one gzip member, or _Unusual.

    One call to ISA-L's inflate (python-isal), its output capped one byte past the size the
    trailer gives. Measured on a million listings (904 MB of text): 1.0-1.2 s with the
    process's peak at the text's size once, where zlib into a preallocated buffer, a step
    at a time, took ~4 s (each step's output was built and then copied); zlib's
    `decompressobj` in one call holds the text twice at its end, and its one-shot
    `decompress` stops silently at the end of the first member. A file whose trailer gives
    another size, or with data after the first member, takes the reference path
    (`read_document`), as does anything ISA-L refuses.
    """
    if data[:2] != b"\x1f\x8b":
        raise _Unusual("not gzip")
    inflate = isal_zlib.decompressobj(wbits=31)
    # The trailer holds the size mod 2**32; deflate never inflates beyond ~1032x.
    size = min(_text_size(data, gzipped=True), 1032 * len(data))
    try:
        out = inflate.decompress(data, size + 1)  # one byte more than the trailer's size
    except _ISAL_ERROR as exc:
        raise _Unusual(str(exc)) from None
    if inflate.unused_data:
        raise _Unusual("data after the first gzip member")
    if not inflate.eof or len(out) != size:
        raise _Unusual("truncated gzip data, or a size the trailer does not give")
    return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a snapshot loads (or other work that
    keeps a great many acyclic objects alive for a while: market feedback uses it too).

    Loading allocates millions of acyclic objects (parsed JSON, and pydantic models for the
    chunks that take that path) while they are alive, so every full collection re-walks
    them: at 100k listings the collector once took 7 of 17 s. Nothing the load allocates
    forms a cycle, and reference counting still frees everything; the collector resumes
    afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def registry_from_document(
    document: Any, source: str = "snapshot", *, fast: bool = True
) -> Registry:
    """Validate a parsed snapshot document and build its columns, or raise SnapshotError.

    With `fast=False` every listing goes through the pydantic models (the reference the
    fast path is tested against); the result and every error are the same either way.
    """
    _envelope(document, source)
    listings: list[Any] = document["listings"]
    validation = _Validation(source, fast=fast)
    for start in range(0, len(listings), CHUNK_LISTINGS):
        validation.add_parsed(listings[start : start + CHUNK_LISTINGS])
    return validation.finish(document)


def _envelope(document: Any, source: str) -> _Envelope:
    """The snapshot's top level, or SnapshotError naming what is wrong with it."""
    try:
        return _Envelope.model_validate(document)
    except ValidationError as exc:
        details = [
            ErrorDetail(field=".".join(str(p) for p in e["loc"]), reason=e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise SnapshotError(f"{source}: not a registry snapshot", details) from None


class _Validation:
    """Listings validated chunk by chunk into columns; then the whole-registry checks.

    Errors come in the order they always had: the schema version, then each listing's
    (pydantic's, then the cross-field rules), then repeated ids, then locations.
    """

    def __init__(self, source: str, fast: bool = True) -> None:
        self.source = source
        self.fast = fast
        self.columns = ColumnAccumulator()
        self.memo = Memo()
        self.errors: list[ErrorDetail] = []
        self.listings = 0
        self.chunks_by_model = 0

    def add_encoded(self, encoded: Sequence[msgspec.Raw]) -> None:
        """Validate the next listings, still JSON-encoded (see `add_parsed`)."""
        self._add_decoded(self._plain(encoded), encoded)

    def add_all_encoded(
        self, chunks: Sequence[Sequence[msgspec.Raw]], helper: Helper | None = None
    ) -> None:
        """`add_encoded` of each chunk in turn; with `helper` (a started helper process),
        it decodes the chunks it is free to take while this process decodes the others
        (`matcher.registry.helper`), and they are added in order all the same."""
        if helper is None or not self.fast:
            for encoded in chunks:
                self.add_encoded(encoded)
            return
        n = len(chunks)
        decoded: dict[int, Chunk | None] = {}  # by chunk: its columns, None if not plain
        added = taken = 0  # chunks added in order; chunks decoded or given to the helper
        at_helper: deque[int] = deque()  # the chunks it holds, in the order it answers
        alive = True
        while added < n:
            try:
                if alive and len(at_helper) < HELPER_QUEUE and taken < n and helper.ready():
                    helper.send(joined(chunks[taken]))
                    at_helper.append(taken)
                    taken += 1
                elif at_helper and (taken == n or helper.replied()):
                    decoded[at_helper[0]] = helper.reply()
                    at_helper.popleft()
                elif taken < n:
                    decoded[taken] = self._plain(chunks[taken])
                    taken += 1
            except HelperGone as exc:
                why = {"source": self.source, "reason": str(exc)}
                log.warning("validation helper stopped; validating the rest in this process",
                            extra={"fields": why})  # fmt: skip
                alive = False
                for held in at_helper:
                    decoded[held] = self._plain(chunks[held])
                at_helper.clear()
            while added in decoded:
                self._add_decoded(decoded.pop(added), chunks[added])
                added += 1
        fields = {"source": self.source, "chunks": n, "helper_chunks": helper.chunks}
        log.info("snapshot decoded with a helper process", extra={"fields": fields})

    def _plain(self, encoded: Sequence[msgspec.Raw]) -> Chunk | None:
        """The fast path's columns of a chunk, or None when it is not plain (or not fast)."""
        if not self.fast:
            return None
        try:
            return plain_chunk(decode_listings(encoded), self.memo)
        except NotPlain:
            return None

    def _add_decoded(self, chunk: Chunk | None, encoded: Sequence[msgspec.Raw]) -> None:
        """Add a chunk's columns, or validate it with the models when it had none."""
        if chunk is not None:
            self.columns.add(chunk)
            self.listings += len(encoded)
            return
        try:
            parsed = [json.loads(bytes(item)) for item in encoded]
        except (ValueError, RecursionError) as exc:
            raise _Unusual(str(exc)) from None  # e.g. bad UTF-8 inside a string
        self._by_models(parsed)

    def add_parsed(self, parsed: list[Any]) -> None:
        """Validate the next listings: columns straight from the fast path when the whole
        chunk is plain and valid, else through the pydantic models, listing by listing."""
        if self.fast:
            try:
                self.columns.add(plain_chunk(convert_listings(parsed), self.memo))
                self.listings += len(parsed)
                return
            except NotPlain:
                pass
        self._by_models(parsed)

    def _by_models(self, raw: list[Any]) -> None:
        start, self.listings = self.listings, self.listings + len(raw)
        self.chunks_by_model += 1
        models: list[Listing] = []
        for offset, item in enumerate(raw):
            label = _label(item, start + offset)
            try:
                listing = _LISTING.validate_python(item)
            except ValidationError as exc:
                for e in exc.errors(include_url=False):
                    field = ".".join(str(p) for p in e["loc"])
                    self.errors.append(ErrorDetail(f"{label}.{field}", e["msg"]))
                continue
            self.errors.extend(_listing_errors(listing, label))
            models.append(listing)
        self.columns.add(_chunk_from_models(models))

    def finish(self, document: Any) -> Registry:
        """The registry, or SnapshotError with every error (up to the cap shown)."""
        envelope = _envelope({**document, "listings": []}, self.source)
        errors: list[ErrorDetail] = []
        if envelope.schema_version != 1:
            errors.append(ErrorDetail("schema_version", "unsupported schema_version; expected 1"))
        errors.extend(self.errors)
        text = self.columns.text()
        values = self.columns.values()
        offsets = self.columns.offsets()
        point_lat, point_lon = values.pop("point_lat"), values.pop("point_lon")
        lat, lon, location_errors = _resolve_locations(
            text["ids"], values["location_kind"], text["location_label"], point_lat, point_lon
        )
        columns: dict[str, Any] = {**text, **values}
        registry = Registry(
            generated_at=envelope.generated_at,
            lat=lat,
            lon=lon,
            ceilings=Csr(offsets["ceilings"]),
            services=Csr(offsets["services"]),
            alerts=Csr(offsets["alerts"]),
            **columns,
        )
        errors.extend(_duplicate_id_errors(registry))
        errors.extend(location_errors)
        if errors:
            shown = errors[:MAX_REPORTED_ERRORS]
            more = f" (first {len(shown)} shown)" if len(errors) > len(shown) else ""
            raise SnapshotError(
                f"{self.source}: registry snapshot refused: {len(errors)} error(s){more}", shown
            )
        return registry


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


def _duplicate_id_errors(registry: Registry) -> Iterable[ErrorDetail]:
    """Each repeat of an id already seen, in listing order."""
    if not registry.has_duplicate_ids():
        return
    seen: set[str] = set()
    for lid in registry.ids:
        if lid in seen:
            yield ErrorDetail(f"listing({lid}).id", "duplicate listing id")
        seen.add(lid)


def _resolve_locations(
    ids: StrColumn,
    kind: npt.NDArray[np.uint8],
    labels: StrColumn,
    point_lat: npt.NDArray[np.float64],
    point_lon: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[ErrorDetail]]:
    """Coordinates for every listing; postcodes resolve to their district's centroid."""
    lat, lon = point_lat.copy(), point_lon.copy()
    errors: list[ErrorDetail] = []
    found: dict[str, tuple[float, float] | str] = {}  # each distinct label looked up once
    for row in np.flatnonzero(kind != LOCATION_KINDS.index("point")).tolist():
        query = labels[row]
        where = found.get(query)
        if where is None:
            try:
                district = geodata.outcode(query)
                where = found[query] = (district.lat, district.lon)
            except geodata.GeodataError as exc:
                where = found[query] = exc.message
        if isinstance(where, str):
            errors.append(ErrorDetail(f"listing({ids[row]}).location", where))
            lat[row] = lon[row] = np.nan
        else:
            lat[row], lon[row] = where
    inside = geodata.check_in_great_britain_v(lat, lon)
    for bad in np.flatnonzero(~inside & ~np.isnan(lat)).tolist():
        errors.append(
            ErrorDetail(
                f"listing({ids[bad]}).location",
                "coordinates are outside Great Britain",
                {"lat": float(lat[bad]), "lon": float(lon[bad])},
            )
        )
    return lat, lon, errors


def _chunk_from_models(listings: list[Listing]) -> Chunk:
    """Columns from validated listings (the pydantic path's way to the columns)."""
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
    n = len(listings)
    point_lat = np.full(n, np.nan)
    point_lon = np.full(n, np.nan)
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
            point_lat[row], point_lon[row] = loc.lat, loc.lon
    ceil_rows.sort()

    def counts(rows: list[int]) -> npt.NDArray[np.int64]:
        return np.bincount(np.asarray(rows, dtype=np.int64), minlength=n).astype(np.int64)

    lot_bits, gender_bits, need_bits = _bits(LOTS), _bits(GENDERS), _bits(NEEDS)

    def mask(items: Iterable[Any], bits: dict[Any, int]) -> int:
        m = 0
        for item in items:
            m |= bits[item]
        return m

    text = {
        "ids": [x.id for x in listings],
        "provider_ids": [x.provider_id for x in listings],
        "provider_names": [x.provider_name for x in listings],
        "names": [x.name for x in listings],
        "ofsted_urn": [x.ofsted.urn for x in listings],
        "location_label": labels,
        "svc_code": [r[1] for r in svc_rows],
        "alert_id": [r[1] for r in alert_rows],
        "alert_raised_by": [r[2] for r in alert_rows],
    }
    values: dict[str, npt.NDArray[Any]] = {
        "dpv": np.array([dpv_at[x.dpv] for x in listings], dtype=np.uint8),
        "lots_mask": np.array([mask(x.lots, lot_bits) for x in listings], dtype=np.uint16),
        "genders_mask": np.array([mask(x.genders, gender_bits) for x in listings], np.uint8),
        "age_min": np.array([x.age_min for x in listings], dtype=np.uint8),
        "age_max": np.array([x.age_max for x in listings], dtype=np.uint8),
        "needs_mask": np.array([mask(x.needs, need_bits) for x in listings], dtype=np.uint32),
        "places": np.array([x.capacity.places for x in listings], dtype=np.int32),
        "vacancies": np.array([x.capacity.vacancies for x in listings], dtype=np.int32),
        "available_from": np.array(
            [to_ordinal(x.capacity.available_from) for x in listings], dtype=np.int32
        ),
        "max_sibling_group": np.array([x.max_sibling_group for x in listings], dtype=np.uint8),
        "registration": np.array(
            [registration_at[x.ofsted.registration] for x in listings], dtype=np.uint8
        ),
        "rating": np.array([rating_at[x.ofsted.rating] for x in listings], dtype=np.uint8),
        "inspected_on": np.array(
            [to_ordinal(x.ofsted.inspected_on) for x in listings], dtype=np.int32
        ),
        "restricted_until": np.array(
            [to_ordinal(x.ofsted.admissions_restricted_until) for x in listings], np.int32
        ),
        "dpv_status": np.array([status_at[x.dpv_status] for x in listings], dtype=np.uint8),
        "kpi_score": np.array(
            [np.nan if x.kpi_score is None else x.kpi_score for x in listings], dtype=np.float64
        ),
        "location_kind": np.array(kinds, dtype=np.uint8),
        "point_lat": point_lat,
        "point_lon": point_lon,
        "ceil_lot": np.array([r[1] for r in ceil_rows], dtype=np.uint8),
        "ceil_from": np.array([r[2] for r in ceil_rows], dtype=np.int32),
        "ceil_to": np.array([r[3] for r in ceil_rows], dtype=np.int32),
        "ceil_pence": np.array([r[4] for r in ceil_rows], dtype=np.int64),
        "svc_unit": np.array([r[2] for r in svc_rows], dtype=np.uint8),
        "svc_pence": np.array([r[3] for r in svc_rows], dtype=np.int64),
        "alert_raised_on": np.array([r[3] for r in alert_rows], dtype=np.int32),
        "alert_severity": np.array([r[4] for r in alert_rows], dtype=np.uint8),
        "alert_status": np.array([r[5] for r in alert_rows], dtype=np.uint8),
    }
    return Chunk(
        text=text,
        values=values,
        counts={
            "ceilings": counts([r[0] for r in ceil_rows]),
            "services": counts([r[0] for r in svc_rows]),
            "alerts": counts([r[0] for r in alert_rows]),
        },
    )


def _positions(order: tuple[Any, ...]) -> dict[Any, int]:
    """Code -> its column value (position in the registry's fixed order)."""
    return {item: i for i, item in enumerate(order)}


def _bits(order: tuple[Any, ...]) -> dict[Any, int]:
    """Code -> its bit in a mask column."""
    return {item: 1 << i for i, item in enumerate(order)}


__all__ = [
    "load_registry",
    "read_document",
    "registry_from_document",
    "return_freed_memory",
]
