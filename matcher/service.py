"""The matcher facade: request model in, response model out. No web framework here.

The CLI and the HTTP layer both call these functions with the same pydantic request and
serialise the same response model, which is what makes their answers identical. A
`Snapshot` is immutable; reloading builds a new one and swaps the reference, so a request
that started on the old snapshot finishes on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from matcher.bids.contract_terms import ContractTerms, TermsBook, terms_book
from matcher.bids.fee_search import compile_search
from matcher.bids.feedback import FEEDBACK_VERSION, FeedbackJob, bid_feedback, prepare
from matcher.bids.ranking import RankedBid, RankOptions, RejectedBid, rank_bids
from matcher.bids.request import CompareRequest, RankRequest, WeightChoice
from matcher.bids.response import CompareResponse, RankResponse, rank_body
from matcher.bids.weights import ResolvedWeights, resolve_weights
from matcher.match.criteria import Criteria
from matcher.match.eligibility import compile_row_facts
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.match.response import ShortlistResponse, shortlist_body
from matcher.match.shortlist import shortlist
from matcher.registry.columns import Registry
from matcher.registry.demo import generate
from matcher.registry.index import DEFAULT_BACKEND, RegistryIndex
from matcher.registry.loader import load_registry, return_freed_memory
from matcher.registry.policy import Policy
from matcher.vocabulary import errors
from matcher.vocabulary.audit import decision_id

if TYPE_CHECKING:  # batch work (scipy's MILP) is imported only when a batch request comes
    from matcher.batch.allocation import Allocation
    from matcher.batch.market_models import MarketFeedbackRequest, MarketFeedbackResponse
    from matcher.batch.models import AllocateRequest, SufficiencyResponse

DEFAULT_LISTINGS = 5000
DEFAULT_SEED = 2019
EMBEDDED_SOURCE = f"embedded:demo-registry(listings={DEFAULT_LISTINGS},seed={DEFAULT_SEED})"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as JSON-ready data (its response model's fields, in order) and its bytes.

    The adapters send `json()`; it is byte for byte the response model's
    `model_dump_json()` (tested), without building a model object per listing or bid.
    `body`'s lists keep their lengths and its counts are plain, but a shortlist's listings
    and a ranking's ranked bids are already-written JSON (`orjson.Fragment`): read the
    answer's content with `data()`.
    """

    body: dict[str, Any]

    def json(self) -> bytes:
        """The answer's JSON document."""
        return orjson.dumps(self.body)

    def data(self) -> dict[str, Any]:
        """The answer as plain JSON data (the document parsed back)."""
        parsed: dict[str, Any] = orjson.loads(self.json())
        return parsed


@dataclass(frozen=True)
class Limits:
    """Request limits (from settings); batch time limits are wall-clock seconds per request."""

    max_radius_miles: float = 200.0
    max_bids: int = 200
    max_batch_referrals: int = 20_000
    max_allocation_referrals: int = 500
    allocation_time_limit_s: float = 10.0
    sufficiency_time_limit_s: float = 60.0
    market_feedback_time_limit_s: float = 60.0


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A loaded, indexed registry and where it came from."""

    index: RegistryIndex
    source: str
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def version(self) -> str:
        """The snapshot's content hash."""
        return self.index.registry.version


def load_snapshot(
    path: Path | None,
    policy: Policy | None = None,
    backend: str = DEFAULT_BACKEND,
    cache_dir: Path | None = None,
    helper: bool = True,
) -> Snapshot:
    """Load and index a snapshot file, or the embedded default registry when `path` is None.

    `cache_dir`: where validated registries are kept for the next process (see
    `matcher.registry.cache`); None validates the file every time. `helper`: a large file
    is decoded on two processes (`matcher.registry.helper`).
    """
    registry: Registry
    if path is None:
        registry = generate(DEFAULT_LISTINGS, DEFAULT_SEED)
        source = EMBEDDED_SOURCE
    else:
        registry = load_registry(path, cache_dir, helper)
        source = str(path)
    _ = registry.version
    index = RegistryIndex.build(registry, policy, backend)
    _ = index.authority_positions
    compile_row_facts(index)
    compile_search()
    return_freed_memory()  # what building the index allocated for a while
    return Snapshot(index=index, source=source)


