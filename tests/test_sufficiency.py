"""Sufficiency: the batch path gives what one-referral-at-a-time gives; aggregates add up."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.models import SufficiencyResponse
from matcher.batch.sufficiency import CANDIDATE_FILTER, CHECKS_2D
from matcher.batch.sufficiency_report import MAP_CLASS_LABELS, map_class, sufficiency_response
from matcher.cli.main import main
from matcher.match.eligibility import CHECKS, reason_bits
from matcher.match.radius import OriginPoint, rows_within
from matcher.match.request import METRES_PER_MILE, ShortlistRequest, resolve_criteria
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.service import Matcher, Snapshot
from matcher.vocabulary.catalogue import LOTS_BY_DPV, NEED_BIT, NEEDS_BY_BIT, Need
from matcher.vocabulary.errors import LimitExceededError, UnknownAuthorityError
from matcher.vocabulary.reasons import REASON_BIT, REASONS_BY_BIT, Reason

RADII = [20.0, 50.0]


@pytest.fixture(scope="module")
def stream(matcher: Matcher) -> list[ShortlistRequest]:
    """80 demo referrals (a third from postcode districts), some excluding listings they
    would otherwise find, some requiring a rating of good or an inspected setting."""
    out = []
    for i, body in enumerate(generate_referrals(80, seed=4)):
        req = ShortlistRequest.model_validate(body)
        if i % 7 == 0:
            wide = req.model_copy(update={"max_distance_miles": 50.0, "limit": 3})
            found = [e.listing_id for e in matcher.shortlist(wide).shortlist]
            req = req.model_copy(update={"exclude_listing_ids": found[:2]})
        out.append(req)
    return out


@pytest.fixture(scope="module")
def answer(matcher: Matcher, stream: list[ShortlistRequest]) -> SufficiencyResponse:
    return respond(matcher.snapshot.index, stream)


def respond(index: RegistryIndex, requests: list[ShortlistRequest]) -> SufficiencyResponse:
    return sufficiency_response(index, "v", requests, RADII, 10_000, 200)


def test_the_stream_exercises_every_path(stream: list[ShortlistRequest]) -> None:
    """The fixture has district origins, exclusions, stricter ratings and sibling groups."""
    assert any(r.origin is not None for r in stream)
    assert any(r.exclude_listing_ids for r in stream)
    assert any(r.min_ofsted_rating == "good" for r in stream)
    assert any(not r.accept_not_yet_inspected for r in stream)
    assert any(r.sibling_group_size > 1 for r in stream)


def test_counts_equal_the_shortlist_one_referral_at_a_time(
    matcher: Matcher, stream: list[ShortlistRequest], answer: SufficiencyResponse
) -> None:
    """Eligible counts at each radius and the nearest distance are what `shortlist` says."""
    for req, row in zip(stream, answer.referrals, strict=True):
        assert row.referral_id == req.referral_id
        for radius in RADII:
            single = matcher.shortlist(
                req.model_copy(update={"max_distance_miles": radius, "limit": 1})
            )
            assert row.eligible[f"{radius:g}"] == single.eligible_count, req.referral_id
        if single.shortlist:
            assert row.nearest_eligible_miles == pytest.approx(
                single.shortlist[0].distance_miles, abs=1e-3
            )
        else:
            assert row.nearest_eligible_miles is None


def _reference(index: RegistryIndex, req: ShortlistRequest) -> dict[str, Any]:
    """Binding constraint, need gaps, candidates and in-area from `reason_bits`, directly."""
    c = resolve_criteria(req, 200)
    rows, _ = rows_within(index, OriginPoint.of(c.origin.lat, c.origin.lon), 20 * METRES_PER_MILE)
    bits = reason_bits(index, rows, c)
    kind = (bits & (REASON_BIT[Reason.DPV_MISMATCH] | REASON_BIT[Reason.LOT_NOT_APPROVED])) == 0
    rows, bits = rows[kind], bits[kind]
    counts = [int(np.count_nonzero(bits & np.uint32(REASON_BIT[r]))) for r in REASONS_BY_BIT]
    top = max(counts, default=0)
    binding = REASONS_BY_BIT[counts.index(top)].value if top else None
    gaps = set()
    for row in rows[bits == REASON_BIT[Reason.NEEDS_NOT_MET]].tolist():
        lacking = c.needs_mask & ~int(index.registry.needs_mask[row])
        if lacking & (lacking - 1) == 0:
            gaps.add(NEEDS_BY_BIT[lacking.bit_length() - 1].value)
    own = np.array(
        [r for r, code in enumerate(index.authority_codes) if code == c.authority_code], dtype=int
    )
    return {
        "candidates": len(rows),
        "binding": "too_far" if len(rows) == 0 else binding,
        "binding_excluded": top,
        "gaps": sorted(gaps),
        "in_area": bool(np.any(reason_bits(index, own, c) == 0)) if len(own) else False,
    }


def test_reasons_gaps_and_in_area_equal_a_direct_computation(
    matcher: Matcher, stream: list[ShortlistRequest], answer: SufficiencyResponse
) -> None:
    """Binding constraint, need gaps and in-area as the module docstring defines them,
    computed one referral at a time with `eligibility.reason_bits`."""
    index = matcher.snapshot.index
    for req, row in zip(stream, answer.referrals, strict=True):
        ref = _reference(index, req)
        assert row.candidates == ref["candidates"], req.referral_id
        assert row.binding_constraint == ref["binding"], req.referral_id
        assert row.binding_constraint_excluded == ref["binding_excluded"], req.referral_id
        assert sorted(row.need_gaps) == ref["gaps"], req.referral_id
        assert row.in_area_possible == ref["in_area"], req.referral_id


def test_every_eligibility_criterion_is_evaluated() -> None:
    """A criterion added to `eligibility.CHECKS` must be added to the batch path too."""
    batch = {reason for reason, _ in CHECKS_2D} | set(CANDIDATE_FILTER)
    assert batch == {reason for reason, _ in CHECKS}


def test_aggregates_add_up(answer: SufficiencyResponse, stream: list[ShortlistRequest]) -> None:
    """Each grouping covers every referral once (needs: once per need, or 'none')."""
    agg = answer.aggregates
    n = len(stream)
    assert agg.overall.referrals == n
    for table in (agg.by_authority, agg.by_dpv_lot, agg.by_age_band):
        assert sum(g.referrals for g in table.values()) == n
    per_need = sum(max(1, len(r.child.needs)) for r in stream)
    assert sum(g.referrals for g in agg.by_need.values()) == per_need
    assert sum(agg.binding_constraints.values()) == n
    thin = [r for r in answer.referrals if r.eligible["20"] < 3]
    assert agg.overall.thin_market_share == round(len(thin) / n, 4)
    assert all(r.thin_market == (r in thin) for r in answer.referrals)
    for need, gap in agg.need_gaps.items():
        assert gap.referrals == sum(need in r.need_gaps for r in answer.referrals)
        assert gap.thin_market_referrals <= gap.referrals
    assert set(agg.by_age_band) <= {"0-4", "5-10", "11-15", "16-17", "18+"}
    assert all(g.name for g in agg.by_authority.values())


def test_a_need_nobody_supports_is_entirely_thin(index: RegistryIndex) -> None:
    """Clear one need from every listing: every referral needing it finds nothing, and the
    need shows as a gap wherever a listing lacked only that need."""
    bit = np.uint32(NEED_BIT[Need.SUBSTANCE_MISUSE])
    registry = dataclasses.replace(index.registry, needs_mask=index.registry.needs_mask & ~bit)
    bare = RegistryIndex.build(registry)
    requests = [
        ShortlistRequest.model_validate(r | {"child": r["child"] | {"needs": ["substance_misuse"]}})
        for r in generate_referrals(20, seed=9)
    ]
    agg = respond(bare, requests).aggregates
    assert agg.by_need["substance_misuse"].thin_market_share == 1.0
    assert agg.by_need["substance_misuse"].median_eligible == 0
    assert agg.by_need["substance_misuse"].in_area_share == 0
    assert agg.need_gaps["substance_misuse"].referrals > 0


def test_same_batch_same_answer(matcher: Matcher, stream: list[ShortlistRequest]) -> None:
    """Deterministic, with a decision id that changes with the batch."""
    a = respond(matcher.snapshot.index, stream[:20])
    b = respond(matcher.snapshot.index, stream[:20])
    assert a.model_dump_json() == b.model_dump_json()
    assert respond(matcher.snapshot.index, stream[:19]).decision_id != a.decision_id


def test_limits_and_bad_referrals_name_their_position(matcher: Matcher) -> None:
    """Too many referrals or too wide a radius: limit_exceeded; an unknown authority in the
    batch names the referral's index."""
    requests = [ShortlistRequest.model_validate(b) for b in generate_referrals(5, seed=1)]
    index = matcher.snapshot.index
    with pytest.raises(LimitExceededError):
        sufficiency_response(index, "v", requests, RADII, 4, 200)
    with pytest.raises(LimitExceededError):
        sufficiency_response(index, "v", requests, [20, 300], 10, 200)
    bad = requests[3].model_copy(update={"placing_authority": "Atlantis"})
    with pytest.raises(UnknownAuthorityError) as info:
        respond(index, [*requests[:3], bad])
    assert info.value.details[0].field == "referrals.3.placing_authority"


