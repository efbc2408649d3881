"""Sufficiency: turn a stream of referrals into evidence of where supply is missing.

The report's councils cannot "link demand (referrals) with supply to provide intelligence on
unmet needs or gaps in supply". For each referral this counts eligible listings at each
radius, the nearest eligible distance, and the criterion that removed the most candidates;
then aggregates by placing authority, DPV/lot, need and age band.

Definitions (precise, because commissioners act on them):
- *candidates*: listings within the first radius on the referral's DPV and approved for its
  lot (the supply that could in principle serve this kind of referral);
- *binding constraint*: the reason code failed by the most candidates;
- *thin market*: fewer than 3 eligible listings within the first radius (20 miles default);
- *in-area*: at least one eligible listing (first radius) inside the placing authority;
- *need gap*: for each need, the referrals for which some candidate fails on that need
  alone (every other criterion met): one more provider supporting it nearby would have
  given that referral an option.

Speed: referrals sharing an origin and DPV/lot share one spatial query at the largest radius
and one candidate set; criteria then run vectorised over that set per referral.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.catalogue import DPV_CODE, NEEDS_BY_BIT
from matcher.criteria import Criteria
from matcher.eligibility import reason_bits
from matcher.errors import ErrorDetail, LimitExceededError, RequestError
from matcher.index import RegistryIndex
from matcher.radius import OriginPoint, decide_within, nearest, rows_within
from matcher.reasons import REASON_BIT, REASONS_BY_BIT, Reason
from matcher.requests import METRES_PER_MILE, ShortlistRequest, resolve_criteria

THIN_BELOW = 3
AGE_BANDS = ((0, 4, "0-4"), (5, 10, "5-10"), (11, 15, "11-15"), (16, 17, "16-17"), (18, 25, "18+"))
_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]


@dataclass(frozen=True, slots=True)
class ReferralSupply:
    """What one referral finds."""

    referral_id: str
    authority_code: str
    dpv: str
    lot: str
    age_band: str
    needs: tuple[str, ...]
    eligible: tuple[int, ...]  # per radius
    nearest_miles: float | None
    binding_constraint: str | None
    in_area: bool
    need_gaps: tuple[str, ...]


def age_band(age: int) -> str:
    """The reporting age band of an age."""
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def analyse(
    index: RegistryIndex, requests: list[ShortlistRequest], radii_miles: list[float],
    max_radius_miles: float,
) -> list[ReferralSupply]:  # fmt: skip
    """Per-referral supply, in input order."""
    radii = sorted(radii_miles)
    resolved = [_resolve(r, i, max_radius_miles) for i, r in enumerate(requests)]
    by_origin: dict[tuple[float, float], list[int]] = defaultdict(list)
    for i, c in enumerate(resolved):
        by_origin[(c.origin.lat, c.origin.lon)].append(i)
    out: list[ReferralSupply | None] = [None] * len(requests)
    reg = index.registry
    for (lat, lon), members in sorted(by_origin.items()):
        origin = OriginPoint.of(lat, lon)
        rows, planar = rows_within(index, origin, radii[-1] * METRES_PER_MILE)
        within = [_mask_within(index, origin, rows, r) for r in radii]
        by_kind: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i in members:
            by_kind[(resolved[i].dpv.value, resolved[i].lot.value)].append(i)
        for kind_members in by_kind.values():
            c0 = resolved[kind_members[0]]
            kind = (reg.dpv[rows] == DPV_CODE[c0.dpv]) & ((reg.lots_mask[rows] & c0.lot_bit) != 0)
            group = _Candidates(
                origin=origin,
                rows=rows[kind],
                planar=planar[kind],
                within=[w[kind] for w in within],
            )
            for i in kind_members:
                out[i] = _one(index, requests[i], resolved[i], group)
    return [s for s in out if s is not None]


@dataclass(frozen=True, slots=True)
class _Candidates:
    """Listings of one DPV/lot within the widest radius of one origin."""

    origin: OriginPoint
    rows: np.ndarray[Any, Any]
    planar: np.ndarray[Any, Any]
    within: list[np.ndarray[Any, Any]]  # per radius: boolean mask over rows


def _mask_within(
    index: RegistryIndex, origin: OriginPoint, rows: np.ndarray[Any, Any], radius_miles: float
) -> np.ndarray[Any, Any]:
    """Which of `rows` (ascending) lie within the radius, decided exactly (geodesic band)."""
    inside, _ = decide_within(index, origin, rows, radius_miles * METRES_PER_MILE)
    mask = np.zeros(len(rows), dtype=bool)
    mask[np.searchsorted(rows, inside)] = True
    return mask


def _resolve(req: ShortlistRequest, i: int, max_radius_miles: float) -> Criteria:
    """Criteria of referral i; an error names the referral's position in the batch."""
    try:
        return resolve_criteria(req, max_radius_miles)
    except RequestError as exc:
        exc.details = [
            ErrorDetail(f"referrals.{i}.{d.field}", d.reason, d.extra) for d in exc.details
        ]
        raise


