"""Market feedback: over a period of referrals and their bids, why each listing was left out
or lost, and which single change would have changed the most referrals.

Definitions (each per listing; a provider's figures are its listings' summed):

- *in scope*: a referral on the listing's DPV with the listing within its radius (geodesic,
  as `shortlist` measures it); *eligible*: in scope and meeting every criterion (the
  listing `shortlist` would return, whatever its limit); *excluded*: in scope, not eligible,
  counted under each reason it failed; a *near miss*: excluded by exactly one reason.
- *bids*: bids naming the listing. Each is ranked as `rank` ranks its referral and carries
  the same feedback (`matcher.bids.feedback`): won (rank 1), lost on price, on match or by
  the tie rule, or rejected with reasons. Price gaps are the feedback's (0.1%); medians
  over the bids lost on price, and over every lost bid; `lost_most_on` counts each
  best-match loss under its first component (where it lost most).
- *changes*, each a single change to one listing with all else equal: `lower_fee`, the
  referrals it lost and would have won at the fee its feedback names (effect `won`; a bid
  rejected for its fee above the ceiling is counted under `above_ceiling`, its what-if
  ranking at the ceiling is left to the per-referral feedback); `one_more_vacancy`, the
  referrals it missed by its vacancies alone, one short (effect `eligible`: the referral
  would have reached it);
  `support_need`, per need, the referrals it missed only by lacking that one need (effect
  `eligible`). Its `best_change` has the most referrals (ties: the order just given).
- *market* (the commissioner's view; left out when one provider is asked for, since it
  covers every provider's bids): the counts summed over every listing (and bids naming
  unknown listings), referrals with no valid bid and with no eligible listing, per kind of
  change the listings that could make it and the distinct referrals it would have changed,
  and the single changes at one listing that would have changed the most referrals.

Every figure equals what `rank` (with feedback) and `shortlist` give one referral at a time
(`tests/test_market_feedback.py`). Speed: each referral is ranked as `rank` does; the fee
searches of every bid in the batch run as one vectorised search; the listings in scope and
their reasons are counted in `matcher.batch.market_scope`.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from matcher.batch.deadline import Deadline
from matcher.batch.market_models import (
    ChangeOut,
    ListingFeedbackOut,
    MarketChangeOut,
    MarketFeedbackRequest,
    MarketFeedbackResponse,
    MarketOut,
    ProviderFeedbackOut,
    SingleChangeOut,
    StatsOut,
)
from matcher.batch.market_scope import CHECK_EVERY, Counts, Scope, counts_of, scope_of
from matcher.bids.contract_terms import TermsBook
from matcher.bids.fee_search import FeeCut, search_cuts
from matcher.bids.feedback import FEEDBACK_VERSION, FeedbackJob, Loss, loss
from matcher.bids.request import RankRequest
from matcher.registry.index import RegistryIndex
from matcher.registry.loader import collector_paused
from matcher.vocabulary import errors
from matcher.vocabulary.audit import canonical_json
from matcher.vocabulary.catalogue import NEEDS_BY_BIT, Dpv
from matcher.vocabulary.feedback_codes import Change, Effect, LostOn
from matcher.vocabulary.reasons import REASON_BIT, Reason

METHOD = "market-feedback-1"
MAX_TOTAL_BIDS = 300_000
BEST_SINGLE_CHANGES = 20
_NEEDS_BIT = REASON_BIT[Reason.NEEDS_NOT_MET]
_VACANCY_BIT = REASON_BIT[Reason.NO_VACANCY]
_DPVS = tuple(Dpv)
_CHANGE_ORDER = {c: i for i, c in enumerate(Change)}
_REASON_CODES = tuple(r.value for r in Reason)
_LOST_ON = tuple(k.value for k in LostOn)

Rows = npt.NDArray[np.intp]


class _Snapshot(Protocol):
    @property
    def index(self) -> RegistryIndex: ...

    @property
    def version(self) -> str: ...


class _Limits(Protocol):
    @property
    def max_batch_referrals(self) -> int: ...


class FeedbackRanker(Protocol):
    """What the market feedback needs of the service (`matcher.service.Matcher` is one):
    each referral ranked exactly as `rank` ranks it, ready for its feedback."""

    @property
    def snapshot(self) -> _Snapshot: ...

    @property
    def limits(self) -> _Limits: ...

    @property
    def terms(self) -> TermsBook: ...

    def feedback_job(self, req: RankRequest, what_if: bool = True) -> FeedbackJob:
        """One referral ranked, with what its feedback needs."""
        ...


@dataclass(slots=True)
class _Tally:
    """One listing's bids over the batch."""

    bids: int = 0
    ranked: int = 0
    won: int = 0
    lost: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    gaps_on_price: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    lost_most_on: Counter[str] = field(default_factory=Counter)
    fee_cuts: list[float] = field(default_factory=list)  # one per referral a lower fee wins
    fee_referrals: set[int] = field(default_factory=set)

    def add(self, other: _Tally) -> None:
        """Sum another tally into this one."""
        self.bids += other.bids
        self.ranked += other.ranked
        self.won += other.won
        self.lost += other.lost
        self.rejected += other.rejected
        self.rejected_by_reason += other.rejected_by_reason
        self.gaps_on_price += other.gaps_on_price
        self.gaps += other.gaps
        self.lost_most_on += other.lost_most_on
        self.fee_cuts += other.fee_cuts
        self.fee_referrals |= other.fee_referrals


