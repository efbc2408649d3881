"""The ranking answer (and the compare answer): response schemas built from ranked bids."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from matcher.bids.feedback_response import RankedFeedbackOut, RejectedFeedbackOut
from matcher.bids.pricing import ServiceLine
from matcher.bids.ranking import RankedBid, RejectedBid, component_matrices
from matcher.bids.weights import ResolvedWeights
from matcher.match.listing_json import RATING_JSON, listing_json
from matcher.match.response import miles_texts
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.money import format_pence, pence_texts
from matcher.vocabulary.rounding import float_texts, round_each


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscountOut(_Out):
    """A discount off the weekly core fee."""

    kind: str
    percent: str
    weekly_amount_gbp: str


class ServiceCostOut(_Out):
    """An additional service's cost over the weeks it is charged."""

    code: str
    unit: str
    rate_gbp: str
    units_per_week: str
    weeks_charged: int
    cost_gbp: str


class PriceOut(_Out):
    """The bid's price, each figure rounded half-up once from its exact value."""

    weekly_fee_gbp: str
    children: int
    gross_weekly_core_gbp: str
    discounts: list[DiscountOut]
    net_weekly_core_gbp: str
    additional_services: list[ServiceCostOut]
    additional_services_total_gbp: str
    expected_duration_weeks: int
    expected_total_cost_gbp: str
    average_weekly_cost_gbp: str
    ceiling_weekly_gbp: str
    headroom_weekly_gbp: Annotated[str, Field(description="Ceiling minus the weekly fee.")]


class ComponentOut(_Out):
    """One named part of the best-match score."""

    value: float
    weight: float
    contribution: float


class TieBreakOut(_Out):
    """Why a bid sits above bids that score higher: the cheapest-first tie rule."""

    moved_above: Annotated[
        list[str],
        Field(
            description="The bids (ids, in score order) placed below this one although each "
            "scores higher: this bid fully meets needs and is the cheapest that does within "
            "tie_epsilon of the best remaining score."
        ),
    ]


class RankedBidOut(_Out):
    """A valid bid in rank order, with why it sits there."""

    rank: int
    bid_id: str
    listing_id: str
    provider_id: str
    provider_name: str
    listing_name: str
    distance_miles: float
    in_area: bool
    ofsted_rating: str
    fully_meets_needs: bool
    price: PriceOut
    score: float
    components: dict[str, ComponentOut]
    tie_break: Annotated[
        TieBreakOut | None,
        Field(
            description="Best match only: set when the cheapest-first tie rule placed this bid "
            "above higher-scoring bids; null when it sits where its score (or price) puts it."
        ),
    ]
    feedback: Annotated[
        RankedFeedbackOut | None,
        Field(exclude_if=lambda v: v is None,
              description="For this bid's provider alone; absent with \"feedback\": false."),
    ] = None  # fmt: skip


class RejectedBidOut(_Out):
    """A bid that was not ranked, with every reason (feedback for the provider)."""

    bid_id: str
    listing_id: str
    reasons: list[str]
    details: dict[str, Any]
    feedback: Annotated[
        RejectedFeedbackOut | None,
        Field(exclude_if=lambda v: v is None,
              description="For this bid's provider alone; absent with \"feedback\": false."),
    ] = None  # fmt: skip


class WeightsOut(_Out):
    """The weights actually used, after the profile and any overrides."""

    profile: str
    weights: dict[str, float]


class RankResponse(_Out):
    """The answer to a rank request."""

    referral_id: str
    decision_id: str
    snapshot_version: str
    contract_terms_version: str
    contract_terms: dict[str, Any]
    order_by: str
    weights: WeightsOut
    tie_epsilon: float
    ranked: list[RankedBidOut]
    rejected: list[RejectedBidOut]


class MovementOut(_Out):
    """How one bid's rank differs between weight sets a and b."""

    bid_id: str
    rank_a: int
    rank_b: int
    movement: Annotated[int, Field(description="rank_a - rank_b: positive = moved up under b")]


class CompareResponse(_Out):
    """Two rankings of the same bids under two weight choices."""

    referral_id: str
    decision_id: str
    snapshot_version: str
    a: RankResponse
    b: RankResponse
    movements: list[MovementOut]
    kendall_tau: Annotated[
        float | None, Field(description="Rank correlation of a and b (None with < 2 bids).")
    ]