def _one(
    index: RegistryIndex, req: ShortlistRequest, c: Criteria, group: _Candidates
) -> ReferralSupply:
    all_bits = reason_bits(index, group.rows, c)
    eligible = all_bits == 0
    counts = tuple(int(np.count_nonzero(w & eligible)) for w in group.within)
    near = nearest(index, group.origin, group.rows[eligible], group.planar[eligible], 1)
    nearest_miles = round(near[0][0] / METRES_PER_MILE, 3) if near else None
    first = group.rows[group.within[0]]
    bits = all_bits[group.within[0]]
    binding = None
    if len(bits):
        per_bit = np.unpackbits(bits.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
        failed = per_bit.sum(axis=0)[: len(REASONS_BY_BIT)]
        if failed.max() > 0:
            binding = REASONS_BY_BIT[int(np.argmax(failed))].value  # first of equals: stable
    in_area = bool(np.any(index.authority_positions[first[bits == 0]] == c.authority_position))
    only_needs = first[bits == _NEEDS_BIT]
    lacking = c.needs_mask & ~index.registry.needs_mask[only_needs].astype(np.int64)
    single = np.unique(lacking[(lacking != 0) & ((lacking & (lacking - 1)) == 0)])  # one need
    gaps = {NEEDS_BY_BIT[int(m).bit_length() - 1].value for m in single.tolist()}
    return ReferralSupply(
        referral_id=req.referral_id,
        authority_code=c.authority_code,
        dpv=c.dpv.value,
        lot=c.lot.value,
        age_band=age_band(c.age),
        needs=tuple(n.value for n in req.child.needs),
        eligible=counts,
        nearest_miles=nearest_miles,
        binding_constraint=binding,
        in_area=in_area,
        need_gaps=tuple(sorted(gaps)),
    )


def aggregate(supply: list[ReferralSupply], radii: list[float]) -> dict[str, Any]:
    """Aggregates by authority, DPV/lot, need and age band; need gaps; overall figures."""
    radii = sorted(radii)

    def summary(items: list[ReferralSupply]) -> dict[str, Any]:
        first = [s.eligible[0] for s in items]
        return {
            "referrals": len(items),
            "thin_market_share": round(sum(1 for e in first if e < THIN_BELOW) / len(items), 4),
            "median_eligible": float(statistics.median(first)),
            "in_area_share": round(sum(1 for s in items if s.in_area) / len(items), 4),
        }

    def by(key: Any) -> dict[str, Any]:
        buckets: dict[str, list[ReferralSupply]] = defaultdict(list)
        for s in supply:
            for k in key(s):
                buckets[k].append(s)
        return {k: summary(v) for k, v in sorted(buckets.items())}

    gaps = Counter(g for s in supply for g in s.need_gaps)
    return {
        "radii_miles": radii,
        "thin_market_threshold": THIN_BELOW,
        "overall": summary(supply),
        "by_authority": by(lambda s: [s.authority_code]),
        "by_dpv_lot": by(lambda s: [f"{s.dpv}/{s.lot}"]),
        "by_need": by(lambda s: list(s.needs) or ["none"]),
        "by_age_band": by(lambda s: [s.age_band]),
        "need_gaps": {need.value: gaps.get(need.value, 0) for need in NEEDS_BY_BIT},
        "binding_constraints": dict(
            sorted(Counter(s.binding_constraint or "none" for s in supply).items())
        ),
    }


def referral_json(s: ReferralSupply, radii: list[float]) -> dict[str, Any]:
    """One referral's row of the answer."""
    return {
        "referral_id": s.referral_id,
        "placing_authority": s.authority_code,
        "dpv": s.dpv,
        "lot": s.lot,
        "age_band": s.age_band,
        "eligible": {f"{r:g}": n for r, n in zip(sorted(radii), s.eligible, strict=True)},
        "nearest_eligible_miles": s.nearest_miles,
        "binding_constraint": s.binding_constraint,
        "in_area_possible": s.in_area,
        "need_gaps": list(s.need_gaps),
    }


def sufficiency_answer(
    index: RegistryIndex,
    snapshot_version: str,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_referrals: int,
    max_radius_miles: float,
) -> dict[str, Any]:
    """The whole answer: aggregates first, then one row per referral (input order)."""
    if len(requests) > max_referrals:
        raise LimitExceededError(
            f"too many referrals: {len(requests)} > {max_referrals}",
            field="referrals",
            limit=max_referrals,
        )
    radii = sorted(set(radii_miles))
    supply = analyse(index, requests, radii, max_radius_miles)
    return {
        "snapshot_version": snapshot_version,
        "aggregates": aggregate(supply, radii),
        "referrals": [referral_json(s, radii) for s in supply],
    }