def market_feedback(
    ranker: FeedbackRanker, req: MarketFeedbackRequest, deadline: Deadline | None = None
) -> MarketFeedbackResponse:
    """The whole answer (see the module docstring for the definitions). `deadline`: checked
    every `CHECK_EVERY` referrals ranked or scoped, and between the stages."""
    # Every referral's ranking and feedback stays alive to the end and forms no cycle.
    with collector_paused():
        return _market_feedback(ranker, req, deadline or Deadline.start(math.inf, "market"))


def _market_feedback(
    ranker: FeedbackRanker, req: MarketFeedbackRequest, deadline: Deadline
) -> MarketFeedbackResponse:
    index = ranker.snapshot.index
    reg = index.registry
    only = _provider_rows(index, req.provider_id)
    _check_limits(req, ranker.limits.max_batch_referrals)
    jobs = []
    for i, r in enumerate(req.requests):
        if i % CHECK_EVERY == 0:
            deadline.check("ranking bids", f"{i} of {len(req.requests)} referrals ranked")
        jobs.append(_job(ranker, r, i))
    deadline.check("searching the fees that would have won")
    cuts = search_cuts([job.problems[0] for job in jobs])  # no what-ifs: one problem each
    mask = None
    if only is not None:
        mask = np.zeros(reg.size, dtype=bool)
        mask[only] = True
    scope = scope_of(index, jobs, mask, deadline)
    deadline.check("counting")
    tallies, unknown = _tally(index, jobs, cuts, mask)
    listings = _listing_rows(scope, tallies, only)
    providers = _providers(index, listings, scope, tallies)
    market = None
    if req.provider_id is None:
        market = _market(index, jobs, scope, tallies, unknown, listings)
    return MarketFeedbackResponse(
        decision_id=_decision_id(req, ranker.snapshot.version, ranker.terms.version),
        snapshot_version=ranker.snapshot.version,
        contract_terms_version=ranker.terms.version,
        feedback_version=FEEDBACK_VERSION,
        referrals=len(jobs),
        bids=sum(len(r.bids) for r in req.requests),
        provider_id=req.provider_id,
        providers=providers,
        market=market,
    )


def _provider_rows(index: RegistryIndex, provider_id: str | None) -> Rows | None:
    """The provider's listings (None: every provider); an unknown id is a 422."""
    if provider_id is None:
        return None
    ids = index.registry.provider_ids
    rows = np.flatnonzero(np.asarray(ids, dtype=object) == provider_id)
    if len(rows) == 0:
        raise errors.UnknownProviderError(
            f"no provider in the registry snapshot has the id {provider_id!r}",
            field="provider_id",
            suggestions=_suggestions(provider_id, sorted(set(ids))),
        )
    return rows


def _suggestions(query: str, known: list[str], n: int = 5) -> list[str]:
    """Provider ids close to `query`: the same id in another case first, then by
    similarity (difflib)."""
    folded = {k.casefold(): k for k in known}
    same = folded.get(query.strip().casefold())
    close = difflib.get_close_matches(query.strip().upper(), known, n=n, cutoff=0.6)
    return list(dict.fromkeys([same] if same else []) | dict.fromkeys(close))[:n]


def _check_limits(req: MarketFeedbackRequest, max_requests: int) -> None:
    if len(req.requests) > max_requests:
        raise errors.LimitExceededError(
            f"too many requests: {len(req.requests)} > {max_requests}",
            field="requests",
            limit=max_requests,
        )
    bids = sum(len(r.bids) for r in req.requests)
    if bids > MAX_TOTAL_BIDS:
        raise errors.LimitExceededError(
            f"too many bids in the batch: {bids} > {MAX_TOTAL_BIDS}",
            field="requests",
            limit=MAX_TOTAL_BIDS,
        )