def test_cli_reads_json_lines_or_an_array_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`matcher demo-referrals`, then `matcher sufficiency --radii 10 25 --report DIR`."""
    lines = tmp_path / "refs.jsonl"
    assert main(["demo-referrals", "--n", "40", "--seed", "2", "--out", str(lines)]) == 0
    report = tmp_path / "report"
    args = ["sufficiency", str(lines), "--radii", "10", "25", "--report", str(report)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["aggregates"]["overall"]["referrals"] == 40
    assert out["aggregates"]["thin_market_radius_miles"] == 10
    assert set(out["referrals"][0]["eligible"]) == {"10", "25"}
    files = ["summary.md", "referrals.csv", "by_authority.csv", "by_need.csv", "need_gaps.csv",
             "thin_market_by_need.png", "median_eligible_map.png"]  # fmt: skip
    for name in files:
        assert (report / name).stat().st_size > 0, name
    assert (report / "median_eligible_map.png").read_bytes()[:4] == b"\x89PNG"
    assert "Thin markets" in (report / "summary.md").read_text()

    array = tmp_path / "refs.json"
    array.write_text(json.dumps([json.loads(x) for x in lines.read_text().splitlines()]))
    assert main(["sufficiency", str(array), "--radii", "10", "25"]) == 0
    assert json.loads(capsys.readouterr().out) == out


@pytest.mark.parametrize(
    ("median", "label"),
    [
        (0.0, "under 1"),
        (0.5, "under 1"),  # half the referrals have nothing
        (1.0, "1 to 2.5"),
        (2.5, "1 to 2.5"),  # still below the thin-market threshold of 3
        (3.0, "3 to 4.5"),
        (9.5, "5 to 9.5"),
        (10.0, "10 to 19.5"),
        (49.5, "20 to 49.5"),
        (50.0, "50 or more"),
        (4000.0, "50 or more"),
    ],
)
def test_map_classes_keep_thin_medians_apart(median: float, label: str) -> None:
    """The map's colour classes: every median falls in the class its label names."""
    assert MAP_CLASS_LABELS[map_class(median)] == label


