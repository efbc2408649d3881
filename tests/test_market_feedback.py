"""Market feedback: every count equals what `rank` and `shortlist` give one referral at a
time; one provider's view is its part of the whole and names no one else; bad input is
refused naming the field; the CLI, HTTP and the report agree."""

from __future__ import annotations

import csv
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from matcher.batch.demo_bids import add_bids
from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.market_models import MarketFeedbackRequest, MarketFeedbackResponse
from matcher.batch.market_report import write_report
from matcher.bids.request import RankRequest
from matcher.cli.main import main
from matcher.http.app import create_app
from matcher.match.request import ShortlistRequest
from matcher.registry.index import RegistryIndex
from matcher.service import Limits, Matcher, Snapshot
from matcher.settings import Settings
from matcher.vocabulary.catalogue import NEEDS_BY_BIT
from matcher.vocabulary.errors import RequestError, TimeLimitExceededError, UnknownProviderError
from tests.test_http_helpers import TestClient

N = 48


@pytest.fixture(scope="module")
def bodies(index: RegistryIndex) -> list[dict[str, Any]]:
    """Demo referrals with up to 6 bids each, one referral nobody bid for, and bids for an
    unknown listing and a listing above its ceiling."""
    out = add_bids(index, generate_referrals(N, seed=3), 6, seed=3)
    out[0] = {**out[0], "bids": []}
    first = next(b for b in out if len(b["bids"]) >= 2)
    first["bids"] = [*first["bids"], {"bid_id": "B-unknown", "listing_id": "NOPE-1",
                                      "weekly_fee_gbp": "1000.00"}]  # fmt: skip
    assert sum(len(b["bids"]) for b in out) > 2 * N
    return out


@pytest.fixture(scope="module")
def answer(matcher: Matcher, bodies: list[dict[str, Any]]) -> MarketFeedbackResponse:
    req = MarketFeedbackRequest(requests=[RankRequest.model_validate(b) for b in bodies])
    return matcher.market_feedback(req)


def listings_of(answer: MarketFeedbackResponse) -> dict[str, Any]:
    return {x.listing_id: x for p in answer.providers for x in p.listings}