def _job(ranker: FeedbackRanker, req: RankRequest, i: int) -> FeedbackJob:
    """Request i ranked; an error names its position (`requests.3.placing_authority`)."""
    try:
        return ranker.feedback_job(req, what_if=False)
    except errors.RequestError as exc:
        exc.details = [
            errors.ErrorDetail(f"requests.{i}.{d.field}", d.reason, d.extra) for d in exc.details
        ]
        raise


def _decision_id(req: MarketFeedbackRequest, snapshot_version: str, terms: str) -> str:
    """A stable hash of the requests (in order), the provider asked for, the snapshot, the
    contract terms and the method (each request hashed as its canonical JSON)."""
    head = {"snapshot_version": snapshot_version, "terms": terms, "method": METHOD,
            "feedback": FEEDBACK_VERSION, "provider_id": req.provider_id}  # fmt: skip
    digest = hashlib.sha256(canonical_json(head).encode())
    for r in req.requests:
        digest.update(r.model_dump_json().encode())
        digest.update(b"\n")
    return "dec_" + digest.hexdigest()[:20]


def _tally(
    index: RegistryIndex, jobs: list[FeedbackJob], cuts: list[list[FeeCut]], only: Any
) -> tuple[dict[int, _Tally], _Tally]:
    """Every bid's outcome, per listing row (and the bids naming unknown listings), from
    the same `loss` the bid's own feedback reports."""
    reg = index.registry
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    unknown = _Tally()
    for i, (job, job_cuts) in enumerate(zip(jobs, cuts, strict=True)):
        for pos, r in enumerate(job.ranked):
            if only is not None and not only[r.row]:
                continue
            t = tallies[r.row]
            t.bids += 1
            t.ranked += 1
            if pos == 0:
                t.won += 1
            else:
                _count_loss(t, loss(job, pos, job_cuts[pos - 1]), i)
        for rej in job.rejected:
            row = reg.row_of(rej.bid.listing_id)
            if only is not None and (row is None or not only[row]):
                continue
            t = unknown if row is None else tallies[row]
            t.bids += 1
            t.rejected += 1
            t.rejected_by_reason.update(rej.reasons)
    return tallies, unknown


def _count_loss(t: _Tally, lost: Loss, referral: int) -> None:
    t.lost[lost.lost_on.value] += 1
    t.gaps.append(lost.gap)
    if lost.lost_on is LostOn.PRICE:
        t.gaps_on_price.append(lost.gap)
    if lost.shortfalls:
        t.lost_most_on[lost.shortfalls[0][2]] += 1
    if lost.fee["possible"]:
        t.fee_cuts.append(lost.fee["fee_cut_percent"])
        t.fee_referrals.add(referral)