def test_cli_refusals_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad line is named; a bad radius is refused; both as the canonical error body."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(generate_referrals(1)[0]) + "\n" + '{"referral_id": "x"}\n')
    assert main(["sufficiency", str(bad)]) == 1
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["details"][0]["field"].startswith("line 2")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(generate_referrals(1)[0]) + "\n")
    assert main(["sufficiency", str(good), "--radii", "-5"]) == 1
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "invalid_request"


def test_http_sufficiency_and_allocate_answer() -> None:
    """Both batch endpoints answer over HTTP with the documented examples' shape."""
    from matcher.http.examples import ALLOCATE, SUFFICIENCY
    from tests.test_http_helpers import client_for

    with client_for() as client:
        resp = client.post("/v1/sufficiency", json=SUFFICIENCY)
        assert resp.status_code == 200, resp.text
        SufficiencyResponse.model_validate(resp.json())
        assert resp.json()["aggregates"]["overall"]["referrals"] == 2
        resp = client.post("/v1/allocate", json=ALLOCATE)
        assert resp.status_code == 200, resp.text
        assert {"optimal", "greedy", "unplaced", "gain"} <= set(resp.json())


@pytest.mark.parametrize("backend", ["strtree", "rtree", "scan"])
def test_kinds_with_few_or_no_listings_on_every_backend(backend: str) -> None:
    """Four listings leave most DPV/lot kinds empty: each kind's own R-tree must still answer
    (found: libspatialindex refused to bulk-load an empty rtree), and the counts still equal
    the shortlist's."""
    index = RegistryIndex.build(generate(4, 1), backend=backend)
    matcher = Matcher(Snapshot(index=index, source="tiny"))
    requests = [
        ShortlistRequest.model_validate(
            {"referral_id": f"{dpv.value}-{lot.value}", "placing_authority": "Harrow",
             "dpv": dpv.value, "lot": lot.value, "child": {"age": 12, "gender": "male"},
             "start_date": "2026-12-01", "max_distance_miles": 200}
        )
        for dpv, lots in LOTS_BY_DPV.items()
        for lot in lots
    ]  # fmt: skip
    rows = sufficiency_response(index, "v", requests, [20, 200], 100, 200).referrals
    for req, row in zip(requests, rows, strict=True):
        single = matcher.shortlist(req)
        assert row.eligible["200"] == single.eligible_count, req.referral_id
        if row.candidates == 0:
            assert row.binding_constraint == "too_far"
