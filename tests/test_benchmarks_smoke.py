"""The benchmark code must not rot: each harness runs at toy size and yields the right shapes.

Not a performance test (nothing here asserts a speed). PostGIS needs root and Debian
packages, so only its SQL builder is checked, without a server.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from benchmarks import stats
from benchmarks.postgis import sql
from benchmarks.referrals import referral_bodies
from benchmarks.report import write_report
from benchmarks.stats import turns
from matcher.match.request import ShortlistRequest, resolve_criteria
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex

ROOT = Path(__file__).resolve().parents[1]
CORE_OPS = {
    "shortlist_index",
    "shortlist_strtree",
    "shortlist_rtree",
    "shortlist_bruteforce",
    "matcher_shortlist",
    "matcher_shortlist_model",
    "matcher_shortlist_json",
    "rank_price_50",
    "rank_best_match_50",
    "rank_price_50_no_feedback",
    "rank_best_match_50_no_feedback",
}
LATENCY_KEYS = {"count", "mean_us", "p50_us", "p95_us", "p99_us", "max_us"}


def _run(*argv: str, timeout: float = 60) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="session")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with a tiny core run and a ~1 s-per-step HTTP run."""
    folder = tmp_path_factory.mktemp("bench-results")
    _run(
        "core",
        "--sizes",
        "1000",
        "--queries",
        "8",
        "--referrals",
        "4",
        "--budget",
        "1",
        "--no-alternatives",
        "--out",
        str(folder / "core.json"),
    )
    _run(
        "http",
        "--workers",
        "1",
        "--connections",
        "1",
        "4",
        "--duration",
        "1",
        "--rates",
        "20",
        "--max-requests",
        "300",
        "--referrals",
        "4",
        "--out",
        str(folder / "http.json"),
    )
    return folder