def one_at_a_time_bids(matcher: Matcher, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Per listing, the bid counts aggregated from `rank` answers, one referral at a time."""
    per: dict[str, Any] = defaultdict(lambda: {
        "bids": 0, "ranked": 0, "won": 0, "lost": Counter(), "rejected": 0,
        "rejected_by_reason": Counter(), "gaps_price": [], "gaps": [],
        "lost_most_on": Counter(), "fee_referrals": set(), "cuts": []})  # fmt: skip
    for i, body in enumerate(bodies):
        if not body["bids"]:
            continue
        ans = matcher.rank_answer(RankRequest.model_validate(body)).data()
        for e in ans["ranked"] + ans["rejected"]:
            t, fb = per[e["listing_id"]], e["feedback"]
            t["bids"] += 1
            if fb["outcome"] == "rejected":
                t["rejected"] += 1
                t["rejected_by_reason"].update(r["reason"] for r in fb["reasons"])
            else:
                t["ranked"] += 1
                t["won"] += fb["outcome"] == "won"
                if fb["outcome"] == "lost":
                    t["lost"][fb["lost_on"]] += 1
                    t["gaps"].append(fb["price_gap_percent"])
                    if fb["lost_on"] == "price":
                        t["gaps_price"].append(fb["price_gap_percent"])
                    if fb["components"]:
                        t["lost_most_on"][fb["components"][0]["component"]] += 1
            fee = fb["fee_to_rank_first"]
            if fb["outcome"] == "lost" and fee["possible"]:
                t["fee_referrals"].add(i)
                t["cuts"].append(fee["fee_cut_percent"])
    return per


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def test_bid_counts_equal_rank_one_referral_at_a_time(
    matcher: Matcher, bodies: list[dict[str, Any]], answer: MarketFeedbackResponse
) -> None:
    """Bids, outcomes, rejections, medians, components and the lower-fee change of every
    listing equal the aggregate of `rank`'s feedback, referral by referral."""
    expected = one_at_a_time_bids(matcher, bodies)
    got = listings_of(answer)
    assert set(expected) - {"NOPE-1"} == {lid for lid, x in got.items() if x.stats.bids}
    for lid, e in expected.items():
        if lid == "NOPE-1":
            continue
        s = got[lid].stats
        assert (s.bids, s.ranked, s.won, s.rejected) == (e["bids"], e["ranked"], e["won"],
                                                         e["rejected"]), lid  # fmt: skip
        assert s.lost == dict(e["lost"]) and s.rejected_by_reason == dict(e["rejected_by_reason"])
        assert s.median_price_gap_percent_lost_on_price == median(e["gaps_price"])
        assert s.median_price_gap_percent_lost == median(e["gaps"])
        assert s.lost_most_on == dict(e["lost_most_on"])
        fee = [c for c in got[lid].changes if c.change == "lower_fee"]
        if e["fee_referrals"]:
            assert fee[0].referrals == len(e["fee_referrals"])
            assert fee[0].median_fee_cut_percent == median(e["cuts"])
        else:
            assert not fee
    market = answer.market
    assert market is not None
    assert market.stats.bids == sum(len(b["bids"]) for b in bodies) == answer.bids
    assert market.stats.rejected_by_reason["unknown_listing"] == 1
    ranked_any = sum(
        1 for b in bodies
        if b["bids"] and matcher.rank_answer(RankRequest.model_validate(b)).data()["ranked"]
    )  # fmt: skip
    assert market.referrals_without_valid_bid == N - ranked_any


def shortlist_of(matcher: Matcher, body: dict[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in body.items()
            if k not in ("bids", "order_by", "profile", "weights", "tie_epsilon",
                         "start_tolerance_days", "feedback")}  # fmt: skip
    req = ShortlistRequest.model_validate({**keep, "limit": 500, "explain": True,
                                           "explain_limit": 1000})  # fmt: skip
    out: dict[str, Any] = matcher.shortlist_answer(req).data()
    assert out["excluded_within_radius_count"] == len(out["excluded_within_radius"])
    return out


def test_eligibility_counts_equal_shortlist_one_referral_at_a_time(
    matcher: Matcher, bodies: list[dict[str, Any]], answer: MarketFeedbackResponse
) -> None:
    """In scope, eligible, excluded by reason, near misses, and the vacancy and need changes
    of every listing equal what `shortlist` says of each referral (other DPVs aside)."""
    reg = matcher.snapshot.index.registry
    counts: dict[str, Any] = defaultdict(lambda: {
        "in_scope": 0, "eligible": 0, "by_reason": Counter(), "near": Counter(),
        "vacancy": 0, "needs": Counter()})  # fmt: skip
    for body in bodies:
        sl = shortlist_of(matcher, body)
        assert sl["eligible_count"] == len(sl["shortlist"])
        for e in sl["shortlist"]:
            counts[e["listing_id"]]["in_scope"] += 1
            counts[e["listing_id"]]["eligible"] += 1
        for e in sl["excluded_within_radius"]:
            if "dpv_mismatch" in e["reasons"]:
                continue
            c = counts[e["listing_id"]]
            c["in_scope"] += 1
            c["by_reason"].update(e["reasons"])
            if len(e["reasons"]) == 1:
                (reason,) = e["reasons"]
                c["near"][reason] += 1
                row = reg.row_of(e["listing_id"])
                group = body.get("sibling_group_size", 1)
                if reason == "no_vacancy" and int(reg.vacancies[row]) + 1 == group:
                    c["vacancy"] += 1
                if reason == "needs_not_met" and len(e["missing_needs"]) == 1:
                    c["needs"][e["missing_needs"][0]] += 1
    got = listings_of(answer)
    assert {lid for lid, x in got.items() if x.stats.referrals_in_scope} == set(counts)
    for lid, c in counts.items():
        s = got[lid].stats
        assert (s.referrals_in_scope, s.eligible) == (c["in_scope"], c["eligible"]), lid
        assert s.excluded_by_reason == dict(c["by_reason"]) and s.near_misses == dict(c["near"])
        changes = {(x.change, x.need): x.referrals for x in got[lid].changes}
        assert changes.get(("one_more_vacancy", None), 0) == c["vacancy"]
        for need in NEEDS_BY_BIT:
            assert changes.get(("support_need", need.value), 0) == c["needs"][need.value]
    assert answer.market is not None
    empty = sum(1 for b in bodies if shortlist_of(matcher, b)["eligible_count"] == 0)
    assert answer.market.referrals_without_eligible_listing == empty


def test_the_market_adds_up_and_ranks_changes(answer: MarketFeedbackResponse) -> None:
    """Market counts are the providers' summed; providers' the listings' summed; the best
    change of each is the one with the most referrals."""
    assert answer.market is not None
    for name in ("referrals_in_scope", "eligible", "excluded", "won", "ranked", "rejected"):
        providers = sum(getattr(p.stats, name) for p in answer.providers)
        listings = sum(getattr(x.stats, name) for p in answer.providers for x in p.listings)
        assert providers == listings
        extra = 1 if name == "rejected" else 0  # the bid for an unknown listing
        assert getattr(answer.market.stats, name) == providers + extra
    for p in answer.providers:
        changes = [c for x in p.listings for c in x.changes]
        if changes:
            assert p.best_change is not None
            assert p.best_change.referrals == max(c.referrals for c in changes)
            at = next(x for x in p.listings if x.listing_id == p.best_change.listing_id)
            assert (
                at.best_change is not None and at.best_change.referrals == p.best_change.referrals
            )
    singles = answer.market.best_single_changes
    assert [s.referrals for s in singles] == sorted((s.referrals for s in singles), reverse=True)


def test_one_provider_sees_its_own_part_and_no_one_else(
    matcher: Matcher, bodies: list[dict[str, Any]], answer: MarketFeedbackResponse
) -> None:
    """Asked for one provider: exactly its block of the whole answer, every listing of it,
    no market view, and no other provider's or listing's id anywhere."""
    busiest = max(answer.providers, key=lambda p: (p.stats.bids, p.provider_id))
    req = MarketFeedbackRequest(requests=[RankRequest.model_validate(b) for b in bodies],
                                provider_id=busiest.provider_id)  # fmt: skip
    mine = matcher.market_feedback(req)
    assert mine.market is None and [p.provider_id for p in mine.providers] == [busiest.provider_id]
    (block,) = mine.providers
    assert block.stats == busiest.stats
    active = {x.listing_id: x for x in busiest.listings}
    for x in block.listings:
        assert x == active[x.listing_id] if x.listing_id in active else x.stats.bids == 0
    reg = matcher.snapshot.index.registry
    own = {reg.ids[r] for r in range(reg.size) if reg.provider_ids[r] == busiest.provider_id}
    assert {x.listing_id for x in block.listings} == own
    text = mine.model_dump_json()
    others = {p.provider_id for p in answer.providers} - {busiest.provider_id}
    others |= {x.listing_id for p in answer.providers for x in p.listings} - own
    assert not [o for o in others if f'"{o}"' in text]


def test_an_unknown_provider_is_422_with_suggestions(
    matcher: Matcher, bodies: list[dict[str, Any]], answer: MarketFeedbackResponse
) -> None:
    known = answer.providers[0].provider_id
    typo = known.lower()  # "p000123": ids are case-sensitive
    req = MarketFeedbackRequest(requests=[RankRequest.model_validate(bodies[1])],
                                provider_id=typo)  # fmt: skip
    with pytest.raises(UnknownProviderError) as caught:
        matcher.market_feedback(req)
    (detail,) = caught.value.details
    assert caught.value.status_code == 422 and detail.field == "provider_id"
    assert detail.extra["suggestions"][0] == known


def test_a_bad_request_in_the_batch_names_its_position(
    matcher: Matcher, bodies: list[dict[str, Any]]
) -> None:
    """A request that `rank` refuses is refused with its position in the batch."""
    bad = [RankRequest.model_validate(b) for b in bodies[:5]]
    bad[3] = RankRequest.model_validate({**bodies[3], "placing_authority": "Nowhereshire"})
    with pytest.raises(RequestError) as caught:
        matcher.market_feedback(MarketFeedbackRequest(requests=bad))
    assert caught.value.details[0].field == "requests.3.placing_authority"


@pytest.fixture(scope="module")
def client(index: RegistryIndex) -> Any:
    with TestClient(create_app(Settings(), Snapshot(index=index, source="test"))) as c:
        yield c


BAD_BODIES = [
    # (body, status, code, field)
    ({"requests": []}, 422, "invalid_request", "requests"),
    ({"requests": "all"}, 422, "invalid_request", "requests"),
    ({"requests": [{"referral_id": "R"}]}, 422, "invalid_request", "requests.0.placing_authority"),
    ({"requests": [], "provider": "P1"}, 422, "invalid_request", "requests"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_BODIES)
def test_bad_input_gets_the_canonical_error_naming_the_field(
    client: Any, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    r = client.post("/v1/feedback/market", json=body)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err["details"][0]["field"] == field


def test_bad_bid_fee_deep_in_the_batch_is_named(client: Any, bodies: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(bodies[:4]))
    broken[2]["bids"] = [{"bid_id": "B1", "listing_id": "L1", "weekly_fee_gbp": "12.345"}]
    r = client.post("/v1/feedback/market", json={"requests": broken})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "requests.2.bids.0.weekly_fee_gbp"


def test_unknown_provider_over_http(client: Any, bodies: list[dict[str, Any]]) -> None:
    r = client.post("/v1/feedback/market", json={"requests": bodies[:2], "provider_id": "P0X"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "unknown_provider" and err["details"][0]["field"] == "provider_id"
    assert isinstance(err["details"][0]["suggestions"], list)


def test_cli_and_http_give_the_same_bytes_and_the_report_is_written(
    capsys: pytest.CaptureFixture[str],
    client: Any,
    bodies: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    index: RegistryIndex,
    answer: MarketFeedbackResponse,
) -> None:
    """`matcher market-feedback FILE --provider P --report DIR` prints what the route
    answers, and writes the provider's Markdown, CSV and chart."""
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(index.registry.snapshot_dict()))
    provider = max(answer.providers, key=lambda p: (p.stats.bids, p.provider_id)).provider_id
    code = main(["market-feedback", str(path), "--provider", provider, "--registry",
                 str(registry), "--report", str(tmp_path / "report")])  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0
    r = client.post("/v1/feedback/market", json={"requests": bodies, "provider_id": provider})
    assert r.status_code == 200
    assert r.content + b"\n" == out.encode()
    folder = tmp_path / "report" / "providers" / provider
    summary = (folder / "summary.md").read_text()
    assert f"({provider})" in summary and "| listing |" in summary
    assert (folder / "listings.csv").read_text().startswith("listing_id,name,dpv,")
    assert (folder / "chart.svg").read_text().startswith("<svg")
    assert not (tmp_path / "report" / "summary.md").exists()  # the market is not hers to see


def test_market_report_folder(answer: MarketFeedbackResponse, tmp_path: Path) -> None:
    files = write_report(answer, tmp_path, 1.0)
    assert (tmp_path / "summary.md").read_text().startswith("# Market feedback")
    assert len(files) == 5 + 3 * len(answer.providers)
    assert all(f.stat().st_size > 0 for f in files)
    for table in [tmp_path / "providers.csv", *tmp_path.glob("providers/*/listings.csv")]:
        header, *rows = list(csv.reader(table.read_text().splitlines()))
        assert rows and {len(row) for row in rows} == {len(header)}, table.name


def test_demo_referrals_with_bids_feed_market_feedback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`matcher demo-referrals --bids N` writes rank requests (deterministically)."""
    out = tmp_path / "a.jsonl"
    for target in (out, tmp_path / "b.jsonl"):
        assert main(["demo-referrals", "--n", "20", "--seed", "5", "--bids", "4",
                     "--out", str(target)]) == 0  # fmt: skip
    assert out.read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(len(x["bids"]) <= 5 and x["order_by"] in ("price", "best_match") for x in lines)
    assert sum(len(x["bids"]) for x in lines) > 0


def test_past_its_time_limit_the_batch_is_503_naming_the_limit(
    index: RegistryIndex, bodies: list[dict[str, Any]]
) -> None:
    """A batch that cannot finish within MATCHER_MARKET_FEEDBACK_TIME_LIMIT_S is refused with
    the canonical 503 (in-process and over HTTP), never answered late."""
    snapshot = Snapshot(index=index, source="test")
    tiny = Matcher(snapshot, limits=Limits(market_feedback_time_limit_s=1e-6))
    req = MarketFeedbackRequest(requests=[RankRequest.model_validate(b) for b in bodies])
    with pytest.raises(TimeLimitExceededError) as caught:
        tiny.market_feedback(req)
    assert caught.value.status_code == 503 and "market feedback" in caught.value.message
    settings = Settings(market_feedback_time_limit_s=0.001)
    with TestClient(create_app(settings, snapshot)) as c:
        r = c.post("/v1/feedback/market", json={"requests": bodies})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "time_limit_exceeded"
