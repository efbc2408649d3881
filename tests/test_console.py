"""The officer console in a real browser (Playwright + Debian's Chromium) on `matcher serve`.

Checks what the officer sees against the API's own answers for the same requests, and saves
screenshots of the main states to test-artifacts/console/ (printed at the end).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_http_helpers import write_registry
from tests.test_http_server import Served, serve

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "console"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("console")
    registry = tmp / "registry.json"
    write_registry(registry, 3000, seed=3)
    with serve(tmp, registry) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server: Served) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{server.url}/console/")
    pg.wait_for_function("document.querySelectorAll('#dpv option').length > 0")
    yield pg
    context.close()
    assert not errors, errors


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    print(f"screenshot: {SHOTS / name}.png")


def shortlist_in_page(page: Any) -> None:
    page.fill("#placing_authority", "LB Harrow")
    page.fill("#max_distance_miles", "25")
    page.click("#shortlist-button")
    page.wait_for_selector("#shortlist-table tbody tr")


def test_shortlist_table_and_map_equal_the_api(page: Any, server: Served) -> None:
    """Rows equal the API's shortlist for the same request; one marker per eligible listing."""
    shortlist_in_page(page)
    body = {
        "referral_id": "T-1",
        "placing_authority": "LB Harrow",
        "dpv": "residential",
        "lot": "standard",
        "child": {"age": 14, "gender": "male", "needs": []},
        "sibling_group_size": 1,
        "expected_duration_weeks": 52,
        "start_date": "2026-12-01",
        "max_distance_miles": 25,
        "min_ofsted_rating": "requires_improvement",
        "limit": 100,
        "explain": True,
        "explain_limit": 300,
    }
    api = httpx.post(f"{server.url}/v1/shortlist", json=body, timeout=30).json()
    rows = page.eval_on_selector_all(
        "#shortlist-table tbody tr", "rs => rs.map(r => r.dataset.listingId)"
    )
    assert rows == [e["listing_id"] for e in api["shortlist"]]
    markers = page.eval_on_selector_all("#map g.eligible", "gs => gs.map(g => g.dataset.listingId)")
    assert sorted(markers) == sorted(rows)
    assert page.locator("#map circle.radius").count() == 1
    assert page.locator("#map path.boundary").count() == 1
    assert page.locator("#map circle.excluded").count() == len(api["excluded_within_radius"])
    assert api["decision_id"] != ""  # the page shows its own decision id for its own request
    assert "snapshot_version " + api["snapshot_version"] in page.inner_text("#shortlist-audit")
    page.click("#shortlist-table th button[data-sort='ceiling']")  # keyboard-reachable sort
    assert page.get_attribute("#shortlist-table th:nth-child(4)", "aria-sort") == "ascending"
    shoot(page, "1-shortlist-and-map")


def test_rank_by_price_then_best_match_with_price_weight_zero(page: Any, server: Served) -> None:
    """Demo bids ranked by price and by best match equal the API's order for the same input."""
    shortlist_in_page(page)
    page.click("#demo-bids")
    assert page.is_visible("#demo-note")
    bids = json.loads(page.input_value("#bids"))
    page.click("#rank-button")
    page.wait_for_selector("#ranked li")
    body = {
        "referral_id": "T-2",
        "placing_authority": "LB Harrow",
        "dpv": "residential",
        "lot": "standard",
        "child": {"age": 14, "gender": "male", "needs": []},
        "start_date": "2026-12-01",
        "max_distance_miles": 25,
        "bids": bids,
        "order_by": "price",
        "explain": False,
    }
    api = httpx.post(f"{server.url}/v1/rank", json=body, timeout=30).json()
    shown = page.eval_on_selector_all("#ranked li", "ls => ls.map(l => l.dataset.bidId)")
    assert shown == [r["bid_id"] for r in api["ranked"]]
    assert page.locator("#rejected li").count() == len(api["rejected"]) >= 1
    shoot(page, "2-ranked-by-price")

    page.check("input[name='order_by'][value='best_match']")
    page.focus("#w-price")
    page.keyboard.press("Home")  # keyboard-operable slider: price weight to 0
    assert page.input_value("#w-price") == "0"
    page.wait_for_function(
        "document.querySelector('#rank-audit').textContent.includes('best_match')"
    )
    page.wait_for_timeout(800)  # the debounced call (250 ms) and its answer
    weights = json.loads(page.input_value("#weights-json"))["weights"]
    assert weights["price"] == 0
    api = httpx.post(
        f"{server.url}/v1/rank",
        json=body | {"order_by": "best_match", "weights": weights},
        timeout=30,
    ).json()
    shown = page.eval_on_selector_all("#ranked li", "ls => ls.map(l => l.dataset.bidId)")
    assert shown == [r["bid_id"] for r in api["ranked"]]
    shoot(page, "3-best-match-price-zero")

    page.select_option("#compare-profile", "cost_focused")
    page.click("#compare-button")
    page.wait_for_selector("#compare-table:not([hidden]) tbody tr")
    assert "Kendall's tau" in page.inner_text("#compare-audit")
    shoot(page, "4-compare")


def test_invalid_age_shows_the_api_error_next_to_the_field(page: Any, server: Served) -> None:
    """Age 30: the API's 422 reason appears beside the age field, not a blank page."""
    page.fill("#age", "30")
    page.click("#shortlist-button")
    page.wait_for_function("document.querySelector('[data-error-for=\"child.age\"]').textContent")
    message = page.inner_text("[data-error-for='child.age']")
    assert "25" in message  # "Input should be less than or equal to 25"
    assert page.get_attribute("#age", "aria-invalid") == "true"
    shoot(page, "5-error")


def test_tablet_width_layout(browser: Any, server: Served) -> None:
    """At tablet width the panels stack and the form stays usable."""
    context = browser.new_context(viewport={"width": 820, "height": 1180})
    pg = context.new_page()
    pg.goto(f"{server.url}/console/")
    pg.wait_for_function("document.querySelectorAll('#dpv option').length > 0")
    box = pg.locator("#referral-panel").bounding_box()
    assert box is not None and box["width"] > 700
    shortlist_in_page(pg)
    shoot(pg, "6-tablet")
    context.close()
