"""Golden digests of many seeded requests: a rewrite of a hot path must not change one byte.

`tests/test_golden.py` pins the README's examples; this pins 360 seeded shortlist, rank and
compare requests (every DPV and lot, urban and rural origins, radii 1-120 miles, explain on
and off, excluded and preferred listings, valid, rejected and duplicate bids, both orders,
profiles and weight overrides, tie epsilons and start tolerances) against a 20,000-listing
registry, each reduced to the sha256 of its answer (or of its canonical error body). The
digests were written by the code before the optimisation; regenerate them only for a
deliberate change of the answers:

    MATCHER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_many.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import geodata
from matcher.bids.request import CompareRequest, RankRequest
from matcher.boundary import parse_body
from matcher.match.request import ShortlistRequest
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.service import Matcher, Snapshot
from matcher.vocabulary.catalogue import LOTS_BY_DPV, Dpv, Need
from matcher.vocabulary.errors import MatcherError

GOLDEN = Path(__file__).resolve().parent / "golden" / "many-answers.json"
# The same requests with "feedback": false: the digests written before feedback existed.
GOLDEN_NO_FEEDBACK = GOLDEN.with_name("many-answers-no-feedback.json")
UPDATE = os.environ.get("MATCHER_UPDATE_GOLDEN") == "1"
LISTINGS = 20_000
REQUESTS = 360
PROFILES = [None, "balanced", "cost_focused", "proximity_focused", "quality_focused"]
COMPONENTS = ["price", "distance", "ofsted", "quality", "needs_fit", "in_area",
              "safeguarding", "start_date", "preference"]  # fmt: skip


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """A Matcher over 20,000 generated listings (seed 11)."""
    return Matcher(Snapshot(index=RegistryIndex.build(generate(LISTINGS, seed=11)), source="t"))


def _referral(rnd: random.Random, listings: list[dict[str, Any]], i: int) -> dict[str, Any]:
    authorities = geodata.authorities()
    dpv = rnd.choice(list(Dpv))
    lot = rnd.choice(LOTS_BY_DPV[dpv])
    needs = rnd.sample(list(Need), rnd.choice([0, 0, 0, 0, 1, 1, 2, 3]))
    ages = {Dpv.FOSTERING: (0, 17), Dpv.RESIDENTIAL: (8, 17), Dpv.SEN: (5, 19)}[dpv]
    body: dict[str, Any] = {
        "referral_id": f"R-G-{i}",
        "placing_authority": rnd.choice(authorities).code,
        "dpv": dpv.value,
        "lot": lot.value,
        "child": {
            "age": rnd.randint(*ages) if rnd.random() < 0.9 else rnd.randint(0, 25),
            "gender": rnd.choice(["male", "female", "other"]),
            "needs": [n.value for n in needs],
        },
        "sibling_group_size": rnd.choice([1, 1, 1, 2, 3]),
        "expected_duration_weeks": rnd.choice([4, 12, 26, 38, 39, 52, 104]),
        "start_date": (date(2026, 11, 1) + timedelta(days=rnd.randint(0, 150))).isoformat(),
        "max_distance_miles": rnd.choice([1, 5, 10, 12.5, 20, 30, 50, 80, 120, 250]),
        "min_ofsted_rating": rnd.choice(
            ["outstanding", "good", "requires_improvement", "requires_improvement", "inadequate"]
        ),
        "accept_not_yet_inspected": rnd.random() < 0.8,
        "limit": rnd.choice([1, 5, 10, 50, 200]),
        "explain": rnd.random() < 0.7,
        "explain_limit": rnd.choice([0, 3, 20, 100]),
    }
    roll = rnd.random()
    if roll < 0.15:
        spot = rnd.choice(listings)["location"]
        if "lat" in spot:
            body["origin"] = {"lat": spot["lat"], "lon": spot["lon"]}
    elif roll < 0.25:
        body["origin"] = {"postcode_district": rnd.choice(["IG11", "SW1A", "M1", "NE1", "TR1"])}
    if rnd.random() < 0.2:
        body["exclude_listing_ids"] = [rnd.choice(listings)["id"] for _ in range(5)]
    if rnd.random() < 0.1:
        body["child"]["secondary_needs"] = [n.value for n in rnd.sample(list(Need), 2)]
    return body


def _bids(
    rnd: random.Random, listings: list[dict[str, Any]], near: list[str], lot: str
) -> list[dict[str, Any]]:
    by_id = {row["id"]: row for row in listings}
    chosen = near[: rnd.randint(0, 40)] + [rnd.choice(listings)["id"] for _ in range(5)]
    bids = []
    for k, lid in enumerate(chosen):
        row = by_id[lid]
        ceiling = next((c["weekly_gbp"] for c in row["ceilings"] if c["lot"] == lot), "900.00")
        pence = int(ceiling.replace(".", "")) + rnd.choice([-20000, -5000, -1, 0, 0, 1, 4999])
        bid: dict[str, Any] = {
            "bid_id": f"B{k}",
            "listing_id": lid,
            "weekly_fee_gbp": f"{max(pence, 101) // 100}.{max(pence, 101) % 100:02d}",
        }
        menu = [s["code"] for s in row["additional_services"]]
        if menu and rnd.random() < 0.4:
            code = rnd.choice(menu)
            units = rnd.choice([0.5, 1, 3, 10])
            service = {"code": code, "units_per_week": units, "weeks": rnd.randint(1, 60)}
            bid["additional_services"] = [service]
        if rnd.random() < 0.1:
            bid["additional_services"] = [{"code": "falconry", "units_per_week": 1, "weeks": 2}]
        if rnd.random() < 0.3:
            bid["available_from"] = (date(2026, 11, 1) + timedelta(rnd.randint(0, 160))).isoformat()
        bids.append(bid)
    if bids and rnd.random() < 0.2:
        bids.append(dict(bids[0], bid_id="B-dup-listing"))
    if bids and rnd.random() < 0.1:
        bids.append(dict(bids[-1]))
    bids.append({"bid_id": "B-unknown", "listing_id": "NOPE", "weekly_fee_gbp": "100.00"})
    return bids


def _rank_extras(rnd: random.Random, near: list[str]) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "order_by": rnd.choice(["price", "best_match", "best_match"]),
        "profile": rnd.choice(PROFILES),
        "tie_epsilon": rnd.choice([0.0, 0.01, 0.05, 0.2]),
        "start_tolerance_days": rnd.choice([0, 0, 7, 30]),
    }
    if rnd.random() < 0.3:
        extras["weights"] = {c: rnd.choice([0, 0.5, 1, 3]) for c in rnd.sample(COMPONENTS, 3)}
    elif rnd.random() < 0.05:
        extras["weights"] = dict.fromkeys(COMPONENTS, 0)  # refused: no positive weight
    if near and rnd.random() < 0.3:
        extras["preferred_listing_ids"] = near[:2]
    return extras


def _answer(matcher: Matcher, kind: str, body: dict[str, Any]) -> bytes:
    raw = json.dumps(body).encode()
    model = {"shortlist": ShortlistRequest, "rank": RankRequest, "compare": CompareRequest}[kind]
    try:
        req = parse_body(model, raw)
        return getattr(matcher, kind)(req).model_dump_json().encode()  # type: ignore[no-any-return]
    except MatcherError as exc:
        return json.dumps(exc.body(), sort_keys=True).encode()


def answers(matcher: Matcher) -> tuple[list[str], list[str]]:
    """The digest of every seeded request's answer, in order: as sent (feedback on by
    default), and with "feedback": false on every rank and compare request."""
    rnd = random.Random(20261202)
    listings = matcher.snapshot.index.registry.snapshot_dict()["listings"]
    out, without = [], []
    for i in range(REQUESTS):
        body = _referral(rnd, listings, i)
        kind = ("shortlist", "rank", "compare")[i % 3]
        if kind == "shortlist":
            answer = plain = _answer(matcher, "shortlist", body)
        else:
            probe = dict(body, limit=60, explain=False)
            short = json.loads(_answer(matcher, "shortlist", probe))
            near = [e["listing_id"] for e in short.get("shortlist", [])]
            rank = dict(body, bids=_bids(rnd, listings, near, body["lot"]))
            rank.update(_rank_extras(rnd, near))
            if kind == "rank":
                answer = _answer(matcher, "rank", rank)
                plain = _answer(matcher, "rank", dict(rank, feedback=False))
            else:
                rank.pop("profile")
                rank.pop("weights", None)
                compare = {"request": rank, "a": {"profile": rnd.choice(PROFILES[1:])},
                           "b": {"weights": {"price": 1.0, "distance": 2.0}}}  # fmt: skip
                answer = _answer(matcher, "compare", compare)
                plain = _answer(matcher, "compare",
                                dict(compare, request=dict(rank, feedback=False)))  # fmt: skip
        out.append(f"{kind} {hashlib.sha256(answer).hexdigest()}")
        without.append(f"{kind} {hashlib.sha256(plain).hexdigest()}")
    return out, without


def test_many_seeded_answers_are_unchanged(matcher: Matcher) -> None:
    """Every seeded answer's digest equals its golden one; with "feedback": false, the one
    written before feedback existed (`many-answers-no-feedback.json` is never regenerated)."""
    digests, without = answers(matcher)
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(digests, indent=0) + "\n")
    for name, got in ((GOLDEN, digests), (GOLDEN_NO_FEEDBACK, without)):
        expected = json.loads(name.read_text())
        changed = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
        assert not changed, f"{name.name}: {len(changed)} changed, first at {changed[:10]}"
