"""Each listing's fixed JSON text, written once per snapshot and reused by every answer.

Most of what an answer shows about a listing (ids, names, position, vacancies, Ofsted
rating, open alerts, KPI score, tendered menu) is the snapshot's and never changes between
requests; only the distance, the in-area flag and the ceiling on the start date are the
referral's. Writing the fixed part of a row once, as the JSON bytes orjson would write for
it, makes a warm answer one byte-string format per row instead of a dict of a dozen
Python objects encoded again each time (`matcher.match.response` splices them in as
`orjson.Fragment`s; the bytes are the response model's own, tested).

Texts are written on first use, a batch of rows at a time, through the same column gathers
an answer used before, so a cold row costs what it did; the cache is bounded
(`MAX_CACHED_ROWS`) so that a million-listing registry never holds text for all of it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from matcher.registry.columns import RATINGS, UNITS, Registry, from_ordinal
from matcher.vocabulary.money import format_pence, pence_bytes

RATING_CODES = tuple(rating.value for rating in RATINGS)
RATING_JSON = tuple(orjson.dumps(code) for code in RATING_CODES)
UNIT_CODES = tuple(unit.value for unit in UNITS)
# Rows whose text is kept per snapshot and kind of text: every row of a 100k registry (all
# three kinds: 97 MB, tracemalloc), at most a tenth of a million-listing one. Past it the
# cache starts again.
MAX_CACHED_ROWS = 131_072


@lru_cache(maxsize=4096)
def rate_text(pence: int) -> str:
    """Menu rates repeat across listings: format each once."""
    return format_pence(pence)


@lru_cache(maxsize=4096)
def money_json(pence: int) -> bytes:
    """A money amount as its JSON string's bytes, quotes included."""
    return b'"%b"' % pence_bytes(pence)


@dataclass(eq=False)
class _RowTexts:
    """Texts by row, filled a batch at a time by `write` and bounded by `MAX_CACHED_ROWS`."""

    write: Callable[[list[int]], list[Any]]
    texts: dict[int, Any] = field(default_factory=dict)

    def of(self, rows: list[int]) -> list[Any]:
        """The texts of `rows`, writing those not yet written (safe under threads: a row
        written twice gets the same text)."""
        texts = self.texts
        found = [texts.get(row) for row in rows]
        if None not in found:
            return found
        missing = [row for row, text in zip(rows, found, strict=True) if text is None]
        missing = list(dict.fromkeys(missing))
        written = dict(zip(missing, self.write(missing), strict=True))
        if len(texts) + len(written) > MAX_CACHED_ROWS:
            texts.clear()
        texts.update(written)
        return [
            text if text is not None else written[row]
            for row, text in zip(rows, found, strict=True)
        ]