def _json(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


@pytest.mark.slow
def test_core_suite_reports_every_operation_with_identical_answers(results: Path) -> None:
    """One size: build times, RSS, parity flags, and p50/p95/p99 for every operation."""
    doc = _json(results / "core.json")
    (size,) = doc["sizes"]
    assert size["listings"] == 1000
    assert set(size["build_s"]) >= {"packed", "strtree", "rtree"}
    assert size["rss_after_index_mb"] > 0
    assert size["parity"] == {
        "strtree_identical": True,
        "rtree_identical": True,
        "bruteforce_identical": True,
    }
    assert set(size["ops"]) == CORE_OPS
    for op in size["ops"].values():
        assert set(op) >= LATENCY_KEYS
        assert op["count"] >= 4 and 0 < op["p50_us"] <= op["p99_us"]
    steal = doc["machine"]["cpu_steal_percent"]  # None only where no tick passed
    assert steal is None or 0 <= steal <= 100


@pytest.mark.slow
def test_http_harness_measures_matcher_and_bare_baseline_without_errors(results: Path) -> None:
    """Closed-loop steps per connection count and an open-loop step, for both targets and
    both paths, and a verdict per path."""
    doc = _json(results / "http.json")
    assert [(r["target"], r["path"], r["workers"]) for r in doc["runs"]] == [
        ("matcher", "/v1/shortlist", 1),
        ("bare", "/v1/shortlist", 1),
        ("matcher", "/v1/rank", 1),
        ("bare", "/v1/rank", 1),
    ]
    for run in doc["runs"]:
        assert [s["connections"] for s in run["closed"]] == [1, 4]
        assert [s["target_rps"] for s in run["open"]] == [20.0]
        for step in run["closed"] + run["open"]:
            assert step["errors"] == 0
            assert step["requests"] > 0 and step["rps"] > 0
            assert set(step["latency"]) >= {"p50_us", "p95_us", "p99_us", "max_us"}
    for key in ("workers_1_v1_shortlist", "workers_1_v1_rank"):
        assert set(doc["verdict"][key]) >= {"ratio", "matcher_p99_ms", "ratio_met", "errors"}


@pytest.mark.slow
def test_report_writes_markdown_and_plots(results: Path) -> None:
    """The report turns the JSON into README.md and PNGs."""
    out = write_report(results)
    text = out.read_text(encoding="utf-8")
    assert "In-process suite" in text and "HTTP load" in text
    assert "(steal, as a share of both CPUs' time, idle included): core " in text
    for png in ("latency_vs_size.png", "http_latency.png"):
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_referral_workload_is_fixed_and_half_urban() -> None:
    """The same seed gives the same 40 referrals; the first 20 are London/metropolitan."""
    bodies = referral_bodies(40, 0)
    assert bodies == referral_bodies(40, 0)
    assert all(b["placing_authority"].startswith(("E08", "E09")) for b in bodies[:20])
    assert not any(b["placing_authority"].startswith(("E08", "E09")) for b in bodies[20:])
    assert all(10 <= b["max_distance_miles"] <= 50 for b in bodies)


def test_postgis_sql_names_only_parameters_it_is_given() -> None:
    """Every placeholder of every SQL form has a value, and COPY rows fit the columns."""
    index = RegistryIndex.build(generate(200, 0))
    req = ShortlistRequest.model_validate(referral_bodies(2, 0)[0])
    params = sql.params(index, resolve_criteria(req, 200.0), limit=50)
    for variant in sql.RADIUS:
        for limited in (True, False):
            text = sql.shortlist_sql(variant, limited)
            assert "ST_DWithin(l.geog" in text and 'ORDER BY distance_m, l.id COLLATE "C"' in text
            assert set(re.findall(r"%\((\w+)\)s", text)) <= set(params)
    rows = list(sql.listing_rows(index))
    assert len(rows) == 200
    assert {len(r) for r in rows} == {len(sql.LISTING_COLUMNS)}
    assert rows[0][-2].startswith("SRID=4326;POINT(") and rows[0][-1].startswith("SRID=27700;")


def test_cpu_steal_is_the_stolen_share_of_every_tick_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Steal since a reading: the stolen ticks over all ticks since it, from /proc/stat."""
    now = stats.cpu_ticks()
    assert now is not None and 0 <= now[0] <= now[1]  # Linux: the first line of /proc/stat
    monkeypatch.setattr(stats, "cpu_ticks", lambda: (35, 1100))
    assert stats.steal_percent((10, 1000)) == 25.0
    assert stats.steal_percent((35, 1100)) is None  # no tick since
    assert stats.steal_percent(None) is None


def test_contenders_take_turns_in_varied_orders() -> None:
    """Every order holds each contender once; over many steps each runs first, and right
    after each other contender, about equally often; the same step gives the same order."""
    names = ["matcher_0", "matcher_20", "pg_a", "pg_b", "pg_c", "pg_d"]
    orders = [turns(names, step) for step in range(1200)]
    assert all(sorted(order) == sorted(names) for order in orders)
    first = Counter(order[0] for order in orders)
    assert set(first) == set(names) and min(first.values()) > 1200 / 6 * 0.7
    follows = Counter(pair for order in orders for pair in itertools.pairwise(order))
    assert len(follows) == 30 and min(follows.values()) > 1200 * 5 / 30 * 0.7
    assert turns(names, 7) == orders[7]


def test_feedback_harness_runs_at_toy_size(tmp_path: Path) -> None:
    """`python -m benchmarks feedback`: rank with and without feedback, market in-process."""
    out = tmp_path / "feedback.json"
    _run("feedback", "--requests", "12", "--rank-bids", "6", "--rank-queries", "8",
         "--skip-http", "--out", str(out))  # fmt: skip
    doc = json.loads(out.read_text())
    assert doc["rank"]["with_feedback_p50_us"] > 0 and doc["rank"]["without_feedback_p50_us"] > 0
    assert doc["market_input"]["requests"] == 12 and doc["market"]["providers"] > 0


def test_asgi_attribution_times_every_variant_of_both_paths(tmp_path: Path) -> None:
    """`python -m benchmarks asgi`: every variant answers 200 (the harness exits otherwise)
    and gets a p50, for both paths."""
    out = tmp_path / "asgi.json"
    _run("asgi", "--passes", "1", "--referrals", "3", "--out", str(out), timeout=180)
    results = _json(out)["results"]
    variants = {"bare_def", "bare_async", "matcher", "matcher_threaded",
                "matcher_no_access_log", "matcher_no_middleware", "compute"}  # fmt: skip
    assert set(results) == {"/v1/shortlist", "/v1/rank"}
    for path in results.values():
        assert set(path) == variants
        assert all(v["count"] == 3 and v["p50_us"] > 0 for v in path.values())


@pytest.mark.slow
def test_load_suite_reports_both_workers_and_memory(tmp_path: Path) -> None:
    """One toy size: a first and a second worker, each with times, RSS and memory split."""
    out = tmp_path / "load.json"
    _run("load", "--sizes", "2000", "--workdir", str(tmp_path / "work"), "--out", str(out))
    (size,) = _json(out)["sizes"]
    assert size["listings"] == 2000 and size["same_version"]
    # A toy file starts no helper process; the one-process run is there for the comparison.
    assert size["first"]["helper_chunks"] == "-" and size["first_alone"]["load_s"] > 0
    for worker in (size["first"], size["second"]):
        assert worker["load_s"] > 0 and worker["peak_rss_mb"] >= worker["rss_before_mb"] > 0
        assert set(worker["registry_bytes_mb"]) == {"numeric", "text", "lookup"}