def rank_body(
    index: RegistryIndex,
    head: dict[str, Any],
    weights: ResolvedWeights,
    tie_epsilon: float,
    ranked: list[RankedBid],
    rejected: list[RejectedBid],
    feedback: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The answer as JSON-ready data for orjson, fields in the order of `RankResponse`.

    `head` holds the fields before `weights` (referral_id ... order_by). The ranked bids
    are `orjson.Fragment`s (each bid's JSON text, see `ranked_entries`), so `orjson.dumps`
    of it is exactly `RankResponse`'s `model_dump_json()` (tested).
    `feedback`: each ranked (rank order) and rejected bid's feedback, added last.
    """
    names = list(weights.weights)
    weight_values = [float(w) for w in weights.weights.values()]
    ranked_notes, rejected_notes = feedback if feedback is not None else (None, None)
    rejected_entries = [rejected_out(r) for r in rejected]
    if rejected_notes is not None:
        for entry, note in zip(rejected_entries, rejected_notes, strict=True):
            entry["feedback"] = note
    return {
        **head,
        "weights": {
            "profile": weights.profile,
            "weights": dict(zip(names, weight_values, strict=True)),
        },
        "tie_epsilon": float(tie_epsilon),
        "ranked": ranked_entries(index, ranked, names, weight_values, ranked_notes),
        "rejected": rejected_entries,
    }


_RANKED = (
    b'{"rank":%d,"bid_id":%b,"listing_id":%b,%b,"distance_miles":%b,"in_area":%b,'
    b'"ofsted_rating":%b,"fully_meets_needs":%b,"price":%b,"score":%b,"components":%b,'
    b'"tie_break":%b%b}'
)
_TRUE_FALSE = (b"false", b"true")


def ranked_entries(
    index: RegistryIndex,
    ranked: list[RankedBid],
    names: list[str],
    weights: list[float],
    notes: list[dict[str, Any]] | None = None,
) -> list[orjson.Fragment]:
    """The ranked bids as reported (`RankedBidOut` fields, in order), rank 1 first, each as
    its JSON text, with its provider's `notes` (feedback) when given.

    The listing's own fields are its fixed text (`matcher.match.listing_json`); the
    answer's floats are rounded all at once (`round_each`) and written by one `orjson.dumps`
    per column, split at the commas; a bid is then one byte-string format.
    """
    if not ranked:
        return []
    row_list = [r.row for r in ranked]
    heads = listing_json(index.registry).bidder_head(row_list)
    ratings = index.registry.rating.take(np.asarray(row_list, dtype=np.intp)).tolist()
    distances = miles_texts([r.distance_m for r in ranked])
    scores = float_texts(round_each([r.score for r in ranked], 6))
    components = _components(ranked, names, weights)
    prices = price_texts(ranked)
    feedback = [b""] * len(ranked) if notes is None else [
        b',"feedback":' + orjson.dumps(note) for note in notes
    ]  # fmt: skip
    return [
        orjson.Fragment(
            _RANKED
            % (
                rank,
                orjson.dumps(r.bid.bid_id),
                orjson.dumps(r.bid.listing_id),
                head,
                distance,
                _TRUE_FALSE[r.in_area],
                RATING_JSON[rating],
                _TRUE_FALSE[r.fully_meets_needs],
                price,
                score,
                bid_components,
                orjson.dumps({"moved_above": list(r.tie_break_over)})
                if r.tie_break_over
                else b"null",
                note,
            )
        )
        for rank, (r, head, rating, distance, price, score, bid_components, note) in enumerate(
            zip(
                ranked, heads, ratings, distances, prices, scores, components, feedback, strict=True
            ),
            start=1,
        )
    ]


def _components(ranked: list[RankedBid], names: list[str], weights: list[float]) -> list[bytes]:
    """Each bid's `components` (`ComponentOut` by name) as JSON text: every value and
    contribution rounded at once (`round_each`: `round`'s results, without its cost) and
    written at once (`float_texts`), then one byte-string format per bid into a template
    holding the names and weights, which every bid of the answer shares."""
    if not names:
        return [b"{}"] * len(ranked)
    template = b"{%b}" % b",".join(
        b'%b:{"value":%%b,"weight":%b,"contribution":%%b}' % (_literal(orjson.dumps(name)), weight)
        for name, weight in zip(names, float_texts(np.asarray(weights, dtype=np.float64)),
                                strict=True)
    )  # fmt: skip
    pairs = np.stack(component_matrices(ranked), axis=-1)  # bid x component x (value, contribution)
    texts = float_texts(round_each(pairs, 6))
    step = 2 * len(names)
    return [template % tuple(texts[at : at + step]) for at in range(0, len(texts), step)]


def price_texts(ranked: list[RankedBid]) -> list[bytes]:
    """Each ranked bid's price (`PriceOut` fields, in order) as JSON text.

    Every amount of every bid is formatted at once (`pence_texts`); a bid is then one
    byte-string format into a template holding what its price shares with the others (the
    children, the discounts' kinds and percentages, the duration: the referral's, under
    one DPV's terms), written once per answer and shape.
    """
    amounts: list[int] = []
    for r in ranked:
        p = r.price
        amounts += (p.fee_pence, p.gross_weekly_core_pence)
        amounts += (d.weekly_pence for d in p.discounts)
        amounts += (
            p.net_weekly_core_pence,
            p.services_total_pence,
            p.expected_total_pence,
            p.average_weekly_pence,
            r.ceiling_pence,
            r.ceiling_pence - p.fee_pence,
        )
    texts = pence_texts(amounts)
    templates: dict[tuple[int, int, tuple[tuple[str, str], ...]], bytes] = {}
    out = []
    at = 0
    for r in ranked:
        p = r.price
        # a percentage by its text: Decimal("5") == Decimal("5.0"), but they read differently
        discounts = tuple((d.kind, str(d.percent)) for d in p.discounts)
        shape = (p.children, p.expected_duration_weeks, discounts)
        template = templates.get(shape) or templates.setdefault(shape, _price_template(*shape))
        net = at + 2 + len(p.discounts)  # the text of the net weekly core, then the services
        end = net + 6
        services = _services_json(p.services) if p.services else b"[]"
        out.append(template % (*texts[at:net], texts[net], services, *texts[net + 1 : end]))
        at = end
    return out


def _price_template(children: int, weeks: int, discounts: tuple[tuple[str, str], ...]) -> bytes:
    """A price's JSON text with a `%b` for each amount (and for the services' list);
    `discounts`: each discount's kind and percentage, as text."""
    discounts_text = b",".join(
        b'{"kind":%b,"percent":%b,"weekly_amount_gbp":"%%b"}'
        % (_literal(orjson.dumps(kind)), _literal(orjson.dumps(percent)))
        for kind, percent in discounts
    )
    return (
        b'{"weekly_fee_gbp":"%%b","children":%d,"gross_weekly_core_gbp":"%%b","discounts":[%b],'
        b'"net_weekly_core_gbp":"%%b","additional_services":%%b,'
        b'"additional_services_total_gbp":"%%b","expected_duration_weeks":%d,'
        b'"expected_total_cost_gbp":"%%b","average_weekly_cost_gbp":"%%b",'
        b'"ceiling_weekly_gbp":"%%b","headroom_weekly_gbp":"%%b"}'
    ) % (children, discounts_text, weeks)


def _services_json(services: tuple[ServiceLine, ...]) -> bytes:
    """A price's additional services (`ServiceCostOut`, in order) as JSON text."""
    return orjson.dumps(
        [
            {
                "code": s.code,
                "unit": s.unit.value,
                "rate_gbp": format_pence(s.rate_pence),
                "units_per_week": str(s.units_per_week),
                "weeks_charged": s.weeks_charged,
                "cost_gbp": format_pence(s.cost_pence),
            }
            for s in services
        ]
    )


def _literal(text: bytes) -> bytes:
    """`text` as the literal part of a %-format template."""
    return text.replace(b"%", b"%%")


def rejected_out(r: RejectedBid) -> dict[str, Any]:
    """One rejected bid as reported (`RejectedBidOut`)."""
    bid = r.bid
    return {"bid_id": bid.bid_id, "listing_id": bid.listing_id, "reasons": r.reasons,
            "details": r.details}  # fmt: skip
