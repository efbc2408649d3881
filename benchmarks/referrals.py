"""The fixed referral workload every benchmark runs: seeded, half urban, half rural.

`referral_bodies(40)` gives 20 referrals placed by London boroughs and metropolitan
districts (dense candidate sets) and 20 by the least dense counties and unitaries (sparse
ones), with mixed DPVs, lots, ages, genders, needs and radii of 10-50 miles, drawn from
`np.random.default_rng(0)`. The same bodies feed the in-process suite, the PostGIS
comparison and the HTTP load test, so their numbers describe the same work.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

import geodata
from matcher.match.shortlist import ShortlistResult
from matcher.vocabulary.catalogue import LOTS_BY_DPV, Dpv, Need

START_DATE = "2026-12-01"  # inside the demo registry's ceiling year (2026-04-01..2027-03-31)
MIN_RADIUS_MILES = 10.0
MAX_RADIUS_MILES = 50.0

# Ages each DPV serves in the demo registry, and the needs a referral plausibly carries.
_AGES = {Dpv.FOSTERING: (0, 17), Dpv.RESIDENTIAL: (8, 17), Dpv.SEN: (5, 19)}
_NEEDS = {
    Dpv.FOSTERING: (
        Need.EMOTIONAL_BEHAVIOURAL,
        Need.LEARNING_DISABILITY,
        Need.AUTISM,
        Need.UASC,
        Need.MENTAL_HEALTH,
        Need.CSE_RISK,
    ),
    Dpv.RESIDENTIAL: (
        Need.EMOTIONAL_BEHAVIOURAL,
        Need.CSE_RISK,
        Need.CCE_RISK,
        Need.MISSING_EPISODES,
        Need.MENTAL_HEALTH,
        Need.SELF_HARM,
    ),
    Dpv.SEN: (
        Need.AUTISM,
        Need.LEARNING_DISABILITY,
        Need.EMOTIONAL_BEHAVIOURAL,
        Need.COMPLEX_HEALTH,
    ),
}
_DPV_P = {Dpv.FOSTERING: 0.5, Dpv.RESIDENTIAL: 0.35, Dpv.SEN: 0.15}


def urban_and_rural(rng: np.random.Generator, n_each: int) -> tuple[list[str], list[str]]:
    """Authority codes: `n_each` London boroughs/metropolitan districts (about 60/40) and
    the `n_each` least dense counties/unitaries (live postcodes per km2 of boundary)."""
    every = geodata.authorities()
    london = sorted(a.code for a in every if a.type == "london_borough")
    metro = sorted(a.code for a in every if a.type == "metropolitan_district")
    n_london = round(n_each * 0.6)
    urban = list(rng.choice(london, n_london, replace=False)) + list(
        rng.choice(metro, n_each - n_london, replace=False)
    )
    shire = [a for a in every if a.type in ("county", "unitary")]
    density = {a.code: a.postcode_count / _area_km2(a.code) for a in shire}
    rural = sorted(density, key=density.__getitem__)[:n_each]
    return [str(c) for c in urban], rural


def _area_km2(code: str) -> float:
    _, miny, _, maxy = geodata.boundary(code).bounds
    mid = np.radians((miny + maxy) / 2)
    # Degrees to km at the boundary's mid latitude: plenty for ranking densities.
    return float(geodata.boundary(code).area * 111.32 * 111.32 * np.cos(mid))


def referral_bodies(n: int = 40, seed: int = 0) -> list[dict[str, Any]]:
    """`n` ShortlistRequest bodies (JSON-ready): urban first, then rural."""
    rng = np.random.default_rng(seed)
    urban, rural = urban_and_rural(rng, n // 2 + n % 2)
    codes = urban[: n - n // 2] + rural[: n // 2]
    dpvs = list(_DPV_P)
    bodies = []
    for i, code in enumerate(codes):
        dpv = dpvs[int(rng.choice(len(dpvs), p=list(_DPV_P.values())))]
        lots = LOTS_BY_DPV[dpv]
        # The first lot of each DPV is the common one; the others get a fair share too.
        lot = lots[0] if rng.random() < 0.6 else lots[int(rng.integers(1, len(lots)))]
        low, high = _AGES[dpv]
        pool = _NEEDS[dpv]
        k = int(rng.choice([0, 1, 2, 3], p=[0.2, 0.4, 0.3, 0.1]))
        needs = [pool[j].value for j in sorted(rng.choice(len(pool), k, replace=False))]
        siblings = int(rng.choice([1, 2], p=[0.8, 0.2])) if dpv is Dpv.FOSTERING else 1
        bodies.append(
            {
                "referral_id": f"BENCH-{i:03d}",
                "placing_authority": code,
                "dpv": dpv.value,
                "lot": lot.value,
                "child": {
                    "age": int(rng.integers(low, high + 1)),
                    "gender": str(rng.choice(["male", "female"])),
                    "needs": needs,
                },
                "sibling_group_size": siblings,
                "start_date": START_DATE,
                "max_distance_miles": round(
                    float(rng.uniform(MIN_RADIUS_MILES, MAX_RADIUS_MILES)), 1
                ),
                "min_ofsted_rating": str(
                    rng.choice(["requires_improvement", "good"], p=[0.7, 0.3])
                ),
                "limit": 50,
                "explain_limit": 20,
            }
        )
    return bodies


def bids_for(
    result: ShortlistResult,
    ceiling_pence: list[int],
    rng: np.random.Generator,
    n_bids: int = 50,
) -> list[dict[str, Any]]:
    """Up to `n_bids` bids on the shortlist's listings, each 80-100% of its ceiling.

    `ceiling_pence[i]` is the ceiling of `result.shortlist[i]`. When fewer than `n_bids`
    listings are eligible, excluded listings within the radius bid too (at the eligible
    median fee): real referrals draw some bids the matcher must reject, with reasons.
    """
    bids: list[dict[str, Any]] = []
    for hit, ceiling in zip(result.shortlist[:n_bids], ceiling_pence, strict=False):
        fee = int(ceiling * rng.uniform(0.8, 1.0))
        bids.append(_bid(len(bids), hit.listing_id, fee))
    median = int(np.median(ceiling_pence)) if ceiling_pence else 100_000
    for hit in result.excluded_within_radius[: n_bids - len(bids)]:
        bids.append(_bid(len(bids), hit.listing_id, median))
    return bids


def _bid(i: int, listing_id: str, fee_pence: int) -> dict[str, Any]:
    return {
        "bid_id": f"B{i:03d}",
        "listing_id": listing_id,
        "weekly_fee_gbp": str(Decimal(fee_pence) / 100),
    }