class ListingJson:
    """The fixed JSON text of a registry's listings (see the module docstring)."""

    def __init__(self, registry: Registry) -> None:
        # Weakly: `listing_json` keeps this in a WeakKeyDictionary keyed by the registry, so
        # a strong reference here would keep every replaced snapshot alive.
        self._registry = weakref.ref(registry)
        self._entries = _RowTexts(self._write_entries)
        self._excluded = _RowTexts(self._write_excluded)
        self._bidders = _RowTexts(self._write_bidders)

    def entry_parts(self, rows: list[int]) -> list[tuple[bytes, bytes]]:
        """Per row, a shortlist entry's fixed fields before and after the referral's own
        (`listing_id` ... `lon`, then `vacancies` ... `additional_services`), as the members
        of a JSON object without its braces."""
        return self._entries.of(rows)

    def excluded_head(self, rows: list[int]) -> list[bytes]:
        """Per row, an excluded listing's fixed fields (`listing_id` ... `lon`)."""
        return self._excluded.of(rows)

    def bidder_head(self, rows: list[int]) -> list[bytes]:
        """Per row, a ranked bid's fields of its listing (`provider_id`, `provider_name`,
        `listing_name`)."""
        return self._bidders.of(rows)

    @property
    def registry(self) -> Registry:
        """The registry these texts are of (alive while an answer is written from it)."""
        registry = self._registry()
        if registry is None:  # pragma: no cover - only a caller holding a dead cache
            raise RuntimeError("the registry of these listing texts is gone")
        return registry

    def _write_entries(self, rows: list[int]) -> list[tuple[bytes, bytes]]:
        reg = self.registry
        at = np.asarray(rows, dtype=np.intp)
        kpi = reg.kpi_score.take(at)
        kpis = np.where(np.isnan(kpi), -1.0, kpi).tolist()
        offsets = reg.alerts.offsets
        alerts = (offsets.take(at + 1) - offsets.take(at)).tolist()
        out = []
        for row, lat, lon, vacancies, available, rating, has_alerts, k, menu in zip(
            rows,
            reg.lat.take(at).tolist(),
            reg.lon.take(at).tolist(),
            reg.vacancies.take(at).tolist(),
            reg.available_from.take(at).tolist(),
            reg.rating.take(at).tolist(),
            alerts,
            kpis,
            service_menus(reg, at),
            strict=True,
        ):
            head = {
                "listing_id": reg.ids[row],
                "provider_id": reg.provider_ids[row],
                "provider_name": reg.provider_names[row],
                "name": reg.names[row],
                "lat": lat,
                "lon": lon,
            }
            tail = {
                "vacancies": vacancies,
                "available_from": from_ordinal(available) if available else None,
                "ofsted_rating": RATING_CODES[rating],
                "ofsted_urn": reg.ofsted_urn[row],
                "open_alerts": reg.open_alerts(row) if has_alerts else [],
                "kpi_score": None if k < 0 else k,
                "additional_services": menu,
            }
            out.append((_members(head), _members(tail)))
        return out

    def _write_bidders(self, rows: list[int]) -> list[bytes]:
        reg = self.registry
        return [
            _members(
                {
                    "provider_id": reg.provider_ids[row],
                    "provider_name": reg.provider_names[row],
                    "listing_name": reg.names[row],
                }
            )
            for row in rows
        ]

    def _write_excluded(self, rows: list[int]) -> list[bytes]:
        reg = self.registry
        at = np.asarray(rows, dtype=np.intp)
        return [
            _members(
                {
                    "listing_id": reg.ids[row],
                    "provider_id": reg.provider_ids[row],
                    "name": reg.names[row],
                    "lat": lat,
                    "lon": lon,
                }
            )
            for row, lat, lon in zip(
                rows, reg.lat.take(at).tolist(), reg.lon.take(at).tolist(), strict=True
            )
        ]


def _members(fields: dict[str, Any]) -> bytes:
    """A JSON object's members without its braces (orjson's bytes)."""
    return orjson.dumps(fields)[1:-1]


_TEXTS: weakref.WeakKeyDictionary[Registry, ListingJson] = weakref.WeakKeyDictionary()


def listing_json(registry: Registry) -> ListingJson:
    """The registry's listing texts (one per snapshot; gone with the snapshot)."""
    texts = _TEXTS.get(registry)
    if texts is None:
        texts = _TEXTS.setdefault(registry, ListingJson(registry))
    return texts


def service_menus(reg: Registry, rows: npt.NDArray[np.intp]) -> list[list[dict[str, str]]]:
    """Each row's tendered menu as reported (`ServiceRateOut` fields), gathered in one pass."""
    offsets = reg.services.offsets
    starts = offsets.take(rows)
    counts = offsets.take(rows + 1) - starts
    total = int(counts.sum())
    if not total:
        return [[] for _ in range(len(rows))]
    ends = np.cumsum(counts)
    items = np.repeat(starts - (ends - counts), counts) + np.arange(total)
    codes = reg.svc_code
    flat = [
        {"code": codes[k], "unit": UNIT_CODES[unit], "rate_gbp": rate_text(pence)}
        for k, unit, pence in zip(
            items.tolist(),
            reg.svc_unit.take(items).tolist(),
            reg.svc_pence.take(items).tolist(),
            strict=True,
        )
    ]
    bounds = ends.tolist()
    return [flat[end - n : end] for end, n in zip(bounds, counts.tolist(), strict=True)]
