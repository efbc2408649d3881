"""A synthetic referral stream, deterministic per seed, to try sufficiency analytics on.

Authorities are drawn by their number of live postcodes (population); DPVs and lots in
roughly the proportions of a council's placements (fostering the largest share, then
residential, then SEN); ages and needs correlated with the lot. The children are fictional.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

import geodata
from matcher.catalogue import Dpv, Lot, Need

_DPV_P = {Dpv.FOSTERING: 0.55, Dpv.RESIDENTIAL: 0.3, Dpv.SEN: 0.15}
_LOT_P: dict[Dpv, dict[Lot, float]] = {
    Dpv.FOSTERING: {Lot.STANDARD: 0.7, Lot.COMPLEX: 0.15, Lot.PARENT_AND_CHILD: 0.05,
                    Lot.EMERGENCY: 0.1},
    Dpv.RESIDENTIAL: {Lot.STANDARD: 0.6, Lot.THERAPEUTIC: 0.2, Lot.SOLO: 0.1,
                      Lot.DISABILITY: 0.1},
    Dpv.SEN: {Lot.DAY: 0.7, Lot.RESIDENTIAL: 0.3},
}  # fmt: skip
_AGES: dict[Dpv, tuple[int, int]] = {
    Dpv.FOSTERING: (0, 17),
    Dpv.RESIDENTIAL: (10, 17),
    Dpv.SEN: (5, 18),
}
_NEED_P: dict[Need, float] = {
    Need.EMOTIONAL_BEHAVIOURAL: 0.55, Need.MENTAL_HEALTH: 0.2, Need.LEARNING_DISABILITY: 0.12,
    Need.PHYSICAL_DISABILITY: 0.04, Need.SENSORY_IMPAIRMENT: 0.03, Need.SUBSTANCE_MISUSE: 0.06,
    Need.AUTISM: 0.12, Need.CSE_RISK: 0.1, Need.CCE_RISK: 0.08, Need.MISSING_EPISODES: 0.1,
    Need.SELF_HARM: 0.08, Need.OFFENDING: 0.05, Need.UASC: 0.06, Need.COMPLEX_HEALTH: 0.03,
}  # fmt: skip
START = date(2026, 12, 1)


def generate_referrals(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` shortlist request bodies; the same (n, seed) gives the same stream."""
    rng = np.random.default_rng(seed)
    authorities = geodata.authorities()
    weights = np.array([a.postcode_count for a in authorities], dtype=np.float64)
    picks = rng.choice(len(authorities), size=n, p=weights / weights.sum())
    dpvs = list(_DPV_P)
    out: list[dict[str, Any]] = []
    for i in range(n):
        dpv = dpvs[int(rng.choice(len(dpvs), p=list(_DPV_P.values())))]
        lots = list(_LOT_P[dpv])
        lot = lots[int(rng.choice(len(lots), p=list(_LOT_P[dpv].values())))]
        low, high = _AGES[dpv]
        needs = [need.value for need, p in _NEED_P.items() if rng.random() < p]
        if lot is Lot.PARENT_AND_CHILD:
            needs.append(Need.PARENT_AND_CHILD.value)
        group = 1
        if dpv is Dpv.FOSTERING and rng.random() < 0.15:
            group = int(rng.integers(2, 4))
        out.append({
            "referral_id": f"R-{seed}-{i + 1:06d}",
            "placing_authority": authorities[int(picks[i])].code,
            "dpv": dpv.value,
            "lot": lot.value,
            "child": {"age": int(rng.integers(low, high + 1)),
                      "gender": str(rng.choice(["male", "female", "other"], p=[0.55, 0.43, 0.02])),
                      "needs": needs},
            "sibling_group_size": group,
            "expected_duration_weeks": int(rng.choice([12, 26, 52, 104])),
            "start_date": (START + timedelta(days=int(rng.integers(0, 60)))).isoformat(),
            "max_distance_miles": 20.0,
            "explain": False,
        })  # fmt: skip
    return out
