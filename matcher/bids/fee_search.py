"""What-if fees: how much lower a bid's fee would have had to be for it to rank first.

For a bid that did not rank first, the *cut* is the smallest k in 1..999 such that the same
bids, ranked again with only this bid's weekly fee changed to `fee * (1000 - k) / 1000`
(rounded down to the penny), put it first: the fee cut in steps of 0.1%. The answer is
given in those steps, never to the penny: to the penny, under price ordering, it would be
the winner's fee. None when no fee of at least one penny would rank it first (in best
match, the price component cannot exceed 1, so a bid far behind on the other components
cannot catch up on price alone).

How: the re-ranking is modelled in floats, vectorised over every searched bid of one or
many referrals (rows) and every valid bid of its referral (columns). A lower fee lowers the
bid's expected total (linearly), raises its price component, lowers everyone else's (the
cheapest total falls) and makes it cheaper for the cheapest-first tie rule, so "ranks
first" is monotone in the cut and a coarse-to-fine grid search finds the smallest cut. The
model follows `ranking._order` (the head by score then price key; if it fully meets needs,
the cheapest of the bids that fully meet needs within `tie_epsilon` of it). Its decision is
exact unless a score lies within 1e-13 of a rounding boundary of the 9-decimal ordering
score, or this bid's total ties another's; such rows are decided again exactly, with the
real scorer and `ranking._order` itself. `tests/test_feedback.py` re-ranks with the fee found
(first) and one step less (not first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.bids.pricing import Pricer
from matcher.bids.ranking import SCORE_DECIMALS, RankedBid, RankOptions, _order
from matcher.bids.scoring import scores
from matcher.registry.jit import kernel

CUT_STEPS = 1000  # a cut of k: the fee times (1000 - k) / 1000, rounded down to the penny
MAX_CUT = CUT_STEPS - 1
# Rows x columns x grid points evaluated at once by one search pass: larger grids take fewer
# passes (each ~60 numpy calls) over more cells. Measured interleaved in one process (one
# `rank` of ~50 bids at 100k listings, p50): 4,096 -> 16,384 took best match with feedback
# 5.9-6.4 -> 5.2-5.5 ms and price 3.1-3.2 -> 2.8-2.95 ms; 65,536 was slower (7.9-8.7 ms); a
# market of 3,000 referrals x 10 bids was unchanged (2.1-2.3 s); the cuts are the same.
GRID_CELLS = 16384
# The model's score differs from the exact one by at most ~2e-15 (two subtractions and a
# division's last bits): a score closer than this to a rounding boundary of the 9-decimal
# ordering score (in units of 1e-9) may round the other way, and is re-decided exactly.
_ROUNDING_MARGIN = 1e-5
_TIE_MARGIN = 1e-9  # relative: totals closer than this are re-decided exactly
_SCALE = 10.0**SCORE_DECIMALS  # numpy's round(x, d) is rint(x * 10**d) / 10**d

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class FeeProblem:
    """One ranking (valid bids in rank order) and the bids whose cut is searched in it.

    `searched` holds (position in `ranked`, fee in pence the cut is taken from, smallest
    cut allowed): a rejected bid's what-if ranking searches from the cut that brings its fee
    under the ceiling.
    """

    ranked: list[RankedBid]
    options: RankOptions
    pricer: Pricer
    searched: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FeeCut:
    """The smallest cut (tenths of a percent) and the fee it gives; None: no fee would do."""

    cut: int | None
    fee_pence: int | None


def cut_fee(fee_pence: int, cut: int) -> int:
    """The fee after a cut of `cut` tenths of a percent, rounded down to the penny."""
    return fee_pence * (CUT_STEPS - cut) // CUT_STEPS


def cut_for_fee(fee_pence: int, at_most_pence: int) -> int:
    """The smallest cut giving a fee of at most `at_most_pence`."""
    cut = max(0, CUT_STEPS - (at_most_pence + 1) * CUT_STEPS // fee_pence)
    while cut_fee(fee_pence, cut) > at_most_pence:
        cut += 1
    while cut > 0 and cut_fee(fee_pence, cut - 1) <= at_most_pence:
        cut -= 1
    return cut


def search_cuts(problems: list[FeeProblem]) -> list[list[FeeCut]]:
    """For each problem, the cut of each searched bid (in `searched` order)."""
    out: list[list[FeeCut]] = [[] for _ in problems]
    if not any(p.searched for p in problems):
        return out
    cuts, unsure = _search(_Model.build(problems))
    at = 0
    for i, p in enumerate(problems):
        for pos, fee, low in p.searched:
            cut = int(cuts[at])
            if unsure[at]:
                cut = _exact_search(p, pos, fee, low, cut)
            out[i].append(FeeCut(None, None) if cut < 0 else FeeCut(cut, cut_fee(fee, cut)))
            at += 1
    return out


@dataclass(frozen=True, slots=True)
class _Model:
    """The float model: one row per searched bid, one column per valid bid of its ranking.

    The searched bid's own column is kept apart (`own_rest`; +inf in `others_total`), since
    only it changes with the cut.
    """

    others_total: F64  # (rows, cols) expected totals of the other bids; +inf: itself, pads
    rest: F64  # score minus the price contribution; -inf pads
    meets: Mask
    distance: F64
    id_rank: I64  # position of the bid id among its ranking's ids (the last key)
    col: I64  # (rows,) the searched bid's column
    own_rest: F64
    per_penny: F64  # its expected total per penny of fee
    fixed: F64  # its expected total at a fee of zero (additional services)
    fee: I64
    low: I64  # smallest cut allowed
    high: I64  # largest cut that leaves at least a penny
    others_min: F64  # cheapest total among the other bids
    winner_total: F64  # by price: the first of the other bids (total, distance, id)...
    before_winner: Mask  # ...and whether this bid's (distance, id) comes before its
    price_weight: F64
    weight_total: F64
    epsilon: F64
    by_price: Mask

    @classmethod
    def build(cls, problems: list[FeeProblem]) -> _Model:
        """Stack every searched bid of every problem (padded to the widest ranking)."""
        used = [p for p in problems if p.searched]
        cols = max(len(p.ranked) for p in used)
        shape = (len(used), cols)
        total, rest = np.full(shape, np.inf), np.full(shape, -np.inf)
        meets, distance = np.zeros(shape, dtype=bool), np.full(shape, np.inf)
        id_rank = np.full(shape, cols, dtype=np.int64)
        per_problem: list[tuple[float, float, float, float, bool]] = []
        at: list[int] = []
        col: list[int] = []
        fee: list[int] = []
        low: list[int] = []
        fixed: list[float] = []
        for q, p in enumerate(used):
            n = len(p.ranked)
            weights = p.options.weights
            price_at = list(weights.weights).index("price")
            total[q, :n] = [float(r.price.exact_total) for r in p.ranked]
            rest[q, :n] = [r.score - r.contributions[price_at] for r in p.ranked]
            meets[q, :n] = [r.fully_meets_needs for r in p.ranked]
            distance[q, :n] = [r.distance_m for r in p.ranked]
            ids = [r.bid.bid_id for r in p.ranked]
            id_rank[q, sorted(range(n), key=ids.__getitem__)] = np.arange(n)
            per_penny = p.pricer.price(1, []).exact_total  # exact: the total is linear in the fee
            per_problem.append((float(per_penny), weights.weights["price"], weights.total,
                                p.options.tie_epsilon, p.options.order_by == "price"))  # fmt: skip
            for pos, fee_pence, low_cut in p.searched:
                priced = p.ranked[pos].price
                at.append(q)
                col.append(pos)
                fee.append(fee_pence)
                low.append(low_cut)
                fixed.append(float(priced.exact_total - per_penny * priced.fee_pence))
        q_of = np.array(at, dtype=np.intp)
        column = np.array(col, dtype=np.int64)
        fees = np.array(fee, dtype=np.int64)
        scalars = np.array(per_problem, dtype=np.float64)[q_of]
        ar = np.arange(len(q_of))
        others = total[q_of]
        others[ar, column] = np.inf
        rests, distances, id_ranks = rest[q_of], distance[q_of], id_rank[q_of]
        winner = _lexmin(others, distances, id_ranks, np.isfinite(others))
        own_d, win_d = distances[ar, column], distances[ar, winner]
        before = (own_d < win_d) | (
            (own_d == win_d) & (id_ranks[ar, column] < id_ranks[ar, winner])
        )
        return cls(
            others_total=others,
            rest=rests,
            meets=meets[q_of],
            distance=distances,
            id_rank=id_ranks,
            col=column,
            own_rest=rests[ar, column],
            per_penny=scalars[:, 0],
            fixed=np.array(fixed),
            fee=fees,
            low=np.array(low, dtype=np.int64),
            high=np.minimum(MAX_CUT, CUT_STEPS - -(-CUT_STEPS // fees)),
            others_min=others.min(axis=1),
            winner_total=others[ar, winner],
            before_winner=before,
            price_weight=scalars[:, 1],
            weight_total=scalars[:, 2],
            epsilon=scalars[:, 3],
            by_price=scalars[:, 4] != 0,
        )


def _highest_cut(fee_pence: int) -> int:
    """The largest cut that still leaves a fee of at least one penny."""
    return min(MAX_CUT, CUT_STEPS - -(-CUT_STEPS // fee_pence))


def _search(m: _Model) -> tuple[I64, Mask]:
    """Smallest cut per row at which the row's bid ranks first (-1: none), coarse to fine,
    and the rows whose final decisions (first at the cut, not first one step less) the
    float model cannot vouch for (see `_search_rows`)."""
    arrays = tuple(np.ascontiguousarray(getattr(m, name)) for name in _KERNEL_FIELDS)
    return _search_rows(arrays, GRID_CELLS)


# The model's fields in the order the kernels take them (one tuple: numba takes tuples).
_KERNEL_FIELDS = (
    "others_total", "rest", "meets", "distance", "id_rank", "col", "per_penny", "fixed", "fee",
    "low", "high", "others_min", "winner_total", "before_winner", "price_weight",
    "weight_total", "epsilon", "by_price",
)  # fmt: skip


def compile_search() -> None:
    """Compile (or load from numba's cache) the search kernel now, on a one-row model, so
    that no request pays for it (called when a snapshot is loaded)."""
    square, flat, ints = np.ones((1, 1)), np.ones(1), np.ones(1, dtype=np.int64)
    no = np.zeros(1, dtype=bool)
    arrays = (square, square, no[None, :], square, ints[None, :], ints * 0, flat, flat, ints,
              ints, ints, flat, flat, no, flat, flat, flat, no)  # fmt: skip
    _search_rows(arrays, GRID_CELLS)


@kernel
def _search_rows(model: Any, grid_cells: int) -> tuple[I64, Mask]:  # pragma: no cover - compiled
    """The search of `_search`, compiled (`model`: the fields of `_Model` named by
    `_KERNEL_FIELDS`, one row per searched bid).

    Each pass evaluates, for every row still open, a grid of cuts between the largest cut
    known not to rank first (lo) and the smallest known to (hi), up to the first that ranks
    first; the first pass checks the largest cut itself. The grid's size follows the rows
    still open, as the vectorised search it replaced did, so the cuts are the same.
    """
    others_total, low, high = model[0], model[9], model[10]
    n, cols = others_total.shape
    lo = low - 1  # known not first: the bid's own fee (or a fee above the ceiling)
    hi = high.copy()
    possible = low <= high
    unsure_hi = np.zeros(n, dtype=np.bool_)
    unsure_lo = np.zeros(n, dtype=np.bool_)
    active = possible.copy()
    cuts = np.empty(32, dtype=np.int64)
    unsures = np.empty(32, dtype=np.bool_)
    scores = np.empty(cols)
    rounded = np.empty(cols)
    open_rows = int(active.sum())
    while open_rows:
        grid = max(2, min(32, grid_cells // max(1, open_rows * cols)))
        for i in range(n):
            if not active[i]:
                continue
            span = hi[i] - lo[i]
            found = -1
            for j in range(grid):
                cut = lo[i] + -((-span * (j + 1)) // grid)  # the last is hi
                first, unsure = _ranks_first(i, cut, model, scores, rounded)
                cuts[j] = cut
                unsures[j] = unsure
                if first:
                    found = j
                    break
            if found < 0:  # even the largest cut is not enough
                possible[i] = False
                hi[i] = cuts[grid - 1]
                unsure_hi[i] = unsures[grid - 1]
            else:
                hi[i] = cuts[found]
                unsure_hi[i] = unsures[found]
                if found > 0:
                    lo[i] = cuts[found - 1]
                    unsure_lo[i] = unsures[found - 1]
        open_rows = 0
        for i in range(n):
            active[i] = possible[i] and hi[i] - lo[i] > 1
            open_rows += active[i]
    out = np.where(possible, hi, -1)
    return out, unsure_hi | (possible & unsure_lo)


@kernel
def _ranks_first(
    i: int, cut: int, model: Any, scores: F64, rounded: F64
) -> tuple[bool, bool]:  # pragma: no cover - compiled
    """Whether row i's bid ranks first at `cut`, and whether the model is unsure there.

    By price: before the first of the others (total, distance, id); they do not change. By
    best match: every bid rescored with the new cheapest total, and the first pick of
    `ranking._order` (the head by rounded score then price key; if it fully meets needs,
    the cheapest of the bids that do within epsilon of it). Unsure: this bid's total within
    1e-9 of another's, or (best match) a score that can be the top or reach the tie window
    within 1e-5 (of 1e-9) of a rounding boundary of the 9-decimal ordering score.
    """
    (others_total, rest, meets, distance, id_rank, col, per_penny, fixed, fee, _, _,
     others_min, winner_total, before_winner, price_weight, weight_total, epsilon,
     by_price) = model  # fmt: skip
    cols = others_total.shape[1]
    cut_pence = (fee[i] * (CUT_STEPS - cut)) // CUT_STEPS
    if cut_pence < 1:
        return False, False
    own = per_penny[i] * cut_pence + fixed[i]
    unsure = False
    for c in range(cols):
        other = others_total[i, c]
        if np.isfinite(other) and abs(other - own) <= _TIE_MARGIN * other:
            unsure = True
    if by_price[i]:
        tw = winner_total[i]
        return own < tw or (own == tw and before_winner[i]), unsure
    me = col[i]
    cheapest = min(others_min[i], own)
    best = -np.inf
    for c in range(cols):
        total = own if c == me else others_total[i, c]
        value = min(max(cheapest / total, 0.0), 1.0)
        scores[c] = rest[i, c] + value * price_weight[i] / weight_total[i]
        rounded[c] = np.rint(scores[c] * _SCALE) / _SCALE  # np.round(x, SCORE_DECIMALS)
        best = max(best, rounded[c])
    floor = best - epsilon[i]
    for c in range(cols):
        if scores[c] >= floor - 1e-8:
            scaled = scores[c] * _SCALE
            if abs(scaled - np.floor(scaled) - 0.5) < _ROUNDING_MARGIN:
                unsure = True
    head = -1
    for c in range(cols):
        if rounded[c] == best and (head < 0 or _before(i, c, head, me, own, others_total,
                                                        distance, id_rank)):  # fmt: skip
            head = c
    pick = head
    if meets[i, head]:
        pick = -1
        for c in range(cols):
            if (
                rounded[c] >= floor
                and meets[i, c]
                and (pick < 0 or _before(i, c, pick, me, own, others_total, distance, id_rank))
            ):
                pick = c
    return pick == me, unsure


@kernel
def _before(
    i: int,
    a: int,
    b: int,
    me: int,
    own: float,
    others_total: F64,
    distance: F64,
    id_rank: I64,
) -> bool:  # pragma: no cover - compiled
    """Whether column a comes before column b by (total, distance, id) in row i."""
    ta = own if a == me else others_total[i, a]
    tb = own if b == me else others_total[i, b]
    if ta != tb:
        return ta < tb
    if distance[i, a] != distance[i, b]:
        return bool(distance[i, a] < distance[i, b])
    return bool(id_rank[i, a] < id_rank[i, b])


def _lexmin(total: F64, distance: F64, id_rank: I64, among: Mask) -> I64:
    """Along the last axis, the position with the smallest (total, distance, id) among
    `among` (non-empty); the keys broadcast against `among`."""
    keep = among.copy()
    for key in (total, distance):
        masked = np.where(keep, key, np.inf)
        keep &= masked == masked.min(axis=-1, keepdims=True)
    best: I64 = np.where(keep, id_rank, np.iinfo(np.int64).max).argmin(axis=-1)
    return best


def ranks_first_exactly(problem: FeeProblem, position: int, fee_pence: int) -> bool:
    """Rank the problem's bids again with this one's fee changed, exactly as `rank` does
    (Decimal price, the real scorer and `ranking._order`); is it first?"""
    ranked, options = problem.ranked, problem.options
    b = ranked[position]
    services = [(s.code, s.unit, s.rate_pence, s.units_per_week, s.weeks_charged)
                for s in b.price.services]  # fmt: skip
    priced = problem.pricer.price(fee_pence, services)
    if options.order_by == "price":  # before the first of the others: total, distance, id
        key = (priced.exact_total, b.distance_m, b.bid.bid_id)
        others = [(r.price.exact_total, r.distance_m, r.bid.bid_id) for r in ranked if r is not b]
        return not others or key < min(others)
    totals = [r.price.exact_total for r in ranked]
    totals[position] = priced.exact_total
    cheapest = min(totals)
    names = list(options.weights.weights)
    price_at = names.index("price")
    columns = {name: [r.values[j] for r in ranked] for j, name in enumerate(names)}
    columns["price"] = [_price_value(cheapest, total) for total in totals]
    values, contributions = scores(columns, options.weights)
    again = []
    for i, r in enumerate(ranked):
        own = list(r.values)
        own[price_at] = columns["price"][i]
        price = priced if i == position else r.price
        again.append(r._replace(price=price, score=values[i], values=own,
                             contributions=contributions[i], tie_break_over=()))  # fmt: skip
    return _order(again, options)[0].bid is b.bid  # `_order` may copy a tie-rule pick


def _price_value(cheapest: Decimal, total: Decimal) -> float:
    """The price component as `scoring.component_values` computes it."""
    value = float(cheapest / total) if total > 0 else 1.0
    return min(1.0, max(0.0, value))


def _exact_search(problem: FeeProblem, position: int, fee_pence: int, low: int, hint: int) -> int:
    """The cut decided exactly (the rare rows where the model is unsure): the model's cut
    `hint` when exact re-rankings confirm it (first there, not one step less), else by
    bisection with exact re-rankings only."""
    high = _highest_cut(fee_pence)

    def first(cut: int) -> bool:
        return ranks_first_exactly(problem, position, cut_fee(fee_pence, cut))

    if high < low:
        return -1
    if hint >= 0 and first(hint) and (hint == low or not first(hint - 1)):
        return hint
    if not first(high):
        return -1
    lo, hi = low - 1, high
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if first(mid) else (mid, hi)
    return hi
