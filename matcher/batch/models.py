"""Request and response bodies for the batch capabilities: block allocation and sufficiency.

Requests are validated like the single-referral ones (`extra="forbid"`, frozen); responses
are what `Matcher.allocate` and `Matcher.sufficiency` return, so the CLI and the HTTP layer
serialise the same models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from matcher.bids.request import RankRequest, Weights
from matcher.bids.response import RankedBidOut, RejectedBidOut, WeightsOut
from matcher.match.request import ShortlistRequest
from matcher.vocabulary.money import MoneyStr

Objective = Literal["min_cost", "max_match"]
UnplacedReason = Literal["no_valid_bid", "lost_to_capacity", "over_budget"]
MeasureOut = Literal["children_placed", "total_cost_gbp", "total_score"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- block allocation -------------------------------------------------------------------


class AllocateRequest(_Body):
    """Several referrals (each a child or a sibling group) and their bids, placed together."""

    referrals: Annotated[
        list[RankRequest],
        Field(
            min_length=1,
            max_length=5_000,
            description="Each referral with its bids; `sibling_group_size` children stay "
            "together. A referral's own order_by/profile/weights are ignored: the batch's "
            "`profile`/`weights` score every bid, so scores are comparable across referrals.",
        ),
    ]
    objective: Annotated[
        Objective,
        Field(
            description="min_cost: least summed expected total cost; max_match: greatest "
            "summed best-match score. Either way, placing more referrals comes first."
        ),
    ] = "min_cost"
    budget_gbp: Annotated[
        MoneyStr | None,
        Field(description="Optional cap on the summed expected total cost of the placements."),
    ] = None
    profile: Annotated[str, Field(max_length=32)] | None = None
    weights: Weights | None = None


class AssignmentOut(_Out):
    """One referral placed with one bid (a sibling group: all its children, one listing)."""

    referral_id: str
    children: int
    bid: Annotated[RankedBidOut, Field(description="As `rank` reports it (rank: best match).")]
    rejected: list[RejectedBidOut]


class PlanOut(_Out):
    """A set of assignments and what it achieves."""

    placed: int
    children_placed: int
    total_cost_gbp: str
    total_score: float
    objective_value: Annotated[
        float,
        Field(description="min_cost: total cost in GBP (exactly: total_cost_gbp); "
                          "max_match: total score."),
    ]  # fmt: skip
    assignments: list[AssignmentOut]
    unplaced_referral_ids: list[str]


class UnplacedOut(_Out):
    """A referral the optimal plan leaves without a placement, and why."""

    referral_id: str
    reason: UnplacedReason
    taken_by: Annotated[
        list[str],
        Field(description="lost_to_capacity: the referrals placed in its bids' listings."),
    ] = []
    cheapest_fitting_cost_gbp: Annotated[
        str | None,
        Field(description="over_budget: its cheapest valid bid on a listing with room."),
    ] = None
    budget_left_gbp: Annotated[
        str | None, Field(description="over_budget: the budget the optimal plan leaves.")
    ] = None
    rejected: list[RejectedBidOut]


class GainOut(_Out):
    """Optimal minus greedy: what planning the referrals together gains."""

    placed: int
    children_placed: int
    cost_saved_gbp: Annotated[
        str, Field(description="Greedy total cost minus optimal (negative if it places more).")
    ]
    score_gained: float


class StageOut(_Out):
    """One stage of the lexicographic programme: what the plan reaches and what is proven."""

    measure: Annotated[
        MeasureOut,
        Field(description="children_placed (stage 1), then the objective's measure, then "
                          "the other: total_cost_gbp (GBP) or total_score."),
    ]  # fmt: skip
    goal: Literal["max", "min"]
    status: Annotated[
        Literal["optimal", "time_limit", "not_run"],
        Field(description="optimal: proven best (given the earlier stages); time_limit: "
                          "the time limit stopped this stage, value is the best found; "
                          "not_run: an earlier stage stopped, this measure was not optimised."),
    ]  # fmt: skip
    value: Annotated[float, Field(description="The plan's value of the measure.")]
    bound: Annotated[
        float | None,
        Field(description="The best value any plan could reach, as proven by the solver "
                          "(equal to value when optimal); null: nothing proven."),
    ]  # fmt: skip
    gap: Annotated[
        float | None,
        Field(description="|bound - value| / |value|, rounded up: 0 when optimal; null "
                          "when nothing is proven (or value is 0 and bound is not)."),
    ]  # fmt: skip


class SolverOut(_Out):
    """How the plan was solved, and what is guaranteed about it."""

    status: Annotated[
        Literal["optimal", "time_limit"],
        Field(description="optimal: every stage proven; time_limit: the request's time "
                          "limit stopped a stage, and `optimal` is the best plan found."),
    ]  # fmt: skip
    time_limit_s: Annotated[
        float | None,
        Field(description="The request's wall-clock limit (ranking the bids and every "
                          "stage); null: unbounded (in-process use)."),
    ]  # fmt: skip
    stopped_in: Annotated[
        MeasureOut | None, Field(description="The stage the time limit stopped (null: none).")
    ] = None
    stages: list[StageOut]
    guarantee: Annotated[str, Field(description="The stages in words, for an officer.")]


class AllocateResponse(_Out):
    """The optimal plan, the unplaced with reasons, and the greedy plan beside it."""

    decision_id: str
    snapshot_version: str
    contract_terms_version: str
    objective: Objective
    budget_gbp: str | None
    weights: WeightsOut
    method: str
    solver: SolverOut
    referrals: int
    valid_bids: int
    optimal: Annotated[
        PlanOut,
        Field(description="The plan: optimal when solver.status is optimal, else the best "
                          "found within the time limit (see solver.stages)."),
    ]  # fmt: skip
    unplaced: list[UnplacedOut]
    greedy: PlanOut
    gain: GainOut


# --- sufficiency ------------------------------------------------------------------------

Radius = Annotated[float, Strict(), Field(gt=0, le=200, allow_inf_nan=False)]


class SufficiencyRequest(_Body):
    """A batch of referrals to turn into evidence of where supply is missing."""

    referrals: Annotated[list[ShortlistRequest], Field(min_length=1, max_length=100_000)]
    radii_miles: Annotated[
        list[Radius],
        Field(
            min_length=1,
            max_length=5,
            description="Radii to count eligible listings at; the smallest is the "
            "thin-market radius (20 miles by default). Each referral's own "
            "max_distance_miles is not used.",
        ),
    ] = [20.0, 50.0]


class ReferralSupplyOut(_Out):
    """What one referral finds (see `matcher.sufficiency` for the definitions)."""

    # The docstring above is published in the OpenAPI document, which is kept byte for byte
    # (tests/golden/openapi.json): the definitions are in `matcher.batch.sufficiency`.

    referral_id: str
    placing_authority: str
    dpv: str
    lot: str
    age_band: str
    needs: list[str]
    eligible: Annotated[dict[str, int], Field(description="Radius in miles -> eligible count.")]
    candidates: Annotated[
        int, Field(description="Listings of the DPV and lot within the smallest radius.")
    ]
    nearest_eligible_miles: Annotated[
        float | None, Field(description="Geodesic; null: none within the largest radius.")
    ]
    binding_constraint: Annotated[
        str | None,
        Field(description="Reason failed by most candidates; too_far: no candidates; "
                          "null: every candidate eligible."),
    ]  # fmt: skip
    binding_constraint_excluded: int
    thin_market: bool
    in_area_possible: bool
    need_gaps: list[str]


class GroupOut(_Out):
    """One bucket of an aggregation."""

    name: str | None = None
    referrals: int
    thin_market_share: float
    median_eligible: float
    in_area_share: float


class NeedGapOut(_Out):
    """How many referrals one more provider of a need nearby would give an option."""

    referrals: int
    thin_market_referrals: int


class AggregatesOut(_Out):
    """The batch aggregated; every share is of the bucket's referrals."""

    radii_miles: list[float]
    thin_market_radius_miles: float
    thin_market_threshold: int
    overall: GroupOut
    by_authority: dict[str, GroupOut]
    by_dpv_lot: dict[str, GroupOut]
    by_need: dict[str, GroupOut]
    by_age_band: dict[str, GroupOut]
    need_gaps: dict[str, NeedGapOut]
    binding_constraints: dict[str, int]


class SufficiencyResponse(_Out):
    """Aggregates first, then one row per referral in input order."""

    decision_id: str
    snapshot_version: str
    aggregates: AggregatesOut
    referrals: list[ReferralSupplyOut]
