"""The synthetic referral stream: deterministic, valid, and in plausible proportions."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import geodata
from matcher.batch.demo_referrals import generate_referrals
from matcher.cli.main import main
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.vocabulary.catalogue import LOTS_BY_DPV, Dpv


@pytest.fixture(scope="module")
def stream() -> list[dict[str, Any]]:
    return generate_referrals(3000, seed=11)


def test_same_seed_same_stream() -> None:
    """Deterministic per seed; another seed, another stream."""
    assert generate_referrals(50, seed=5) == generate_referrals(50, seed=5)
    assert generate_referrals(50, seed=5) != generate_referrals(50, seed=6)


def test_every_referral_is_a_valid_resolvable_request(stream: list[dict[str, Any]]) -> None:
    """Each body validates as a ShortlistRequest and resolves (authority, district)."""
    ids = set()
    for body in stream[:600]:
        req = ShortlistRequest.model_validate(body)
        resolve_criteria(req, 200)
        ids.add(req.referral_id)
    assert len(ids) == 600


def test_proportions_are_plausible(stream: list[dict[str, Any]]) -> None:
    """Fostering the largest share; residential children are teenagers; sibling groups only
    in fostering; parent-and-child referrals carry that need; some district origins."""
    n = len(stream)
    dpv = Counter(r["dpv"] for r in stream)
    assert dpv["fostering"] > dpv["residential"] > dpv["sen"] > 0
    assert 0.5 < dpv["fostering"] / n < 0.7
    for r in stream:
        assert r["lot"] in {lot.value for lot in LOTS_BY_DPV[Dpv(r["dpv"])]}
    residential_ages = [r["child"]["age"] for r in stream if r["dpv"] == "residential"]
    assert sum(a >= 10 for a in residential_ages) / len(residential_ages) > 0.95
    assert all(r["dpv"] == "fostering" for r in stream if r["sibling_group_size"] > 1)
    assert all("parent_and_child" in r["child"]["needs"]
               for r in stream if r["lot"] == "parent_and_child")  # fmt: skip
    assert 0.2 < sum("origin" in r for r in stream) / n < 0.5
    genders = Counter(r["child"]["gender"] for r in stream)
    assert genders["male"] > genders["female"] > genders["other"]


def test_authorities_are_drawn_by_population(stream: list[dict[str, Any]]) -> None:
    """The most populous authorities appear most; the share tracks the postcode count."""
    counts = Counter(r["placing_authority"] for r in stream)
    authorities = {a.code: a for a in geodata.authorities()}
    total = sum(a.postcode_count for a in authorities.values())
    top = max(authorities.values(), key=lambda a: a.postcode_count)
    expected = len(stream) * top.postcode_count / total
    assert abs(counts[top.code] - expected) < 4 * expected**0.5 + 5


def test_cli_writes_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`matcher demo-referrals --n 5 --seed 1` to a file or to stdout: the same lines."""
    out = tmp_path / "refs.jsonl"
    assert main(["demo-referrals", "--n", "5", "--seed", "1", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert [json.loads(x) for x in lines] == generate_referrals(5, seed=1)
    assert main(["demo-referrals", "--n", "5", "--seed", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