@dataclass(frozen=True, slots=True)
class _Ranking:
    """One referral's bids validated, priced and ordered, with what produced the order."""

    criteria: Criteria
    weights: ResolvedWeights
    terms: ContractTerms
    options: RankOptions
    ranked: list[RankedBid]
    rejected: list[RejectedBid]


def _feedback_context(feedback: bool) -> dict[str, str]:
    """What a request's `feedback` adds to its decision id: nothing when false, so an answer
    without feedback keeps the id (and the bytes) it had before feedback existed."""
    return {"feedback": FEEDBACK_VERSION} if feedback else {}


@dataclass(frozen=True, eq=False)
class Matcher:
    """Answers requests against one snapshot with fixed limits and contract terms."""

    snapshot: Snapshot
    limits: Limits = Limits()
    terms: TermsBook = field(default_factory=terms_book)

    def shortlist(self, req: ShortlistRequest) -> ShortlistResponse:
        """Which listings should receive the referral, as the response model."""
        return ShortlistResponse.model_validate_json(self.shortlist_answer(req).json())

    def shortlist_answer(self, req: ShortlistRequest) -> Answer:
        """Which listings should receive the referral (see `matcher.match.shortlist`)."""
        index = self.snapshot.index
        criteria = resolve_criteria(req, self.limits.max_radius_miles)
        result = shortlist(index, criteria, req.limit, req.explain_limit if req.explain else 0)
        decision = decision_id(req, self.snapshot.version)
        body = shortlist_body(index, criteria, result, req.referral_id, decision, req.explain)
        return Answer(body)

    def rank(self, req: RankRequest, choice: WeightChoice | None = None) -> RankResponse:
        """The bids validated, priced and ordered, as the response model."""
        return RankResponse.model_validate_json(orjson.dumps(self._rank_body(req, choice)[0]))

    def rank_answer(self, req: RankRequest) -> Answer:
        """Validate, price and order the bids (see `matcher.bids.ranking`)."""
        return Answer(self._rank_body(req, None)[0])

    def feedback_job(self, req: RankRequest, what_if: bool = True) -> FeedbackJob:
        """One referral ranked exactly as `rank` ranks it, with what its feedback needs (the
        unit of work of `market_feedback`, which runs the fee searches of many at once)."""
        r = self._ranking(req, None, allow_no_bids=True)
        index = self.snapshot.index
        return prepare(index, r.criteria, r.ranked, r.rejected, r.terms, r.options, what_if)

    def _ranking(
        self, req: RankRequest, choice: WeightChoice | None, allow_no_bids: bool = False
    ) -> _Ranking:
        """The referral's bids ranked; `allow_no_bids`: a referral no provider bid for is
        still a referral (market feedback), where `rank` refuses it."""
        if len(req.bids) > self.limits.max_bids:
            raise errors.LimitExceededError(
                f"too many bids: {len(req.bids)} > {self.limits.max_bids}",
                field="bids",
                limit=self.limits.max_bids,
            )
        if not req.bids and not allow_no_bids:
            raise errors.RequestError("at least one bid is required", field="bids")
        profile = choice.profile if choice else req.profile
        overrides = choice.weights if choice else req.weights
        weights = resolve_weights(profile, overrides)
        index = self.snapshot.index
        criteria = resolve_criteria(req, self.limits.max_radius_miles)
        terms = self.terms.for_dpv(req.dpv)
        options = RankOptions(
            order_by="best_match" if choice else req.order_by,
            weights=weights,
            expected_duration_weeks=req.expected_duration_weeks,
            secondary_needs=list(req.child.secondary_needs),
            preferred_listing_ids=frozenset(req.preferred_listing_ids),
            start_tolerance_days=req.start_tolerance_days,
            tie_epsilon=req.tie_epsilon,
        )
        ranked, rejected = rank_bids(index, criteria, list(req.bids), terms, options)
        return _Ranking(criteria, weights, terms, options, ranked, rejected)

    def _rank_body(
        self, req: RankRequest, choice: WeightChoice | None
    ) -> tuple[dict[str, Any], list[str]]:
        """The rank answer's data, and its ranked bids' ids in rank order."""
        r = self._ranking(req, choice)
        index, weights, terms, options = self.snapshot.index, r.weights, r.terms, r.options
        ranked, rejected = r.ranked, r.rejected
        feedback = None
        if req.feedback:
            feedback = bid_feedback(index, r.criteria, ranked, rejected, terms, options)
        terms_version = self.terms.version
        decision = decision_id(
            req,
            self.snapshot.version,
            weights=weights.weights,
            profile=weights.profile,
            order_by=options.order_by,
            terms=terms_version,
            **_feedback_context(req.feedback),
        )
        head = {
            "referral_id": req.referral_id,
            "decision_id": decision,
            "snapshot_version": self.snapshot.version,
            "contract_terms_version": terms_version,
            "contract_terms": terms.as_dict(),
            "order_by": options.order_by,
        }
        body = rank_body(index, head, weights, options.tie_epsilon, ranked, rejected, feedback)
        return body, [bid.bid.bid_id for bid in ranked]

    def compare(self, req: CompareRequest) -> CompareResponse:
        """Both rankings, movements and Kendall's tau, as the response model."""
        return CompareResponse.model_validate_json(orjson.dumps(self._compare_body(req)))

    def compare_answer(self, req: CompareRequest) -> Answer:
        """Rank the same bids under two weight choices; movements and Kendall's tau."""
        return Answer(self._compare_body(req))

    def _compare_body(self, req: CompareRequest) -> dict[str, Any]:
        a, order_a = self._rank_body(req.request, req.a)
        b, order_b = self._rank_body(req.request, req.b)
        rank_b = {bid_id: rank for rank, bid_id in enumerate(order_b, start=1)}
        movements = [
            {"bid_id": bid_id, "rank_a": rank, "rank_b": rank_b[bid_id],
             "movement": rank - rank_b[bid_id]}
            for rank, bid_id in enumerate(order_a, start=1)
        ]  # fmt: skip
        tau: float | None = None
        if len(movements) >= 2:
            from scipy.stats import kendalltau  # a 1.2 s import: only when comparing

            stat = kendalltau([m["rank_a"] for m in movements], [m["rank_b"] for m in movements])
            tau = round(float(stat.statistic), 6)
        return {
            "referral_id": req.request.referral_id,
            "decision_id": decision_id(
                req,
                self.snapshot.version,
                terms=self.terms.version,
                **_feedback_context(req.request.feedback),
            ),
            "snapshot_version": self.snapshot.version,
            "a": a,
            "b": b,
            "movements": movements,
            "kendall_tau": tau,
        }

    def allocate(self, req: AllocateRequest, started: float | None = None) -> Allocation:
        """Place several referrals at once (see `matcher.batch.allocation`), within
        `allocation_time_limit_s` of `started` (a `time.monotonic()` reading; default now)."""
        from matcher.batch.allocation import allocate
        from matcher.batch.deadline import Deadline

        deadline = Deadline.start(self.limits.allocation_time_limit_s, "allocation", started)
        return allocate(self, req, self.limits.max_allocation_referrals, deadline=deadline)

    def sufficiency(
        self,
        requests: list[ShortlistRequest],
        radii_miles: list[float],
        started: float | None = None,
    ) -> SufficiencyResponse:
        """Supply over a batch of referrals (see `matcher.batch.sufficiency`), within
        `sufficiency_time_limit_s` of `started` (a `time.monotonic()` reading; default now)."""
        from matcher.batch.deadline import Deadline
        from matcher.batch.sufficiency_report import sufficiency_response

        deadline = Deadline.start(self.limits.sufficiency_time_limit_s, "sufficiency", started)
        return sufficiency_response(
            self.snapshot.index, self.snapshot.version, requests, radii_miles,
            self.limits.max_batch_referrals, self.limits.max_radius_miles, deadline,
        )  # fmt: skip

    def market_feedback(
        self, req: MarketFeedbackRequest, started: float | None = None
    ) -> MarketFeedbackResponse:
        """Provider feedback over many referrals (see `matcher.batch.market_feedback`), within
        `market_feedback_time_limit_s` of `started` (a `time.monotonic()` reading; default
        now)."""
        from matcher.batch.deadline import Deadline
        from matcher.batch.market_feedback import market_feedback

        limit = self.limits.market_feedback_time_limit_s
        return market_feedback(self, req, Deadline.start(limit, "market feedback", started))
