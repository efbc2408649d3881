"""Sufficiency: per-referral counts equal the shortlist's; aggregates add up; gaps show."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.catalogue import NEED_BIT, Need
from matcher.cli import main
from matcher.demo_referrals import generate_referrals
from matcher.index import RegistryIndex
from matcher.requests import ShortlistRequest
from matcher.service import Matcher
from matcher.sufficiency import sufficiency_answer


@pytest.fixture(scope="module")
def stream() -> list[ShortlistRequest]:
    return [ShortlistRequest.model_validate(r) for r in generate_referrals(60, seed=4)]


def answer_for(index: RegistryIndex, requests: list[ShortlistRequest]) -> dict[str, Any]:
    return sufficiency_answer(index, "v", requests, [20, 50], 10_000, 200)


def test_counts_equal_the_shortlist_one_referral_at_a_time(
    matcher: Matcher, stream: list[ShortlistRequest]
) -> None:
    """Eligible counts at each radius and the nearest distance match `shortlist`."""
    answer = answer_for(matcher.snapshot.index, stream)
    for req, row in zip(stream, answer["referrals"], strict=True):
        for radius in (20, 50):
            single = matcher.shortlist(
                req.model_copy(update={"max_distance_miles": float(radius), "limit": 1})
            )
            assert row["eligible"][str(radius)] == single.eligible_count, req.referral_id
            if radius == 50 and single.shortlist:
                assert row["nearest_eligible_miles"] == pytest.approx(
                    single.shortlist[0].distance_miles, abs=1e-3
                )


def test_aggregates_add_up(matcher: Matcher, stream: list[ShortlistRequest]) -> None:
    """Each grouping covers every referral once (needs: once per need, or 'none')."""
    agg = answer_for(matcher.snapshot.index, stream)["aggregates"]
    n = len(stream)
    assert agg["overall"]["referrals"] == n
    for key in ("by_authority", "by_dpv_lot", "by_age_band"):
        assert sum(row["referrals"] for row in agg[key].values()) == n
    per_need = sum(max(1, len(r.child.needs)) for r in stream)
    assert sum(row["referrals"] for row in agg["by_need"].values()) == per_need
    assert sum(agg["binding_constraints"].values()) == n
    thin = sum(1 for r in answer_for(matcher.snapshot.index, stream)["referrals"]
               if r["eligible"]["20"] < 3)  # fmt: skip
    assert agg["overall"]["thin_market_share"] == round(thin / n, 4)


def test_a_need_nobody_supports_is_entirely_thin(index: RegistryIndex) -> None:
    """Clear one need from every listing: every referral needing it finds nothing."""
    bit = np.uint32(NEED_BIT[Need.SUBSTANCE_MISUSE])
    registry = dataclasses.replace(index.registry, needs_mask=index.registry.needs_mask & ~bit)
    bare = RegistryIndex.build(registry)
    requests = [
        ShortlistRequest.model_validate(r | {"child": r["child"] | {"needs": ["substance_misuse"]}})
        for r in generate_referrals(20, seed=9)
    ]
    agg = answer_for(bare, requests)["aggregates"]
    assert agg["by_need"]["substance_misuse"]["thin_market_share"] == 1.0
    assert agg["by_need"]["substance_misuse"]["median_eligible"] == 0
    assert agg["need_gaps"]["substance_misuse"] > 0


def test_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`matcher demo-referrals` then `matcher sufficiency --report DIR`."""
    refs = tmp_path / "refs.jsonl"
    assert main(["demo-referrals", "--n", "40", "--seed", "2", "--out", str(refs)]) == 0
    report = tmp_path / "report"
    assert main(["sufficiency", str(refs), "--report", str(report)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["aggregates"]["overall"]["referrals"] == 40
    for name in ("summary.md", "by_need.csv", "thin_market_by_need.png", "median_eligible_map.png"):
        assert (report / name).stat().st_size > 0


def test_bad_referral_in_a_batch_names_its_position(matcher: Matcher) -> None:
    """One unknown authority among many: the error names the referral's index."""
    from matcher.errors import UnknownAuthorityError

    bodies = generate_referrals(5, seed=1)
    bodies[3]["placing_authority"] = "Atlantis"
    requests = [ShortlistRequest.model_validate(b) for b in bodies]
    with pytest.raises(UnknownAuthorityError) as info:
        answer_for(matcher.snapshot.index, requests)
    assert info.value.details[0].field == "referrals.3.placing_authority"


def test_demo_referrals_are_deterministic() -> None:
    """Same seed, same stream."""
    assert generate_referrals(30, seed=5) == generate_referrals(30, seed=5)
    assert generate_referrals(30, seed=5) != generate_referrals(30, seed=6)


def test_http_sufficiency_and_allocate_answer() -> None:
    """Both batch endpoints answer over HTTP with the documented examples' shape."""
    from matcher.http.examples import ALLOCATE, SUFFICIENCY
    from tests.test_http_helpers import client_for

    with client_for() as client:
        resp = client.post("/v1/sufficiency", json=SUFFICIENCY)
        assert resp.status_code == 200, resp.text
        assert resp.json()["aggregates"]["overall"]["referrals"] == 2
        assert resp.headers["server-timing"].startswith("match;dur=")
        resp = client.post("/v1/allocate", json=ALLOCATE)
        assert resp.status_code == 200, resp.text
        plan = resp.json()
        assert {"optimal", "greedy", "unplaced", "gain"} <= set(plan)
