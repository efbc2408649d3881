"""A synthetic referral stream, deterministic per seed, to try sufficiency analytics on.

Plausible, not real: placing authorities are drawn in proportion to their live postcodes
(population); a share of referrals give the child's home postcode district (drawn the same
way inside the authority) instead of the authority's centre; DPVs and lots follow a
council's external placements (fostering the largest share, then residential, then SEN);
ages follow the looked-after population of each kind of placement (teenagers dominate
residential care; parent-and-child referrals are young parents); needs are correlated with
the lot, the age and the gender (exploitation risks in teenagers, disabilities in the
disability lot and SEN, unaccompanied asylum-seeking children mostly older boys); sibling
groups only in fostering. The children are fictional.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from functools import cache
from itertools import accumulate
from typing import Any

import numpy as np

import geodata
from geodata.postcodes import outcodes
from matcher.vocabulary.catalogue import Dpv, Lot, Need

START = date(2026, 12, 1)
DISTRICT_SHARE = 0.35

_KINDS: tuple[tuple[Dpv, Lot, float], ...] = (
    (Dpv.FOSTERING, Lot.STANDARD, 0.40),
    (Dpv.FOSTERING, Lot.COMPLEX, 0.09),
    (Dpv.FOSTERING, Lot.PARENT_AND_CHILD, 0.03),
    (Dpv.FOSTERING, Lot.EMERGENCY, 0.06),
    (Dpv.RESIDENTIAL, Lot.STANDARD, 0.17),
    (Dpv.RESIDENTIAL, Lot.THERAPEUTIC, 0.06),
    (Dpv.RESIDENTIAL, Lot.SOLO, 0.03),
    (Dpv.RESIDENTIAL, Lot.DISABILITY, 0.04),
    (Dpv.SEN, Lot.DAY, 0.08),
    (Dpv.SEN, Lot.RESIDENTIAL, 0.04),
)
# Age weights by band (0, 1-4, 5-9, 10-15, 16-17): DfE looked-after children by age, and
# older for residential care.
_AGE_BANDS = ((0, 0), (1, 4), (5, 9), (10, 15), (16, 17))
_AGE_P = {
    Dpv.FOSTERING: (0.06, 0.15, 0.20, 0.39, 0.20),
    Dpv.RESIDENTIAL: (0.0, 0.0, 0.02, 0.63, 0.35),
}
_SEN_AGES = (5, 18)
_PARENT_AGES = (16, 24)
# Base probability of each need for a child of 10 or more / under 10.
_NEED_P: dict[Need, tuple[float, float]] = {
    Need.EMOTIONAL_BEHAVIOURAL: (0.55, 0.35),
    Need.MENTAL_HEALTH: (0.22, 0.05),
    Need.LEARNING_DISABILITY: (0.08, 0.08),
    Need.PHYSICAL_DISABILITY: (0.02, 0.03),
    Need.SENSORY_IMPAIRMENT: (0.02, 0.02),
    Need.SUBSTANCE_MISUSE: (0.07, 0.0),
    Need.AUTISM: (0.09, 0.08),
    Need.CSE_RISK: (0.09, 0.0),
    Need.CCE_RISK: (0.08, 0.0),
    Need.MISSING_EPISODES: (0.12, 0.01),
    Need.SELF_HARM: (0.10, 0.01),
    Need.OFFENDING: (0.06, 0.0),
    Need.COMPLEX_HEALTH: (0.02, 0.04),
}
# Lot-specific needs: probability that the need is present whatever the base says.
_LOT_NEEDS: dict[Lot, dict[Need, float]] = {
    Lot.COMPLEX: {Need.EMOTIONAL_BEHAVIOURAL: 0.8, Need.MENTAL_HEALTH: 0.35},
    Lot.THERAPEUTIC: {Need.EMOTIONAL_BEHAVIOURAL: 0.9, Need.MENTAL_HEALTH: 0.6,
                      Need.SELF_HARM: 0.3},
    Lot.SOLO: {Need.EMOTIONAL_BEHAVIOURAL: 0.9, Need.CCE_RISK: 0.3, Need.OFFENDING: 0.3},
    Lot.DISABILITY: {Need.LEARNING_DISABILITY: 0.6, Need.AUTISM: 0.4,
                     Need.PHYSICAL_DISABILITY: 0.3, Need.COMPLEX_HEALTH: 0.2},
    Lot.DAY: {Need.AUTISM: 0.4, Need.LEARNING_DISABILITY: 0.35, Need.EMOTIONAL_BEHAVIOURAL: 0.3},
    Lot.RESIDENTIAL: {Need.AUTISM: 0.45, Need.LEARNING_DISABILITY: 0.4,
                      Need.SENSORY_IMPAIRMENT: 0.06},
    Lot.PARENT_AND_CHILD: {Need.PARENT_AND_CHILD: 1.0},
}  # fmt: skip
_DURATIONS: dict[Lot, tuple[int, ...]] = {
    Lot.EMERGENCY: (1, 2, 4, 8, 12),
    Lot.PARENT_AND_CHILD: (12, 16, 26),
    Lot.DAY: (39, 52, 104),
    Lot.RESIDENTIAL: (39, 52, 104),
}
_DEFAULT_DURATIONS = (12, 26, 52, 78, 104)


@cache
def _districts() -> dict[str, tuple[list[str], np.ndarray[Any, Any]]]:
    """Per authority: its postcode districts and their cumulative draw probabilities
    (in proportion to their postcodes)."""
    by_authority: dict[str, list[tuple[str, int]]] = {}
    for oc in outcodes():
        if oc.authority_code and oc.postcode_count > 0:
            by_authority.setdefault(oc.authority_code, []).append((oc.outcode, oc.postcode_count))
    out = {}
    for code, items in by_authority.items():
        weights = np.array([w for _, w in items], dtype=np.float64)
        out[code] = ([name for name, _ in items], np.cumsum(weights / weights.sum()))
    return out


def _pick_cum(rng: np.random.Generator, cum: np.ndarray[Any, Any]) -> int:
    return min(int(np.searchsorted(cum, rng.random(), side="right")), len(cum) - 1)


def _pick(rng: np.random.Generator, p: tuple[float, ...] | list[float]) -> int:
    """An index drawn with probabilities `p` (one uniform draw; faster than rng.choice)."""
    return min(bisect.bisect_right(list(accumulate(p)), rng.random() * sum(p)), len(p) - 1)


def _age(rng: np.random.Generator, dpv: Dpv, lot: Lot) -> int:
    if lot is Lot.PARENT_AND_CHILD:
        return int(rng.integers(_PARENT_AGES[0], _PARENT_AGES[1] + 1))
    if dpv is Dpv.SEN:
        return int(rng.integers(_SEN_AGES[0], _SEN_AGES[1] + 1))
    low, high = _AGE_BANDS[_pick(rng, _AGE_P[dpv])]
    return int(rng.integers(low, high + 1))


def _needs(rng: np.random.Generator, lot: Lot, age: int, gender: str) -> list[str]:
    older = age >= 10
    p = {need: base[0] if older else base[1] for need, base in _NEED_P.items()}
    if gender == "female":
        p[Need.CSE_RISK] *= 2.0
        p[Need.SELF_HARM] *= 1.5
    elif gender == "male":
        p[Need.CCE_RISK] *= 1.6
        p[Need.OFFENDING] *= 1.6
    if age < 13:
        for need in (Need.SUBSTANCE_MISUSE, Need.OFFENDING, Need.CCE_RISK):
            p[need] *= 0.3
    for need, q in _LOT_NEEDS.get(lot, {}).items():
        p[need] = max(p.get(need, 0.0), q)
    draws = rng.random(len(p))
    return [need.value for need, u in zip(p, draws, strict=True) if u < p[need]]


def generate_referrals(
    n: int, seed: int = 0, district_share: float = DISTRICT_SHARE
) -> list[dict[str, Any]]:
    """`n` shortlist request bodies; the same (n, seed) gives the same stream."""
    rng = np.random.default_rng(seed)
    authorities = geodata.authorities()
    weights = np.array([a.postcode_count for a in authorities], dtype=np.float64)
    picks = rng.choice(len(authorities), size=n, p=weights / weights.sum())
    kind_p = np.array([k[2] for k in _KINDS])
    kinds = rng.choice(len(_KINDS), size=n, p=kind_p / kind_p.sum())
    districts = _districts()
    out: list[dict[str, Any]] = []
    for i in range(n):
        dpv, lot, _ = _KINDS[int(kinds[i])]
        authority = authorities[int(picks[i])].code
        age = _age(rng, dpv, lot)
        gender = ("male", "female", "other")[_pick(rng, (0.555, 0.44, 0.005))]
        needs = _needs(rng, lot, age, gender)
        uasc = dpv is not Dpv.SEN and lot is not Lot.PARENT_AND_CHILD and age >= 14
        if uasc and rng.random() < (0.16 if gender == "male" else 0.03):
            needs.append(Need.UASC.value)
        group = 1
        siblings_possible = dpv is Dpv.FOSTERING and lot in (Lot.STANDARD, Lot.EMERGENCY)
        if siblings_possible and age >= 2 and rng.random() < 0.18:
            group = (2, 3, 4)[_pick(rng, (0.7, 0.22, 0.08))]
        durations = _DURATIONS.get(lot, _DEFAULT_DURATIONS)
        body: dict[str, Any] = {
            "referral_id": f"R-{seed}-{i + 1:06d}",
            "placing_authority": authority,
            "dpv": dpv.value,
            "lot": lot.value,
            "child": {"age": age, "gender": gender, "needs": needs},
            "sibling_group_size": group,
            "expected_duration_weeks": durations[int(rng.integers(len(durations)))],
            "start_date": (START + timedelta(days=int(rng.integers(0, 60)))).isoformat(),
            "max_distance_miles": 20.0,
            "explain": False,
        }
        if rng.random() < 0.2:
            body["min_ofsted_rating"] = "good"
        if rng.random() < 0.1:
            body["accept_not_yet_inspected"] = False
        if authority in districts and rng.random() < district_share:
            names, cum = districts[authority]
            body["origin"] = {"postcode_district": names[_pick_cum(rng, cum)]}
        out.append(body)
    return out
