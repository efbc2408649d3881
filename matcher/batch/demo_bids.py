"""Synthetic bids for a demo referral stream, deterministic per seed (for market feedback).

Plausible, not real: a referral goes to the listings its shortlist finds, and some of the
nearest answer. Per referral, up to `n` bids from the eligible listings within its radius
(nearest first, a random half of the nearest 2n), each a fee of 82-100% of the listing's
ceiling; about 4% above the ceiling, 8% with a service from the listing's menu, 3% with a
service that is not on it, 6% starting late; and 1 in 5 referrals also draws a bid from a
listing the shortlist excludes (providers bid anyway, and are told why not). Referrals are
ordered by best match (60%, with the balanced profile) or by price.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.match.shortlist import shortlist
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import Lot
from matcher.vocabulary.money import format_pence

CANDIDATES_PER_BID = 2


def add_bids(
    index: RegistryIndex,
    referrals: list[dict[str, Any]],
    n: int,
    seed: int = 0,
    fill: bool = False,
) -> list[dict[str, Any]]:
    """Each referral as a rank request with up to `n` bids (same referrals, same order);
    `fill`: exactly `n` where the radius holds n listings, excluded ones making up the
    number (a benchmark's fixed workload)."""
    rng = np.random.default_rng([seed, 17])
    reg = index.registry
    out = []
    for body in referrals:
        req = ShortlistRequest.model_validate(body)
        criteria = resolve_criteria(req, 1000.0)
        found = shortlist(index, criteria, n * CANDIDATES_PER_BID, n if fill else 5)
        hits = found.shortlist
        k = min(n, len(hits) if fill or len(hits) <= n else len(hits) // 2)
        chosen = sorted(rng.choice(len(hits), k, replace=False).tolist()) if k else []
        bids: list[dict[str, Any]] = []
        start = criteria.start_date
        for j in chosen:
            row = hits[j].row
            ceiling = reg.ceiling_pence(row, Lot(req.lot), start) or 100_000
            bids.append(_bid(rng, len(bids), hits[j].listing_id, ceiling, reg.service_menu(row)))
        for hit in found.excluded_within_radius[: n - len(bids)] if fill else []:
            ceiling = reg.ceiling_pence(hit.row, Lot(req.lot), start) or 100_000
            bids.append(_bid(rng, len(bids), hit.listing_id, ceiling, {}))
        if not fill and found.excluded_within_radius and rng.random() < 0.2:
            hit = found.excluded_within_radius[int(rng.integers(len(found.excluded_within_radius)))]
            ceiling = reg.ceiling_pence(hit.row, Lot(req.lot), start) or 100_000
            bids.append(_bid(rng, len(bids), hit.listing_id, ceiling, {}))
        order = "best_match" if rng.random() < 0.6 else "price"
        out.append({**body, "bids": bids, "order_by": order})
    return out


def _bid(
    rng: np.random.Generator, i: int, listing_id: str, ceiling: int, menu: dict[str, Any]
) -> dict[str, Any]:
    share = rng.uniform(1.005, 1.03) if rng.random() < 0.04 else rng.uniform(0.82, 1.0)
    bid: dict[str, Any] = {
        "bid_id": f"B{i + 1:02d}",
        "listing_id": listing_id,
        "weekly_fee_gbp": format_pence(max(100, int(ceiling * share))),
    }
    roll = rng.random()
    if menu and roll < 0.08:
        code = sorted(menu)[int(rng.integers(len(menu)))]
        units = float(rng.choice([1, 2, 5, 10]))
        bid["additional_services"] = [{"code": code, "units_per_week": units,
                                       "weeks": int(rng.integers(4, 27))}]  # fmt: skip
    elif roll < 0.11:
        bid["additional_services"] = [{"code": "equine_therapy", "units_per_week": 1.0,
                                       "weeks": 12}]  # fmt: skip
    if rng.random() < 0.06:
        bid["available_from"] = "2027-03-01"
    return bid
