"""Market feedback, the listing side: which listings each referral had in scope, and why
those that were not eligible were not.

A listing is *in scope* of a referral when it is on the referral's DPV and within its radius
(geodesic, as `shortlist` measures it); it is *eligible* when it also meets every criterion
(`matcher.match.eligibility.reason_bits` is zero: what `shortlist` would return); otherwise it
is excluded by each reason it fails, and a *near miss* when exactly one. A near miss by
vacancies one short, or by one missing need, is a change the listing could make. Listings
within a radius are found once per (origin, radius, DPV) of the batch; each referral's
reasons are computed for them as numpy columns and counted per registry row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.batch.deadline import Deadline
from matcher.bids.feedback import FeedbackJob
from matcher.match.eligibility import reason_bits
from matcher.match.radius import OriginPoint, rows_within
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import DPV_CODE, NEEDS_BY_BIT
from matcher.vocabulary.reasons import REASON_BIT, Reason

CHECK_EVERY = 200  # referrals between two looks at the deadline (~0.1 s of work)
_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]
_VACANCY_BIT = REASON_BIT[Reason.NO_VACANCY]

Rows = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Scope:
    """Per registry row: referrals in scope, eligible, excluded by reason, near misses, and
    the near misses one vacancy short or missing one need (rows x needs)."""

    in_scope: npt.NDArray[np.int64]
    eligible: npt.NDArray[np.int64]
    by_reason: dict[str, npt.NDArray[np.int64]]
    near: dict[str, npt.NDArray[np.int64]]
    one_vacancy: npt.NDArray[np.int64]
    one_need: npt.NDArray[np.int64]  # (rows, needs)
    vacancy_referrals: set[int]
    need_referrals: dict[int, set[int]]
    vacancy_listings: int
    need_listings: dict[int, int]
    without_eligible: int


def scope_of(index: RegistryIndex, jobs: list[FeedbackJob], only: Any, deadline: Deadline) -> Scope:
    """Every referral's in-scope listings and their reasons, counted per registry row."""
    reg = index.registry
    within: dict[tuple[float, float, float, int], Rows] = {}
    parts: list[tuple[Rows, Any, Any, Any]] = []
    for i, job in enumerate(jobs):
        if i % CHECK_EVERY == 0:
            deadline.check("finding listings in scope", f"{i} of {len(jobs)} referrals")
        c = job.criteria
        key = (c.origin.lat, c.origin.lon, c.max_distance_m, DPV_CODE[c.dpv])
        rows = within.get(key)
        if rows is None:
            found, _ = rows_within(index, OriginPoint.of(c.origin.lat, c.origin.lon),
                                   c.max_distance_m)  # fmt: skip
            rows = found[reg.dpv[found] == DPV_CODE[c.dpv]]
            if only is not None:
                rows = rows[only[rows]]
            within[key] = rows
        bits = reason_bits(index, rows, c)
        missing = c.needs_mask & ~reg.needs_mask[rows].astype(np.int64)
        short = c.sibling_group_size - reg.vacancies[rows].astype(np.int64)
        parts.append((rows, bits, missing, short))
    n = reg.size
    rows = np.concatenate([p[0] for p in parts])
    failed_bits = np.concatenate([p[1] for p in parts]).astype(np.int64)
    missing = np.concatenate([p[2] for p in parts])
    short = np.concatenate([p[3] for p in parts])
    ref = np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts])

    def count(keep: Any) -> npt.NDArray[np.int64]:
        return np.bincount(rows[keep], minlength=n).astype(np.int64)

    by_reason, near = {}, {}
    for reason, bit in REASON_BIT.items():
        failed = (failed_bits & bit) != 0
        if failed.any():
            by_reason[reason.value] = count(failed)
            only_this = failed_bits == bit
            if only_this.any():
                near[reason.value] = count(only_this)
    vacancy = (failed_bits == _VACANCY_BIT) & (short == 1)
    one_need = np.zeros((n, len(NEEDS_BY_BIT)), dtype=np.int64)
    need_referrals: dict[int, set[int]] = {}
    need_listings: dict[int, int] = {}
    lone = (failed_bits == _NEEDS_BIT) & (missing > 0) & ((missing & (missing - 1)) == 0)
    for k in range(len(NEEDS_BY_BIT)):
        hit = lone & (missing == (1 << k))
        if hit.any():
            one_need[:, k] = count(hit)
            need_referrals[k] = set(np.unique(ref[hit]).tolist())
            need_listings[k] = len(np.unique(rows[hit]))
    eligible_per_ref = np.bincount(ref[failed_bits == 0], minlength=len(parts))
    return Scope(
        in_scope=count(slice(None)),
        eligible=count(failed_bits == 0),
        by_reason=by_reason,
        near=near,
        one_vacancy=count(vacancy),
        one_need=one_need,
        vacancy_referrals=set(np.unique(ref[vacancy]).tolist()),
        need_referrals=need_referrals,
        vacancy_listings=len(np.unique(rows[vacancy])),
        need_listings=need_listings,
        without_eligible=int(np.count_nonzero(eligible_per_ref == 0)),
    )


@dataclass(slots=True)
class Counts:
    """Referrals in scope, eligible, excluded by reason and near misses (one listing's, or
    summed)."""

    in_scope: int = 0
    eligible: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    near: Counter[str] = field(default_factory=Counter)

    def add(self, other: Counts) -> None:
        """Sum another listing's counts into these."""
        self.in_scope += other.in_scope
        self.eligible += other.eligible
        self.by_reason += other.by_reason
        self.near += other.near


def counts_of(scope: Scope, rows: list[int]) -> list[Counts]:
    """Each row's scope counts (one gather per column, not one per row and column)."""
    at = np.array(rows, dtype=np.intp)
    reasons, near = list(scope.by_reason), list(scope.near)
    by_reason = (np.vstack([scope.by_reason[r][at] for r in reasons]).T.tolist()
                 if reasons else [[] for _ in rows])  # fmt: skip
    by_near = (np.vstack([scope.near[r][at] for r in near]).T.tolist()
               if near else [[] for _ in rows])  # fmt: skip
    return [
        Counts(in_scope, eligible,
                Counter({k: v for k, v in zip(reasons, excl, strict=True) if v}),
                Counter({k: v for k, v in zip(near, only, strict=True) if v}))
        for in_scope, eligible, excl, only in zip(
            scope.in_scope[at].tolist(), scope.eligible[at].tolist(), by_reason, by_near,
            strict=True)
    ]  # fmt: skip
