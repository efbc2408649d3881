"""A synthetic national registry, deterministic for a seed, built straight into columns.

Listings are placed where people live: authorities are drawn in proportion to their live
postcodes (London dense, rural counties sparse) and points scattered uniformly inside the
authority's boundary. Shares follow the sector: about 15% outstanding, 65% good, 15%
requires improvement, 5% inadequate; a few percent suspended, restricted or alerted; needs
and age bands correlated with the lot. Generating columns directly (not dicts) makes a
million listings take seconds; `Registry.snapshot_dict()` writes the equivalent JSON, and a
test checks that reloading it gives the same registry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TypedDict

import numpy as np
import numpy.typing as npt
import shapely

import geodata
from matcher.registry.columns import (
    ALERT_STATUSES,
    DPVS,
    LOCATION_KINDS,
    LOTS,
    RATINGS,
    REGISTRATIONS,
    SEVERITIES,
    UNITS,
    Csr,
    Registry,
)
from matcher.vocabulary.catalogue import (
    LOT_BIT,
    NEED_BIT,
    AlertSeverity,
    Dpv,
    Lot,
    Need,
    OfstedRating,
    OfstedRegistration,
    ServiceUnit,
)

GENERATED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
YEAR_START = date(2026, 4, 1).toordinal()
YEAR_END = date(2027, 3, 31).toordinal()
NEXT_START = date(2027, 4, 1).toordinal()
NEXT_END = date(2028, 3, 31).toordinal()
LAST_START = date(2025, 4, 1).toordinal()
LAST_END = date(2026, 3, 31).toordinal()
TODAY = GENERATED_AT.date().toordinal()

_PREFIX = ("Oak", "Ash", "Birch", "Willow", "Elm", "Hazel", "Rowan", "Cedar", "Maple", "Holly",
           "Beech", "Larch", "Alder", "Hawthorn", "Linden", "Aspen")  # fmt: skip
_SUFFIX = ("field", "brook", "wood", "lea", "gate", "mere", "stone", "hill", "vale", "ford")
_KIND = {Dpv.RESIDENTIAL: "Care Ltd", Dpv.FOSTERING: "Fostering", Dpv.SEN: "Education Trust"}
_PLACE = {Dpv.RESIDENTIAL: "House", Dpv.FOSTERING: "Foster Carers", Dpv.SEN: "School"}

# (code, unit, low, high) in pounds: the tendered menu rates a provider may offer.
_SERVICES = (
    ("one_to_one_staffing", "hour", 18, 35),
    ("two_to_one_staffing", "hour", 36, 65),
    ("waking_night_staff", "day", 120, 260),
    ("education_support", "day", 80, 250),
    ("therapy_session", "session", 60, 150),
    ("transport", "day", 20, 80),
)

_UNIT_CODE = tuple(UNITS.index(ServiceUnit(s[1])) for s in _SERVICES)

# Weekly ceiling ranges in pounds, per (dpv, lot).
_CEILING_RANGE: dict[tuple[Dpv, Lot], tuple[int, int]] = {
    (Dpv.RESIDENTIAL, Lot.STANDARD): (3000, 5500),
    (Dpv.RESIDENTIAL, Lot.THERAPEUTIC): (4000, 6500),
    (Dpv.RESIDENTIAL, Lot.SOLO): (5500, 7500),
    (Dpv.RESIDENTIAL, Lot.DISABILITY): (4000, 7000),
    (Dpv.FOSTERING, Lot.STANDARD): (750, 950),
    (Dpv.FOSTERING, Lot.COMPLEX): (900, 1200),
    (Dpv.FOSTERING, Lot.PARENT_AND_CHILD): (1000, 1200),
    (Dpv.FOSTERING, Lot.EMERGENCY): (800, 1100),
    (Dpv.SEN, Lot.DAY): (1000, 2500),
    (Dpv.SEN, Lot.RESIDENTIAL): (3000, 6000),
}

# Probability that a listing of (dpv, lot) supports each need.
_NEED_P: dict[Dpv, dict[Need, float]] = {
    Dpv.RESIDENTIAL: {
        Need.EMOTIONAL_BEHAVIOURAL: 0.9, Need.MENTAL_HEALTH: 0.45, Need.LEARNING_DISABILITY: 0.3,
        Need.PHYSICAL_DISABILITY: 0.08, Need.SENSORY_IMPAIRMENT: 0.08, Need.SUBSTANCE_MISUSE: 0.3,
        Need.AUTISM: 0.35, Need.CSE_RISK: 0.55, Need.CCE_RISK: 0.5, Need.MISSING_EPISODES: 0.55,
        Need.SELF_HARM: 0.4, Need.OFFENDING: 0.3, Need.UASC: 0.15, Need.COMPLEX_HEALTH: 0.06,
        Need.PARENT_AND_CHILD: 0.0,
    },
    Dpv.FOSTERING: {
        Need.EMOTIONAL_BEHAVIOURAL: 0.85, Need.MENTAL_HEALTH: 0.35, Need.LEARNING_DISABILITY: 0.4,
        Need.PHYSICAL_DISABILITY: 0.2, Need.SENSORY_IMPAIRMENT: 0.15, Need.SUBSTANCE_MISUSE: 0.15,
        Need.AUTISM: 0.4, Need.CSE_RISK: 0.35, Need.CCE_RISK: 0.3, Need.MISSING_EPISODES: 0.35,
        Need.SELF_HARM: 0.3, Need.OFFENDING: 0.15, Need.UASC: 0.35, Need.COMPLEX_HEALTH: 0.2,
        Need.PARENT_AND_CHILD: 0.12,
    },
    Dpv.SEN: {
        Need.EMOTIONAL_BEHAVIOURAL: 0.6, Need.MENTAL_HEALTH: 0.35, Need.LEARNING_DISABILITY: 0.7,
        Need.PHYSICAL_DISABILITY: 0.3, Need.SENSORY_IMPAIRMENT: 0.3, Need.SUBSTANCE_MISUSE: 0.05,
        Need.AUTISM: 0.75, Need.CSE_RISK: 0.1, Need.CCE_RISK: 0.1, Need.MISSING_EPISODES: 0.1,
        Need.SELF_HARM: 0.2, Need.OFFENDING: 0.05, Need.UASC: 0.05, Need.COMPLEX_HEALTH: 0.35,
        Need.PARENT_AND_CHILD: 0.0,
    },
}  # fmt: skip

# Lot probabilities per DPV (a listing gets at least the first lot drawn).
_LOT_P: dict[Dpv, dict[Lot, float]] = {
    Dpv.RESIDENTIAL: {
        Lot.STANDARD: 0.8, Lot.THERAPEUTIC: 0.3, Lot.SOLO: 0.12, Lot.DISABILITY: 0.12,
    },
    Dpv.FOSTERING: {
        Lot.STANDARD: 0.9, Lot.COMPLEX: 0.4, Lot.PARENT_AND_CHILD: 0.15, Lot.EMERGENCY: 0.25,
    },
    Dpv.SEN: {Lot.DAY: 0.75, Lot.RESIDENTIAL: 0.4},
}  # fmt: skip

F64 = npt.NDArray[np.float64]


class _CeilingColumns(TypedDict):
    ceilings: Csr
    ceil_lot: npt.NDArray[np.uint8]
    ceil_pence: npt.NDArray[np.int64]
    ceil_from: npt.NDArray[np.int32]
    ceil_to: npt.NDArray[np.int32]


class _ServiceColumns(TypedDict):
    services: Csr
    svc_code: list[str]
    svc_unit: npt.NDArray[np.uint8]
    svc_pence: npt.NDArray[np.int64]


class _AlertColumns(TypedDict):
    alerts: Csr
    alert_id: list[str]
    alert_raised_by: list[str]
    alert_raised_on: npt.NDArray[np.int32]
    alert_severity: npt.NDArray[np.uint8]
    alert_status: npt.NDArray[np.uint8]


def generate(n: int, seed: int = 0) -> Registry:
    """A registry of `n` synthetic listings; the same (n, seed) gives the same registry."""
    rng = np.random.default_rng(seed)
    dpv = rng.choice(3, size=n, p=[0.28, 0.6, 0.12]).astype(np.uint8)
    lat, lon = _scatter(rng, n)
    lots_mask = np.zeros(n, dtype=np.uint16)
    needs_mask = np.zeros(n, dtype=np.uint32)
    for code, d in enumerate(DPVS):
        rows = np.flatnonzero(dpv == code)
        lots = list(_LOT_P[d])
        for lot, p in _LOT_P[d].items():
            lots_mask[rows[rng.random(len(rows)) < p]] |= LOT_BIT[lot]
        empty = rows[lots_mask[rows] == 0]
        lots_mask[empty] = LOT_BIT[lots[0]]
        for need, p in _NEED_P[d].items():
            needs_mask[rows[rng.random(len(rows)) < p]] |= NEED_BIT[need]
    pc = LOT_BIT[Lot.PARENT_AND_CHILD]
    needs_mask[(lots_mask & pc) != 0] |= NEED_BIT[Need.PARENT_AND_CHILD]
    dis = LOT_BIT[Lot.DISABILITY]
    needs_mask[(lots_mask & dis) != 0] |= NEED_BIT[Need.LEARNING_DISABILITY]

    is_res = dpv == DPVS.index(Dpv.RESIDENTIAL)
    is_fos = dpv == DPVS.index(Dpv.FOSTERING)
    is_sen = dpv == DPVS.index(Dpv.SEN)
    genders = np.where(
        is_res,
        rng.choice([0b011, 0b111, 0b001, 0b010], size=n, p=[0.35, 0.25, 0.2, 0.2]),
        rng.choice([0b111, 0b011], size=n, p=[0.7, 0.3]),
    ).astype(np.uint8)
    band = rng.integers(0, 3, size=n)
    age_min = np.select(
        [is_fos, is_sen], [np.zeros(n), np.array([5, 7, 11])[band]], np.array([8, 11, 13])[band]
    ).astype(np.uint8)
    age_max = np.select([is_fos, is_sen], [np.full(n, 17), np.full(n, 19)], np.full(n, 17))
    age_max = age_max.astype(np.uint8)

    places = np.where(is_fos, rng.integers(2, 25, n), rng.integers(1, 7, n)).astype(np.int32)
    places = np.where(is_sen, rng.integers(20, 120, n), places).astype(np.int32)
    vac_draw = rng.choice(4, size=n, p=[0.45, 0.35, 0.15, 0.05])
    vacancies = np.minimum(vac_draw, places).astype(np.int32)
    vacancies = np.where(is_fos | is_sen, np.minimum(vac_draw * 2, places), vacancies).astype(
        np.int32
    )
    later = rng.random(n) < 0.3
    available_from = np.where(later, TODAY + rng.integers(1, 90, n), 0).astype(np.int32)
    max_sib = np.where(is_fos, rng.choice([1, 2, 3, 4], size=n, p=[0.4, 0.35, 0.15, 0.1]), 1)
    max_sib = np.where(is_res & (rng.random(n) < 0.1), 2, max_sib).astype(np.uint8)

    rating = rng.choice(
        [RATINGS.index(r) for r in (OfstedRating.OUTSTANDING, OfstedRating.GOOD,
         OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE,
         OfstedRating.NOT_YET_INSPECTED)],
        size=n, p=[0.145, 0.63, 0.145, 0.05, 0.03],
    ).astype(np.uint8)  # fmt: skip
    registration = rng.choice(
        [REGISTRATIONS.index(r) for r in OfstedRegistration], size=n, p=[0.98, 0.012, 0.008]
    ).astype(np.uint8)
    inspected_on = np.where(
        rating == RATINGS.index(OfstedRating.NOT_YET_INSPECTED), 0, TODAY - rng.integers(30, 900, n)
    ).astype(np.int32)
    restricted_until = np.where(rng.random(n) < 0.02, TODAY + rng.integers(5, 120, n), 0)
    dpv_status = rng.choice(3, size=n, p=[0.96, 0.03, 0.01]).astype(np.uint8)
    kpi = np.round(0.5 + 0.5 * rng.beta(4, 2, n), 3)
    kpi = np.where(rng.random(n) < 0.1, np.nan, kpi)

    ceilings = _ceilings(rng, dpv, lots_mask)
    services = _services(rng, n)
    alerts = _alerts(rng, n)
    provider_of = _providers(rng, dpv)
    ids = [f"L{i:07d}" for i in range(n)]
    prefix = np.asarray(_PREFIX)[rng.integers(0, len(_PREFIX), n)]
    suffix = np.asarray(_SUFFIX)[rng.integers(0, len(_SUFFIX), n)]
    pprefix = np.asarray(_PREFIX)[provider_of % len(_PREFIX)]
    psuffix = np.asarray(_SUFFIX)[(provider_of // len(_PREFIX)) % len(_SUFFIX)]
    kinds = [_KIND[DPVS[d]] for d in dpv.tolist()]
    places_name = [_PLACE[DPVS[d]] for d in dpv.tolist()]
    return Registry(
        generated_at=GENERATED_AT,
        ids=ids,
        provider_ids=[f"P{p:06d}" for p in provider_of.tolist()],
        provider_names=[
            f"{a}{b} {k} {p % 97 + 1}"
            for a, b, k, p in zip(pprefix, psuffix, kinds, provider_of.tolist(), strict=True)
        ],
        names=[f"{a}{b} {k}" for a, b, k in zip(prefix, suffix, places_name, strict=True)],
        dpv=dpv,
        lots_mask=lots_mask,
        genders_mask=genders,
        age_min=age_min,
        age_max=age_max,
        needs_mask=needs_mask,
        places=places,
        vacancies=vacancies,
        available_from=available_from,
        max_sibling_group=max_sib,
        ofsted_urn=[f"SC{100000 + i % 900000:06d}" for i in range(n)],
        registration=registration,
        rating=rating,
        inspected_on=inspected_on,
        restricted_until=restricted_until.astype(np.int32),
        dpv_status=dpv_status,
        kpi_score=kpi.astype(np.float64),
        lat=lat,
        lon=lon,
        location_kind=np.full(n, LOCATION_KINDS.index("point"), dtype=np.uint8),
        location_label=[""] * n,
        **ceilings,
        **services,
        **alerts,
    )


def _scatter(rng: np.random.Generator, n: int) -> tuple[F64, F64]:
    """Points inside authorities drawn in proportion to their live postcodes."""
    authorities = geodata.authorities()
    weights = np.array([a.postcode_count for a in authorities], dtype=np.float64)
    per = rng.multinomial(n, weights / weights.sum())
    lat = np.empty(n)
    lon = np.empty(n)
    at = 0
    for authority, k in zip(authorities, per.tolist(), strict=True):
        if k == 0:
            continue
        shape = geodata.boundary(authority.code)
        minx, miny, maxx, maxy = shape.bounds
        shapely.prepare(shape)
        got_x: list[F64] = []
        need = k
        while need > 0:
            xs = rng.uniform(minx, maxx, need * 3 + 16)
            ys = rng.uniform(miny, maxy, need * 3 + 16)
            ok = shapely.contains_xy(shape, xs, ys)
            pts = np.column_stack([xs[ok], ys[ok]])[:need]
            got_x.append(pts)
            need -= len(pts)
        pts = np.concatenate(got_x)
        lon[at : at + k] = np.round(pts[:, 0], 6)
        lat[at : at + k] = np.round(pts[:, 1], 6)
        at += k
    order = rng.permutation(n)
    return lat[order], lon[order]


def _providers(rng: np.random.Generator, dpv: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Group listings into providers: ~4 homes per residential operator, ~10 per IFA."""
    n = len(dpv)
    group = np.where(dpv == DPVS.index(Dpv.FOSTERING), 10, 4)
    group = np.where(dpv == DPVS.index(Dpv.SEN), 3, group)
    return (np.arange(n) // group + rng.integers(0, 3, n) * (n // 3 + 1)).astype(np.int64)


def _ceilings(
    rng: np.random.Generator, dpv: npt.NDArray[np.uint8], lots_mask: npt.NDArray[np.uint16]
) -> _CeilingColumns:
    """Current-year ceilings per approved lot; some also next year; ~2% only last year's."""
    rows_l: list[npt.NDArray[np.int64]] = []
    lot_l: list[npt.NDArray[np.uint8]] = []
    pence_l: list[npt.NDArray[np.int64]] = []
    from_l: list[npt.NDArray[np.int32]] = []
    to_l: list[npt.NDArray[np.int32]] = []
    n = len(dpv)
    expired = rng.random(n) < 0.02
    renewed = rng.random(n) < 0.1
    for (d, lot), (low, high) in _CEILING_RANGE.items():
        rows = np.flatnonzero((dpv == DPVS.index(d)) & ((lots_mask & LOT_BIT[lot]) != 0))
        pounds = rng.integers(low, high + 1, len(rows)) * 100 + rng.choice([0, 50], len(rows))
        exp = expired[rows]
        for start, end, pick in (
            (LAST_START, LAST_END, exp),
            (YEAR_START, YEAR_END, ~exp),
            (NEXT_START, NEXT_END, ~exp & renewed[rows]),
        ):
            sel = rows[pick]
            rows_l.append(sel.astype(np.int64))
            lot_l.append(np.full(len(sel), LOTS.index(lot), dtype=np.uint8))
            uplift = 102 if start == NEXT_START else 100
            pence_l.append((pounds[pick] * uplift // 100).astype(np.int64))
            from_l.append(np.full(len(sel), start, dtype=np.int32))
            to_l.append(np.full(len(sel), end, dtype=np.int32))
    rows_a = np.concatenate(rows_l)
    lot_a = np.concatenate(lot_l)
    from_a = np.concatenate(from_l)
    order = np.lexsort((from_a, lot_a, rows_a))
    return {
        "ceilings": Csr(_offsets(rows_a[order], n)),
        "ceil_lot": lot_a[order],
        "ceil_pence": np.concatenate(pence_l)[order],
        "ceil_from": from_a[order],
        "ceil_to": np.concatenate(to_l)[order],
    }


def _services(rng: np.random.Generator, n: int) -> _ServiceColumns:
    """0-3 distinct menu items per listing."""
    count = rng.choice(4, size=n, p=[0.3, 0.3, 0.25, 0.15])
    rows = np.repeat(np.arange(n), count)
    perm = rng.random((n, len(_SERVICES))).argsort(axis=1)
    picks = perm[np.arange(len(_SERVICES))[None, :] < count[:, None]].astype(np.int64)
    low = np.array([s[2] for s in _SERVICES])[picks]
    high = np.array([s[3] for s in _SERVICES])[picks]
    pounds = rng.integers(low, high + 1)
    return {
        "services": Csr(_offsets(rows, n)),
        "svc_code": [_SERVICES[p][0] for p in picks.tolist()],
        "svc_unit": np.array([_UNIT_CODE[p] for p in picks.tolist()], dtype=np.uint8),
        "svc_pence": (pounds * 100 + rng.choice([0, 50], len(pounds))).astype(np.int64),
    }


def _alerts(rng: np.random.Generator, n: int) -> _AlertColumns:
    """About 4% of listings carry an alert; 70% of alerts are still open."""
    rows = np.flatnonzero(rng.random(n) < 0.04)
    k = len(rows)
    authorities = geodata.authorities()
    raised_by = rng.integers(0, len(authorities), k)
    return {
        "alerts": Csr(_offsets(rows, n)),
        "alert_id": [f"SA-{i + 1:06d}" for i in range(k)],
        "alert_raised_by": [authorities[i].code for i in raised_by.tolist()],
        "alert_raised_on": (TODAY - rng.integers(1, 400, k)).astype(np.int32),
        "alert_severity": rng.choice(
            [SEVERITIES.index(s) for s in AlertSeverity], size=k, p=[0.5, 0.35, 0.15]
        ).astype(np.uint8),
        "alert_status": rng.choice(len(ALERT_STATUSES), size=k, p=[0.7, 0.3]).astype(np.uint8),
    }


def _offsets(rows: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    counts = np.bincount(rows, minlength=n)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


__all__ = ["GENERATED_AT", "generate"]