def _listing_rows(scope: Scope, tallies: dict[int, _Tally], only: Rows | None) -> list[int]:
    """The listings reported: every listing of the provider asked for; otherwise those in
    scope of a referral or named by a bid."""
    if only is not None:
        return sorted(int(r) for r in only)
    active = set(np.flatnonzero(scope.in_scope).tolist()) | set(tallies)
    return sorted(active)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _stats(c: Counts, t: _Tally) -> StatsOut:
    """The published counts of one listing (or of a sum of listings)."""
    return StatsOut.model_construct(
        referrals_in_scope=c.in_scope,
        eligible=c.eligible,
        excluded=c.in_scope - c.eligible,
        excluded_by_reason=_in_reason_order(c.by_reason),
        near_misses=_in_reason_order(c.near),
        bids=t.bids,
        ranked=t.ranked,
        won=t.won,
        lost={k: t.lost[k] for k in _LOST_ON if t.lost.get(k)},
        rejected=t.rejected,
        rejected_by_reason=dict(sorted(t.rejected_by_reason.items())),
        median_price_gap_percent_lost_on_price=_median(t.gaps_on_price),
        median_price_gap_percent_lost=_median(t.gaps),
        lost_most_on=dict(sorted(t.lost_most_on.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _in_reason_order(counts: Counter[str]) -> dict[str, int]:
    return {r: counts[r] for r in _REASON_CODES if counts.get(r)}


def _changes(row: int, scope: Scope, tally: _Tally | None) -> list[ChangeOut]:
    """The listing's single changes with at least one referral, most referrals first."""
    out: list[ChangeOut] = []
    if tally is not None and tally.fee_referrals:
        out.append(ChangeOut(change=Change.LOWER_FEE, effect=Effect.WON,
                             referrals=len(tally.fee_referrals),
                             median_fee_cut_percent=_median(tally.fee_cuts)))  # fmt: skip
    if scope.one_vacancy[row]:
        out.append(ChangeOut(change=Change.ONE_MORE_VACANCY, effect=Effect.ELIGIBLE,
                             referrals=int(scope.one_vacancy[row])))  # fmt: skip
    for k in np.flatnonzero(scope.one_need[row]).tolist():
        need = NEEDS_BY_BIT[k].value
        referrals = int(scope.one_need[row, k])
        out.append(ChangeOut(change=Change.SUPPORT_NEED, need=need, effect=Effect.ELIGIBLE,
                             referrals=referrals))  # fmt: skip
    return sorted(out, key=lambda c: -c.referrals)  # stable: the order above breaks ties


def _providers(
    index: RegistryIndex, rows: list[int], scope: Scope, tallies: dict[int, _Tally]
) -> list[ProviderFeedbackOut]:
    """Every provider with a reported listing, by id; its listings by id."""
    reg = index.registry
    counts = dict(zip(rows, counts_of(scope, rows), strict=True))
    by_provider: dict[str, list[int]] = defaultdict(list)
    for row in sorted(rows, key=reg.ids.__getitem__):
        by_provider[reg.provider_ids[row]].append(row)
    out = []
    empty = _Tally()
    for provider_id in sorted(by_provider):
        listings = []
        total_counts, total_tally = Counts(), _Tally()
        for row in by_provider[provider_id]:
            tally = tallies.get(row, empty)
            total_counts.add(counts[row])
            total_tally.add(tally)
            changes = _changes(row, scope, tally)
            listings.append(
                ListingFeedbackOut.model_construct(
                    listing_id=reg.ids[row],
                    name=reg.names[row],
                    dpv=_DPVS[int(reg.dpv[row])].value,
                    stats=_stats(counts[row], tally),
                    changes=changes,
                    best_change=changes[0] if changes else None,
                )
            )
        best = [x.best_change.model_copy(update={"listing_id": x.listing_id})
                for x in listings if x.best_change is not None]  # fmt: skip
        out.append(
            ProviderFeedbackOut.model_construct(
                provider_id=provider_id,
                provider_name=reg.provider_names[by_provider[provider_id][0]],
                stats=_stats(total_counts, total_tally),
                best_change=max(best, key=lambda c: c.referrals) if best else None,
                listings=listings,
            )
        )
    return out


def _market(
    index: RegistryIndex,
    jobs: list[FeedbackJob],
    scope: Scope,
    tallies: dict[int, _Tally],
    unknown: _Tally,
    rows: list[int],
) -> MarketOut:
    reg = index.registry
    without_bid = {i for i, job in enumerate(jobs) if not job.ranked}
    fee_referrals: set[int] = set()
    for t in tallies.values():
        fee_referrals |= t.fee_referrals
    kinds = [
        (Change.LOWER_FEE, None, Effect.WON,
         sum(1 for t in tallies.values() if t.fee_referrals), fee_referrals),
        (Change.ONE_MORE_VACANCY, None, Effect.ELIGIBLE, scope.vacancy_listings,
         scope.vacancy_referrals),
        *[(Change.SUPPORT_NEED, NEEDS_BY_BIT[k].value, Effect.ELIGIBLE, scope.need_listings[k],
           refs) for k, refs in sorted(scope.need_referrals.items())],
    ]  # fmt: skip
    changes = [
        MarketChangeOut(change=change, need=need, effect=effect, listings=listings,
                        referrals=len(refs), referrals_without_valid_bid=len(refs & without_bid))
        for change, need, effect, listings, refs in kinds
        if refs
    ]  # fmt: skip
    singles = [
        SingleChangeOut(provider_id=reg.provider_ids[row], listing_id=reg.ids[row],
                        change=c.change, need=c.need, effect=c.effect, referrals=c.referrals)
        for row in rows
        for c in _changes(row, scope, tallies.get(row))
    ]  # fmt: skip
    singles.sort(key=lambda s: (-s.referrals, _CHANGE_ORDER[Change(s.change)], s.listing_id))
    total_counts, total_tally = Counts(), _Tally()
    for c in counts_of(scope, rows):
        total_counts.add(c)
    for t in (*tallies.values(), unknown):
        total_tally.add(t)
    return MarketOut(
        stats=_stats(total_counts, total_tally),
        referrals_without_valid_bid=len(without_bid),
        referrals_without_eligible_listing=scope.without_eligible,
        changes=sorted(changes, key=lambda c: -c.referrals),
        best_single_changes=singles[:BEST_SINGLE_CHANGES],
    )
