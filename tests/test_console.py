"""The officer console in a real browser: Playwright driving Debian's Chromium against a
real `matcher serve` (see tests/browser_support.py), at 1440x900 as an officer's screen.

What the officer sees is checked against the public API's own answer to the request the
page sent (captured from the browser and re-sent with httpx). Screenshots of every state
go to test-artifacts/console/ (the list is printed at the end of the module); the printed
layout is checked in the PDF Chromium prints, read back with poppler's pdftotext and
pdftoppm.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_support import (
    ARTIFACTS,
    MatcherServer,
    Screenshots,
    launch_chromium,
    write_registry,
)

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1440, "height": 900}
TABLET = {"width": 820, "height": 1180}
START_DATE = "2026-12-01"  # inside the demo registry's ceiling year (2026-04-01 to 2027-03-31)
OTHER_KIND = {"dpv_mismatch", "lot_not_approved"}
MONTH_FIRST = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatcherServer]:
    tmp = tmp_path_factory.mktemp("console")
    registry = tmp / "registry.json"
    write_registry(registry, listings=2000, seed=3)
    with MatcherServer.run(registry, tmp) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def shots(request: pytest.FixtureRequest) -> Iterator[Screenshots]:
    taken = Screenshots(ARTIFACTS / "console")
    yield taken
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not taken.taken:
        return
    with capture.global_and_fixture_disabled():  # shown without -s
        reporter.write_line(f"\nconsole screenshots in {taken.folder}:")
        for path in taken.taken:
            reporter.write_line(f"  {path.name}")


class Console:
    """One browser tab on /console/, recording what must not happen (script errors, requests
    leaving the server) and the JSON bodies the page POSTs to the API."""

    def __init__(self, browser: Any, server: MatcherServer, viewport: dict[str, int]) -> None:
        self.server = server
        self.context = browser.new_context(viewport=viewport, locale="en-GB", accept_downloads=True)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("console", self._console)
        self.page.on("request", self._request)
        self.page.goto(f"{server.url}/console/")
        self.page.wait_for_selector("body[data-ready]")

    def _console(self, message: Any) -> None:
        # An API answering 4xx is logged by Chromium as a failed resource: expected here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith(self.server.url) and not request.url.startswith("blob:"):
            self.problems.append(f"request outside the server: {request.url}")
        elif request.method == "POST":
            path = request.url[len(self.server.url) :]
            self.posted.append((path, request.post_data_json))

    def last_posted(self, path: str) -> dict[str, Any]:
        """The JSON body of the page's latest POST to `path`."""
        bodies = [body for p, body in self.posted if p == path]
        assert bodies, f"the page sent no POST {path}"
        return bodies[-1]

    def count_posted(self, path: str) -> int:
        return sum(1 for p, _ in self.posted if p == path)

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems

    def referral(
        self,
        authority: str = "LB Harrow",
        radius: str = "25",
        needs: tuple[str, ...] = ("emotional_behavioural",),
        gender: str = "male",
        age: str = "14",
    ) -> None:
        """Fill the referral form (other fields keep the catalogue's defaults)."""
        page = self.page
        page.fill("#referral_id", "R-2026-0016")  # fixed: the same answers, the same screenshots
        page.fill("#placing_authority", authority)
        page.select_option("#dpv", "residential")
        page.select_option("#lot", "standard")
        page.fill("#age", age)
        page.select_option("#gender", gender)
        for need in needs:
            page.check(f"#need-{need}")
        page.fill("#start_date", START_DATE)
        page.fill("#max_distance_miles", radius)

    def shortlist(self) -> dict[str, Any]:
        """Submit the referral and wait for the map; return the body the page sent."""
        drawn_before = self.page.get_attribute("#map", "data-drawn")
        self.page.click("#shortlist-button")
        self.page.wait_for_function(
            "before => { const d = document.querySelector('#map').dataset.drawn;"
            " return d && d !== before; }",
            arg=drawn_before,
        )
        return self.last_posted("/v1/shortlist")

    def rank(self) -> dict[str, Any]:
        """Press Rank bids; wait for the answer; return the body the page sent."""
        sent = self.count_posted("/v1/rank")
        self.page.click("#rank-button")
        self.wait_ranked(sent)
        return self.last_posted("/v1/rank")

    def wait_ranked(self, sent_before: int | None = None) -> None:
        """Wait until the page has sent a new rank request (when `sent_before` is given)
        and shows its answer."""
        if sent_before is not None:
            self._wait_posts("/v1/rank", sent_before)
        self.page.wait_for_selector("#results[data-state='done'][aria-busy='false']")

    def _wait_posts(self, path: str, before: int) -> None:
        for _ in range(200):  # the page's own debounce is 250 ms; bounded at ~10 s
            if self.count_posted(path) > before:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"the page sent no new POST {path}")

    def download(self, selector: str) -> str:
        """Click a download button; the file's text."""
        with self.page.expect_download() as info:
            self.page.click(selector)
        return Path(info.value.path()).read_text(encoding="utf-8-sig")

    def no_horizontal_scroll(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"


@pytest.fixture()
def console(browser: Any, server: MatcherServer) -> Iterator[Console]:
    tab = Console(browser, server, DESKTOP)
    yield tab
    tab.close()


@pytest.fixture(scope="module")
def harrow(browser: Any, server: MatcherServer) -> Iterator[tuple[Console, dict[str, Any]]]:
    """One tab at 1440x900 with Harrow's referral shortlisted (LB Harrow, 25 miles, male 14,
    emotional and behavioural needs), and the API's own answer to the body it sent. Tests
    using it put back anything they change."""
    tab = Console(browser, server, DESKTOP)
    tab.referral()
    body = tab.shortlist()
    answer = server.post("/v1/shortlist", body).json()
    yield tab, answer
    tab.close()


def texts(page: Any, selector: str, attribute: str) -> list[str]:
    """A data-* value of every element matching `selector`, in page order."""
    values: list[str] = page.eval_on_selector_all(
        selector, f"els => els.map(e => e.dataset.{attribute})"
    )
    return values


def translate(transform: str) -> tuple[float, float]:
    match = re.match(r"translate\(([-\d.]+),([-\d.]+)\)", transform)
    assert match, transform
    return float(match.group(1)), float(match.group(2))


def near_misses(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's excluded listings of the referral's own DPV and lot with one reason."""
    return [
        x
        for x in answer["excluded_within_radius"]
        if len(x["reasons"]) == 1 and x["reasons"][0] not in OTHER_KIND
    ]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------------------------------
# The shortlist at 1440x900: table, map, layout, zoom, near misses, CSV
# ---------------------------------------------------------------------------------------


def test_shortlist_table_and_map_equal_the_apis_answer(
    harrow: tuple[Console, dict[str, Any]], server: MatcherServer
) -> None:
    """Harrow: the table rows are the API's shortlist in its order, one map marker per
    listing at its projected distance inside the radius circle, the near misses greyed
    with their reasons in words, and the answer's snapshot_version and decision_id shown."""
    tab, api = harrow
    page = tab.page
    body = tab.last_posted("/v1/shortlist")
    assert body["placing_authority"] == "LB Harrow"  # sent as typed: the API resolves names
    assert body["child"] == {"age": 14, "gender": "male", "needs": ["emotional_behavioural"]}
    assert body["max_distance_miles"] == 25 and body["start_date"] == START_DATE
    assert api["placing_authority"]["name"] == "Harrow"
    ids = [e["listing_id"] for e in api["shortlist"]]
    assert len(ids) >= 12

    assert texts(page, "#shortlist-table tbody tr", "listingId") == ids
    first = api["shortlist"][0]
    cells = page.eval_on_selector_all(
        "#shortlist-table tbody tr:first-child td", "tds => tds.map(td => td.innerText)"
    )
    assert first["name"] in cells[0] and first["listing_id"] in cells[0]
    assert cells[1] == f"{first['distance_miles']:.2f}"
    assert cells[2] == ("Yes" if first["in_area"] else "No")
    assert cells[3].replace(",", "") == f"£{first['ceiling_weekly_gbp']}"
    assert cells[4].split("\n")[0] == str(first["vacancies"])
    assert first["ofsted_rating"].replace("_", " ") in cells[5].lower()  # rating as text
    stamp = page.inner_text("#shortlist-stamp")
    assert api["snapshot_version"] in stamp and api["decision_id"] in stamp

    # The map: one marker per listing shown, placed by the local projection.
    assert sorted(texts(page, "#map g.marker", "listingId")) == sorted(ids)
    assert page.locator("#map circle.radius").count() == 1
    assert page.locator("#map path.boundary").count() == 1
    circle = page.locator("#map circle.radius")
    cx, cy, r = (float(circle.get_attribute(a) or "nan") for a in ("cx", "cy", "r"))
    for entry in api["shortlist"]:
        marker = page.locator(f"#map g.marker[data-listing-id='{entry['listing_id']}']")
        x, y = translate(marker.get_attribute("transform") or "")
        shown = math.hypot(x - cx, y - cy)
        expected = entry["distance_miles"] / api["max_distance_miles"] * r
        assert shown <= r + 1.5
        assert abs(shown - expected) <= 1.5 + 0.02 * r, entry["listing_id"]
        label = marker.get_attribute("aria-label") or ""
        assert entry["ofsted_rating"].replace("_", " ") in label

    near = near_misses(api)
    assert 0 < len(near) < len(api["excluded_within_radius"])
    assert sorted(texts(page, "#map circle.excluded", "listingId")) == sorted(
        x["listing_id"] for x in near
    )
    grey = page.locator(f"#map circle.excluded[data-listing-id='{near[0]['listing_id']}']")
    assert "_" not in (grey.get_attribute("aria-label") or "")

    # Keyboard: one tab stop per marker layer, arrows move, the details follow focus.
    page.focus("#map g.marker[tabindex='0']")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("Eligible:")
    assert page.inner_text("#map-info") == focused

    # Sorting by keyboard: a button in each header, aria-sort on the sorted column.
    page.focus("#shortlist-table button[data-sort='ceiling']")
    page.keyboard.press("Enter")
    header = "#shortlist-table th:has(button[data-sort='ceiling'])"
    assert page.get_attribute(header, "aria-sort") == "ascending"
    by_ceiling = sorted(api["shortlist"], key=lambda e: float(e["ceiling_weekly_gbp"]))
    shown_ids = texts(page, "#shortlist-table tbody tr", "listingId")
    assert [float(e["ceiling_weekly_gbp"]) for e in by_ceiling] == [
        float(next(e for e in api["shortlist"] if e["listing_id"] == i)["ceiling_weekly_gbp"])
        for i in shown_ids
    ]
    page.keyboard.press("Enter")
    assert page.get_attribute(header, "aria-sort") == "descending"
    assert page.locator("#shortlist-table th[aria-sort]").count() == 1
    page.click("#shortlist-table button[data-sort='distance']")
    assert texts(page, "#shortlist-table tbody tr", "listingId") == ids
    tab.no_horizontal_scroll()


def visible_rows(page: Any) -> int:
    """Table rows wholly inside both the window and the table's scroll box."""
    count: int = page.evaluate(
        """() => {
            const box = document.querySelector('.main-table').getBoundingClientRect();
            const bottom = Math.min(box.bottom, window.innerHeight);
            const head = document.querySelector('#shortlist-table thead').getBoundingClientRect();
            return [...document.querySelectorAll('#shortlist-table tbody tr')].filter(tr => {
                const r = tr.getBoundingClientRect();
                return r.top >= head.bottom - 1 && r.bottom <= bottom + 1 && r.height > 0;
            }).length;
        }"""
    )
    return count


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(
        box
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


def test_layout_at_1440x900_shows_the_action_the_map_and_12_rows(
    harrow: tuple[Console, dict[str, Any]], shots: Screenshots
) -> None:
    """Without scrolling: the Shortlist button, the whole map and at least 12 table rows;
    showing every excluded listing (the old panel that pushed the table away) keeps them."""
    tab, _ = harrow
    page = tab.page
    page.evaluate("window.scrollTo(0, 0)")
    assert in_view(page, "#shortlist-button")
    assert in_view(page, "#map")
    assert visible_rows(page) >= 12, visible_rows(page)
    shots.take(page, "01-harrow-1440x900-form-map-table", full_page=False)
    page.check("#show-all-excluded")  # Playwright scrolls to it: look from the top again
    page.wait_for_selector("#all-excluded:not([hidden])")
    page.evaluate("window.scrollTo(0, 0)")
    assert in_view(page, "#shortlist-button") and in_view(page, "#map")
    assert visible_rows(page) >= 12
    page.uncheck("#show-all-excluded")
    page.wait_for_selector("#all-excluded[hidden]", state="attached")


def test_near_misses_grouped_by_their_single_reason_in_plain_english(
    harrow: tuple[Console, dict[str, Any]], shots: Screenshots
) -> None:
    """By default only listings of the referral's DPV and lot kept out by one reason are
    listed, grouped by that reason (counts equal the API's), with a filter by reason; the
    rest are behind a toggle (table and map); no API code or field name is shown; the
    whole-registry counts are labelled as such."""
    tab, api = harrow
    page = tab.page
    near = near_misses(api)
    expected = Counter(x["reasons"][0] for x in near)
    groups = page.eval_on_selector_all(
        "#near-groups > li",
        "lis => lis.map(li => [li.dataset.reason, Number(li.dataset.count),"
        " [...li.querySelectorAll('li')].map(x => x.dataset.listingId)])",
    )
    assert {code: n for code, n, _ in groups} == dict(expected)
    for code, _, listed in groups:
        assert listed == [x["listing_id"] for x in near if x["reasons"][0] == code]
    other = [x for x in api["excluded_within_radius"] if x not in near]
    assert any(set(x["reasons"]) & OTHER_KIND for x in other)
    shown = page.inner_text("#near-misses")
    for x in other:
        assert x["listing_id"] not in shown
    assert "_" not in shown and "`" not in shown  # words, not codes or field names
    assert "No vacancy" in shown

    # Filter by one reason.
    code = "no_vacancy"
    page.select_option("#near-filter", code)
    visible = page.eval_on_selector_all(
        "#near-groups > li:not([hidden])", "lis => lis.map(li => li.dataset.reason)"
    )
    assert visible == [code]
    shots.take(page, "02-near-misses-filtered-no-vacancy", full_page=False)
    page.select_option("#near-filter", "")

    # Everything else behind the toggle: the table and the map's grey dots.
    page.check("#show-all-excluded")
    page.wait_for_function(
        "n => document.querySelectorAll('#map circle.excluded').length === n",
        arg=len(api["excluded_within_radius"]),
    )
    assert texts(page, "#excluded-table tbody tr", "listingId") == [
        x["listing_id"] for x in api["excluded_within_radius"]
    ]
    assert "_" not in page.inner_text("#excluded-table tbody")
    page.click(".registry-counts summary")
    counts = page.inner_text("#excluded-counts")
    assert "whole registry" in counts
    dpv = api["excluded_counts"]["dpv_mismatch"]
    assert f"On another DPV: {dpv:,}" in counts
    page.locator("#near-misses").scroll_into_view_if_needed()
    shots.take(page, "03-all-excluded-and-registry-counts", full_page=False)
    page.click(".registry-counts summary")
    page.uncheck("#show-all-excluded")
    page.wait_for_function(
        "n => document.querySelectorAll('#map circle.excluded').length === n", arg=len(near)
    )
    page.evaluate("window.scrollTo(0, 0)")


def test_map_zooms_and_pans_by_wheel_buttons_and_keys_with_place_labels(
    harrow: tuple[Console, dict[str, Any]], server: MatcherServer, shots: Screenshots
) -> None:
    """The wheel zooms about the pointer, the buttons and + / - keys zoom, arrows pan, 0
    resets; markers keep their size while spreading apart; Harrow and a few neighbours are
    named on the map."""
    tab, api = harrow
    page = tab.page
    page.evaluate("window.scrollTo(0, 0)")
    names = {a["code"]: a["name"] for a in server.get("/v1/authorities").json()}
    assert page.text_content("#map .place.home") == "Harrow"
    neighbours = page.eval_on_selector_all(
        "#map .place:not(.home)", "gs => gs.map(g => g.dataset.code)"
    )
    assert 2 <= len(neighbours) <= 6 and all(code in names for code in neighbours)

    def zoom() -> float:
        return float(page.get_attribute("#map", "data-zoom") or "nan")

    one, two = (e["listing_id"] for e in api["shortlist"][:2])

    def box(listing_id: str) -> dict[str, float]:
        b = page.locator(f"#map g.marker[data-listing-id='{listing_id}'] .shape").bounding_box()
        assert b is not None
        return b

    before = (box(one), box(two))
    svg = page.locator("#map").bounding_box()
    assert svg is not None and zoom() == 1
    page.mouse.move(svg["x"] + svg["width"] / 2, svg["y"] + svg["height"] / 2)
    page.mouse.wheel(0, -500)
    page.wait_for_function("() => Number(document.querySelector('#map').dataset.zoom) > 2")
    after = (box(one), box(two))
    spread = [math.hypot(a["x"] - b["x"], a["y"] - b["y"]) for a, b in (before, after)]
    assert spread[1] > 2 * spread[0]  # apart as zoomed
    assert abs(after[0]["width"] - before[0]["width"]) < 1.5  # the same size on screen
    shots.take(page, "04-map-zoomed-by-wheel", full_page=False)

    page.click("#zoom-reset")
    assert zoom() == 1
    page.click("#zoom-in")
    assert zoom() == 1.5
    page.click("#zoom-out")
    assert zoom() == 1
    page.focus("#map")
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert zoom() == 2.25
    pan = page.get_attribute("#map", "data-pan")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#map", "data-pan") != pan
    page.keyboard.press("-")
    assert zoom() == 1.5
    page.keyboard.press("0")
    assert zoom() == 1 and page.get_attribute("#map", "data-pan") == "0.0,0.0"


def test_shortlist_csv_equals_the_apis_answer(harrow: tuple[Console, dict[str, Any]]) -> None:
    """Download CSV: one row per listing in the API's order, every column shown, with
    referral_id, decision_id and snapshot_version; values exactly the API's."""
    tab, api = harrow
    rows = rows_of(tab.download("#download-shortlist"))
    assert [r["listing_id"] for r in rows] == [e["listing_id"] for e in api["shortlist"]]
    for row, e in zip(rows, api["shortlist"], strict=True):
        assert row["referral_id"] == api["referral_id"]
        assert row["decision_id"] == api["decision_id"]
        assert row["snapshot_version"] == api["snapshot_version"]
        assert row["placing_authority_code"] == api["placing_authority"]["code"]
        for key in ("name", "provider_id", "provider_name", "ceiling_weekly_gbp", "ofsted_rating"):
            assert row[key] == e[key], key
        assert float(row["distance_miles"]) == e["distance_miles"]
        assert row["vacancies"] == str(e["vacancies"])
        assert row["available_from"] == (e["available_from"] or "")
        assert row["in_area"] == ("yes" if e["in_area"] else "no")
        assert row["open_alerts"].count(";") == max(0, len(e["open_alerts"]) - 1)
        assert row["preferred"] == "no"


# ---------------------------------------------------------------------------------------
# Ranking: price, best match, the tie rule, compare, stale state
# ---------------------------------------------------------------------------------------


def test_demo_bids_ranked_then_the_tie_rule_marked_and_explained(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """DEMO bids rank in the API's order by price; by best match with the price slider at 0
    the page says the tie rule still applies and why; with a wider tie margin every bid the
    API reports as moved (`tie_break`) is marked with a sentence naming the bids passed,
    and those bids say so too; with margin 0 nothing is marked. Compare shows movements."""
    page = console.page
    console.referral()
    console.shortlist()
    sent = console.count_posted("/v1/rank")
    page.click("#demo-bids")
    console.wait_ranked(sent)
    assert page.is_visible("#demo-note") and "DEMO" in page.inner_text("#demo-note")
    body = console.last_posted("/v1/rank")
    assert body["order_by"] == "price"
    assert all(b["bid_id"].startswith("DEMO-") for b in body["bids"])
    api = server.post("/v1/rank", body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    assert len(api["ranked"]) >= 5
    assert "does not apply" in page.inner_text("#tie-rule")
    # The one DEMO bid above its ceiling is rejected, with the reason in words.
    assert [r["reasons"] for r in api["rejected"]] == [["above_ceiling"]]
    rejected = page.inner_text("#rejected-list")
    assert api["rejected"][0]["bid_id"] in rejected and "above the listing's ceiling" in rejected
    top = api["ranked"][0]
    card = page.inner_text("#ranked > li:first-child").replace(",", "")
    assert f"Expected total £{top['price']['expected_total_cost_gbp']}" in card
    for discount in top["price"]["discounts"]:
        assert f"{discount['percent']}% £{discount['weekly_amount_gbp']}" in card
    assert f"Score {top['score']:.3f}" in card.replace("\n", " ")
    assert page.locator("#ranked > li:first-child .bar span").count() == len(top["components"])
    stamp = page.inner_text("#rank-stamp")
    assert api["snapshot_version"] in stamp and api["decision_id"] in stamp
    page.evaluate("document.querySelector('#results').scrollIntoView()")
    shots.take(page, "05-ranked-by-price", full_page=False)

    sent = console.count_posted("/v1/rank")
    page.check("input[name='order_by'][value='best_match']")
    console.wait_ranked(sent)
    assert page.get_attribute("#results", "data-order-by") == "best_match"
    sent = console.count_posted("/v1/rank")
    page.focus("#w-price")
    for key in ("ArrowLeft", "ArrowLeft", "Home"):  # faster than the debounce: one request
        page.keyboard.press(key)
    assert page.input_value("#w-price") == "0"
    page.wait_for_function(
        "() => { const r = document.querySelector('#results');"
        " return r.dataset.state === 'done' && JSON.parse(r.dataset.weights).price === 0; }"
    )
    assert console.count_posted("/v1/rank") == sent + 1
    copied = json.loads(page.input_value("#weights-json"))
    assert copied["weights"]["price"] == 0
    body = console.last_posted("/v1/rank")
    api = server.post(
        "/v1/rank", body | {"profile": copied["profile"], "weights": copied["weights"]}
    ).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    rule = page.inner_text("#tie-rule")
    assert "price weight is 0" in rule and "tie rule still applies" in rule
    assert "expected total cost" in rule
    page.click("#copy-weights")
    page.wait_for_function("document.querySelector('#copy-status').textContent !== ''")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == copied

    # A wider tie margin: the API moves bids, the page marks exactly those.
    sent = console.count_posted("/v1/rank")
    page.fill("#tie_epsilon", "0.2")
    page.press("#tie_epsilon", "Tab")
    console.wait_ranked(sent)
    body = console.last_posted("/v1/rank")
    assert body["tie_epsilon"] == 0.2
    api = server.post("/v1/rank", body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    moved = {r["bid_id"]: r["tie_break"]["moved_above"] for r in api["ranked"] if r["tie_break"]}
    assert moved, "a 0.2 tie margin should move a DEMO bid"
    marked = page.eval_on_selector_all(
        "#ranked > li[data-tie-break]",
        "lis => lis.map(li => [li.dataset.bidId, li.dataset.tieBreak])",
    )
    assert dict(marked) == {bid: " ".join(over) for bid, over in moved.items()}
    for bid, over in moved.items():
        note = page.inner_text(f"#ranked > li[data-bid-id='{bid}'] .tie-note")
        assert note.startswith("tie rule Placed above") and all(o in note for o in over)
        assert "cheapest" in note
    for passed in {o for over in moved.values() for o in over}:
        assert "Placed below" in page.inner_text(f"#ranked > li[data-bid-id='{passed}'] .tie-note")
    assert f"moved {len(moved)} bid" in page.inner_text("#tie-rule")
    page.evaluate("document.querySelector('#tie-rule').scrollIntoView()")
    shots.take(page, "06-best-match-price-0-tie-rule-marked", full_page=False)

    sent = console.count_posted("/v1/rank")
    page.fill("#tie_epsilon", "0")
    page.press("#tie_epsilon", "Tab")
    console.wait_ranked(sent)
    assert page.locator("#ranked .tie-note").count() == 0
    assert "tie rule is off" in page.inner_text("#tie-rule")

    page.select_option("#compare-profile", "cost_focused")
    page.click("#compare-button")
    page.wait_for_selector("#compare:not([hidden]) #compare-table tbody tr")
    compare = server.post("/v1/rank/compare", console.last_posted("/v1/rank/compare")).json()
    rows = page.eval_on_selector_all(
        "#compare-table tbody tr",
        "trs => trs.map(tr => [...tr.cells].map(td => td.innerText))",
    )
    expected = sorted(compare["movements"], key=lambda m: m["rank_a"])
    assert [(r[0].split()[0], int(r[2]), int(r[3])) for r in rows] == [
        (m["bid_id"], m["rank_a"], m["rank_b"]) for m in expected
    ]
    assert f"Kendall's tau {compare['kendall_tau']:.3f}" in page.inner_text("#compare-summary")
    assert compare["decision_id"] in page.inner_text("#compare-stamp")
    console.no_horizontal_scroll()


def test_a_new_referral_clears_the_ranking_the_comparison_and_the_map_details(
    console: Console, shots: Screenshots
) -> None:
    """Harrow ranked and compared; editing the referral marks the ranking out of date and
    sliders stop re-ranking it; shortlisting Northumberland clears the ranking, the
    comparison and the map's details, and a slider then sends nothing."""
    page = console.page
    console.referral()
    console.shortlist()
    sent = console.count_posted("/v1/rank")
    page.click("#demo-bids")
    console.wait_ranked(sent)
    page.click("#compare-button")
    page.wait_for_selector("#compare:not([hidden]) #compare-table tbody tr")
    page.hover("#map g.marker")
    assert page.inner_text("#map-info").startswith("Eligible:")

    page.fill("#placing_authority", "Northumberland")  # edited, not yet shortlisted
    page.wait_for_selector("#results[data-stale='true']")
    assert "Out of date" in page.inner_text("#rank-stale")
    assert page.is_visible("#shortlist-changed")
    sent = console.count_posted("/v1/rank")
    page.focus("#w-distance")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(600)  # longer than the page's 250 ms debounce: nothing may be sent
    assert console.count_posted("/v1/rank") == sent

    console.shortlist()
    assert page.locator("#ranked > li").count() == 0
    assert page.is_hidden("#compare") and page.is_hidden("#rejected")
    assert page.inner_text("#rank-stamp") == ""
    assert "now Northumberland" in page.inner_text("#rank-stale")
    assert page.inner_text("#map-info") == "Hover over or tab to a marker for its details."
    assert page.get_attribute("#results", "data-decision-id") is None
    page.focus("#w-distance")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(600)
    assert console.count_posted("/v1/rank") == sent
    page.locator("#bids-panel").scroll_into_view_if_needed()
    shots.take(page, "07-northumberland-after-harrow-ranking-cleared", full_page=False)


# ---------------------------------------------------------------------------------------
# Bids: the form, CSV, the score's inputs
# ---------------------------------------------------------------------------------------


def test_bids_from_the_form_and_from_csv_rank_as_the_same_json(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """The bid form (a listing from the shortlist, a fee typed as an officer would, a
    day-first date, a service from that listing's menu) and a CSV file make exactly the
    JSON bids expected, and the page shows the API's ranking of them; a fee that is not an
    amount, or a malformed CSV line, is refused before anything is sent."""
    page = console.page
    console.referral()
    body = console.shortlist()
    short = server.post("/v1/shortlist", body).json()["shortlist"]
    with_menu = next(e for e in short if e["additional_services"])
    other = next(e for e in short if e["listing_id"] != with_menu["listing_id"])
    service = with_menu["additional_services"][0]

    page.select_option("#bid-listing", with_menu["listing_id"])
    page.fill("#bid-id", "F1")
    page.fill("#bid-fee", "£3,100.5")
    page.fill("#bid-from", "28/11/2026")
    page.check(f"#svc-{service['code']}")
    page.fill(f"#svc-{service['code']}-units", "10")
    page.fill(f"#svc-{service['code']}-weeks", "12")
    page.click("#add-bid")
    page.wait_for_selector("#bid-list tbody tr[data-bid-id='F1']")
    page.select_option("#bid-listing", other["listing_id"])
    page.fill("#bid-id", "F2")
    page.fill("#bid-fee", "abc")
    page.click("#add-bid")
    page.wait_for_selector("#err-bid-fee")
    assert "amount in pounds" in page.inner_text("#err-bid-fee")
    assert page.locator("#bid-list tbody tr").count() == 1
    page.fill("#bid-fee", "2999")
    page.click("#add-bid")
    page.wait_for_selector("#bid-list tbody tr[data-bid-id='F2']")
    expected = [
        {
            "bid_id": "F1",
            "listing_id": with_menu["listing_id"],
            "weekly_fee_gbp": "3100.50",
            "additional_services": [{"code": service["code"], "units_per_week": 10, "weeks": 12}],
            "available_from": "2026-11-28",
        },
        {"bid_id": "F2", "listing_id": other["listing_id"], "weekly_fee_gbp": "2999"},
    ]
    assert json.loads(page.input_value("#bids")) == expected
    assert console.count_posted("/v1/rank") == 0  # nothing sent while entering
    sent_body = console.rank()
    assert sent_body["bids"] == expected
    api = server.post("/v1/rank", sent_body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    assert page.get_attribute("#results", "data-decision-id") == api["decision_id"]
    card = page.inner_text("#ranked > li[data-bid-id='F1']")
    assert service["code"].replace("_", " ") in card.lower()  # priced from the menu
    assert "28 Nov 2026" in page.inner_text("#bid-list")
    shots.take(page, "08-bids-entered-with-the-form")

    # A CSV with the documented header: the same bids again, plus one from another listing.
    csv_text = (
        "bid_id,listing_id,weekly_fee_gbp,available_from,additional_services\n"
        f'F1,{with_menu["listing_id"]},3100.50,2026-11-28,"{service["code"]}:10:12"\n'
        f"F2,{other['listing_id']},2999,,\n"
        f'C3,{short[2]["listing_id"]},"£2,750",1/12/2026,\n'
    )
    page.set_input_files(
        "#bids-csv",
        files=[{"name": "bids.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}],
    )
    page.wait_for_selector("#bid-list tbody tr[data-bid-id='C3']")
    from_csv = [
        *expected,
        {
            "bid_id": "C3",
            "listing_id": short[2]["listing_id"],
            "weekly_fee_gbp": "2750",
            "available_from": "2026-12-01",
        },
    ]
    assert json.loads(page.input_value("#bids")) == from_csv
    sent_body = console.rank()
    assert sent_body["bids"] == from_csv
    api = server.post("/v1/rank", sent_body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]

    bad = "bid_id,listing_id,weekly_fee_gbp\nX1,L1,12.345\nX2,,100\n"
    sent = console.count_posted("/v1/rank")
    page.set_input_files(
        "#bids-csv", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.wait_for_selector("#err-bids-csv")
    problems = page.inner_text("#err-bids-csv")
    assert (
        "Line 2 (bid X1): weekly_fee_gbp" in problems and "Line 3 (bid X2): listing_id" in problems
    )
    assert json.loads(page.input_value("#bids")) == from_csv  # unchanged
    assert console.count_posted("/v1/rank") == sent
    page.locator("#bids-csv").scroll_into_view_if_needed()
    shots.take(page, "09-csv-upload-refused-with-line-numbers", full_page=False)


def test_desirable_needs_preferences_exclusions_and_start_tolerance_reach_the_score(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """Every input the score uses can be set: a desirable need, a listing preferred and one
    excluded from the table, a start tolerance; the requests carry them and the API's
    components move with them (no dead slider)."""
    page = console.page
    console.referral()
    page.check("#want-autism")
    console.shortlist()
    ids = texts(page, "#shortlist-table tbody tr", "listingId")
    preferred, excluded = ids[1], ids[2]
    page.click(f"#shortlist-table tr[data-listing-id='{preferred}'] button.prefer")
    page.click(f"#shortlist-table tr[data-listing-id='{excluded}'] button.exclude")
    assert preferred in page.inner_text("#preferred-list")
    assert excluded in page.inner_text("#excluded-list")
    assert page.is_visible("#shortlist-changed")  # an exclusion needs a new shortlist
    body = console.shortlist()
    assert body["exclude_listing_ids"] == [excluded]
    assert body["preferred_listing_ids"] == [preferred]
    assert body["child"]["secondary_needs"] == ["autism"]
    assert excluded not in texts(page, "#shortlist-table tbody tr", "listingId")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#preferred-list").scroll_into_view_if_needed()
    shots.take(page, "10-preferred-and-excluded-picked-from-the-table", full_page=False)

    sent = console.count_posted("/v1/rank")
    page.click("#demo-bids")
    console.wait_ranked(sent)
    late_listing = texts(page, "#shortlist-table tbody tr", "listingId")[9]  # not a DEMO bid's
    page.select_option("#bid-listing", late_listing)
    page.fill("#bid-id", "LATE")
    page.fill("#bid-fee", "3000")
    page.fill("#bid-from", "8 Dec 2026")  # a week late
    page.click("#add-bid")
    page.fill("#start_tolerance_days", "14")
    page.check("input[name='order_by'][value='best_match']")
    body = console.rank()
    assert body["start_tolerance_days"] == 14
    api = server.post("/v1/rank", body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    values = {
        name: {r["bid_id"]: r["components"][name]["value"] for r in api["ranked"]}
        for name in ("preference", "needs_fit", "start_date")
    }
    for name, by_bid in values.items():
        assert len(set(by_bid.values())) > 1, f"{name} is the same for every bid"
    favourite = next(r for r in api["ranked"] if r["listing_id"] == preferred)
    assert favourite["components"]["preference"]["value"] == 1
    card = page.inner_text(f"#ranked > li[data-bid-id='{favourite['bid_id']}']")
    assert "preferred" in card and "Preference 1.00" in card
    assert values["start_date"]["LATE"] == pytest.approx(1 - 7 / 15, abs=1e-6)
    page.evaluate(
        "id => document.querySelector(`#ranked > li[data-bid-id='${id}']`).scrollIntoView()",
        favourite["bid_id"],
    )
    shots.take(page, "11-ranked-with-preference-desirable-need-late-start", full_page=False)


# ---------------------------------------------------------------------------------------
# Words and dates
# ---------------------------------------------------------------------------------------


def test_dates_are_read_and_shown_day_first_never_month_first(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """A start date typed day-first is read as such and shown as "2 Dec 2026" (the
    browser's own date control, month-first whatever the locale, is not used); dates in the
    table and the bids are day-first too; nothing on the page is month-first."""
    page = console.page
    assert page.get_attribute("#start_date", "type") != "date"
    console.referral()
    page.fill("#start_date", "2/12/2026")
    assert page.inner_text("#start_date-echo") == "Wednesday 2 December 2026"
    page.press("#start_date", "Tab")
    assert page.input_value("#start_date") == "2 Dec 2026"
    body = console.shortlist()
    assert body["start_date"] == "2026-12-02"
    api = server.post("/v1/shortlist", body).json()
    later = next(e for e in api["shortlist"] if e["available_from"])
    day = int(later["available_from"][8:])
    month = date.fromisoformat(later["available_from"]).strftime("%b")
    row = page.inner_text(f"#shortlist-table tr[data-listing-id='{later['listing_id']}']")
    assert f"from {day} {month} {later['available_from'][:4]}" in row.replace("\n", " ")
    page.fill("#bid-from", "2026-11-28")
    assert page.inner_text("#bid-from-echo") == "Saturday 28 November 2026"
    page.fill("#start_date", "12/31/2026")  # month-first is not a date here
    assert "Not a date" in page.inner_text("#start_date-echo")
    page.fill("#start_date", "2 Dec 2026")
    page.locator("#start_date-echo").scroll_into_view_if_needed()
    text = page.inner_text("body")
    values = " ".join(page.eval_on_selector_all("input", "els => els.map(e => e.value)"))
    assert not MONTH_FIRST.search(text) and not MONTH_FIRST.search(values)
    page.evaluate("window.scrollTo(0, 0)")
    shots.take(page, "12-dates-day-first", full_page=False)


def test_field_errors_are_in_the_officers_words(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """Age 30 and age 14.5: the API refuses child.age with its validator's message; the
    page says "Age must be a whole number from 0 to 25" beside the field (the API's text
    only in its title), marks it invalid and focuses it; a radius of 0 likewise."""
    page = console.page
    console.referral(age="30")
    page.click("#shortlist-button")
    page.wait_for_selector("#err-age")
    answer = server.post("/v1/shortlist", console.last_posted("/v1/shortlist"))
    assert answer.status_code == 422
    reasons = [d["reason"] for d in answer.json()["error"]["details"] if d["field"] == "child.age"]
    assert reasons and reasons[0].startswith("Input should")
    assert page.inner_text("#err-age") == "Age must be a whole number from 0 to 25."
    assert reasons[0] in (page.get_attribute("#err-age .error-line", "title") or "")
    assert page.get_attribute("#age", "aria-invalid") == "true"
    assert "err-age" in (page.get_attribute("#age", "aria-describedby") or "").split()
    assert page.evaluate("document.activeElement.id") == "age"
    assert page.is_hidden("#banner")
    page.evaluate("window.scrollTo(0, 0)")
    shots.take(page, "13-error-age-30-in-officer-words", full_page=False)

    page.fill("#age", "14.5")
    page.fill("#max_distance_miles", "0")
    page.click("#shortlist-button")
    page.wait_for_selector("#err-max_distance_miles")
    answer = server.post("/v1/shortlist", console.last_posted("/v1/shortlist")).json()
    fields = {d["field"]: d["reason"] for d in answer["error"]["details"]}
    assert "valid integer" in fields["child.age"]
    assert page.inner_text("#err-age") == "Age must be a whole number from 0 to 25."
    assert page.inner_text("#err-max_distance_miles") == (
        "Radius must be a number of miles above 0 and at most 200."
    )
    assert "Input should" not in page.inner_text("body")


def test_unknown_authority_offers_the_apis_suggestions(
    console: Console, server: MatcherServer
) -> None:
    """A misspelt authority is named back with the API's suggestion; choosing it shortlists."""
    page = console.page
    console.referral(authority="Harow")
    page.click("#shortlist-button")
    page.wait_for_selector("#err-placing_authority")
    answer = server.post("/v1/shortlist", console.last_posted("/v1/shortlist")).json()
    detail = answer["error"]["details"][0]
    assert detail["field"] == "placing_authority" and detail["suggestions"] == ["Harrow"]
    assert "called “Harow”" in page.inner_text("#err-placing_authority")
    page.click("#err-placing_authority button:text('Harrow')")
    page.wait_for_selector("#map[data-drawn]")
    assert page.input_value("#placing_authority") == "Harrow"
    assert page.locator("#err-placing_authority").count() == 0
    assert page.get_attribute("#placing_authority", "aria-invalid") is None


def test_form_comes_from_the_catalogue_and_every_control_is_labelled(
    console: Console, server: MatcherServer
) -> None:
    """Authorities with their aliases in the type-ahead, lots following the DPV, needs
    (required or desirable) with their descriptions; every input, select, textarea and
    button has an accessible name."""
    page = console.page
    catalogue = server.get("/v1/catalogue").json()
    harrow = server.get("/v1/authorities?q=E09000015").json()
    options = page.eval_on_selector_all("#authority-list option", "os => os.map(o => o.value)")
    assert {harrow["name"], *harrow["aliases"]} <= set(options)
    for dpv in catalogue["dpvs"]:
        page.select_option("#dpv", dpv["code"])
        lots = page.eval_on_selector_all("#lot option", "os => os.map(o => o.value)")
        assert lots == [lot["code"] for lot in dpv["lots"]]
    for need in catalogue["needs"]:
        described = page.get_attribute(f"#need-{need['code']}", "aria-describedby") or ""
        assert need["description"] == page.text_content(f"#{described.split()[0]}")
        page.check(f"#need-{need['code']}")
        page.check(f"#want-{need['code']}")  # desirable and required exclude each other
        assert not page.is_checked(f"#need-{need['code']}")
        page.uncheck(f"#want-{need['code']}")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
            .map(el => el.id || el.outerHTML)"""
    )
    assert unnamed == []


# ---------------------------------------------------------------------------------------
# Few or none eligible, the tablet width
# ---------------------------------------------------------------------------------------


def test_tablet_stacks_and_widen_offers_only_radii_that_add_listings(
    browser: Any, server: MatcherServer, shots: Screenshots
) -> None:
    """At 820 px the panels stack without horizontal scrolling. Harrow, female, autism and
    CSE risk: at 20 miles a few are eligible and the wider radii are offered; at 1 mile none
    is, the table says so, "1 mile" is singular, only the radius that adds a listing is
    offered, and the note stays off the map's drawing."""
    tab = Console(browser, server, TABLET)
    try:
        page = tab.page
        tab.referral(authority="Harrow", radius="20", needs=("autism", "cse_risk"), gender="female")
        body = tab.shortlist()
        api = server.post("/v1/shortlist", body).json()
        assert api["widen_search"], "this referral should find few listings"
        widen = page.inner_text("#widen")
        for w in api["widen_search"]:
            assert f"{w['eligible_count']} within {w['max_distance_miles']:g} miles" in widen
        box = page.locator("#referral-panel").bounding_box()
        assert box is not None and box["width"] > 700
        tab.no_horizontal_scroll()
        sent = tab.count_posted("/v1/rank")
        page.click("#demo-bids")
        tab.wait_ranked(sent)
        tab.no_horizontal_scroll()
        shots.take(page, "14-tablet-820-few-eligible")

        page.fill("#max_distance_miles", "1")
        body = tab.shortlist()
        api = server.post("/v1/shortlist", body).json()
        assert api["eligible_count"] == 0
        adding = [w for w in api["widen_search"] if w["eligible_count"] > 0]
        idle = [w for w in api["widen_search"] if w["eligible_count"] == 0]
        assert adding and idle, api["widen_search"]
        assert page.inner_text("#shortlist-table tbody") == "None eligible within 1 mile."
        offered = page.eval_on_selector_all(
            "#widen button", "bs => bs.map(b => Number(b.dataset.miles))"
        )
        assert offered == [w["max_distance_miles"] for w in adding]
        assert "1 miles" not in page.inner_text("#shortlist-panel")
        note = page.locator("#map-note").bounding_box()
        drawing = page.locator("#map").bounding_box()
        assert note is not None and drawing is not None
        assert note["y"] >= drawing["y"] + drawing["height"]  # under the map, not over it
        page.evaluate("document.querySelector('#widen').scrollIntoView()")
        shots.take(page, "15-tablet-none-eligible-within-1-mile", full_page=False)
        page.evaluate("document.querySelector('#shortlist-table').scrollIntoView()")
        shots.take(page, "16-tablet-none-eligible-table", full_page=False)
        page.click(f"#widen button[data-miles='{adding[0]['max_distance_miles']:g}']")
        page.wait_for_function(
            "n => document.querySelectorAll('#shortlist-table tr[data-listing-id]').length === n",
            arg=adding[0]["eligible_count"],
        )
        assert (
            tab.last_posted("/v1/shortlist")["max_distance_miles"]
            == adding[0]["max_distance_miles"]
        )
    finally:
        tab.close()


# ---------------------------------------------------------------------------------------
# Export and print, the root page
# ---------------------------------------------------------------------------------------


def test_ranking_csv_and_the_printed_pdf_hold_every_row_and_the_ids(
    console: Console, server: MatcherServer, shots: Screenshots, tmp_path: Path
) -> None:
    """The ranking's CSV equals the API's answer (rank order, prices, scores, components,
    the weights used, rejected bids with reasons). Printed to PDF by Chromium, the page
    holds the referral summary, every shortlisted listing (not just the scroll box), every
    ranked bid with its breakdown, and the decision ids."""
    for tool in ("pdftotext", "pdftoppm"):
        assert shutil.which(tool), f"{tool} is required: apt-get install poppler-utils"
    page = console.page
    console.referral()
    short_body = console.shortlist()
    short = server.post("/v1/shortlist", short_body).json()
    sent = console.count_posted("/v1/rank")
    page.click("#demo-bids")
    console.wait_ranked(sent)
    sent = console.count_posted("/v1/rank")
    page.check("input[name='order_by'][value='best_match']")
    console.wait_ranked(sent)
    api = server.post("/v1/rank", console.last_posted("/v1/rank")).json()

    rows = rows_of(console.download("#download-ranking"))
    ranked = [r for r in rows if r["status"] == "ranked"]
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert [r["bid_id"] for r in ranked] == [r["bid_id"] for r in api["ranked"]]
    assert [r["bid_id"] for r in rejected] == [r["bid_id"] for r in api["rejected"]]
    for row, r in zip(ranked, api["ranked"], strict=True):
        assert row["decision_id"] == api["decision_id"]
        assert row["snapshot_version"] == api["snapshot_version"]
        assert row["referral_id"] == api["referral_id"] and row["order_by"] == "best_match"
        assert row["rank"] == str(r["rank"]) and float(row["score"]) == r["score"]
        for key in ("expected_total_cost_gbp", "net_weekly_core_gbp", "headroom_weekly_gbp"):
            assert row[key] == r["price"][key]
        for name, part in r["components"].items():
            assert float(row[f"weight_{name}"]) == api["weights"]["weights"][name]
            assert float(row[f"{name}_value"]) == part["value"]
            assert float(row[f"{name}_contribution"]) == part["contribution"]
        assert row["tie_break_moved_above"] == " ".join(
            (r["tie_break"] or {}).get("moved_above", [])
        )
    for row, r in zip(rejected, api["rejected"], strict=True):
        assert row["rejection_reasons"] == "; ".join(r["reasons"])

    pdf = tmp_path / "console.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for entry in short["shortlist"]:
        assert entry["listing_id"] in text, entry["listing_id"]
    for r in api["ranked"]:
        assert r["bid_id"] in text
    flat = " ".join(text.split())
    assert short["decision_id"] in flat and api["decision_id"] in flat
    for label in ("Referral ID", "Placing authority", "Required needs", "Start date", "Radius"):
        assert label in flat
    assert "Tuesday 1 December 2026" in flat
    assert flat.count("Expected total") >= len(api["ranked"])
    assert "Generate DEMO bids" not in flat and "Reset view" not in flat  # controls left out
    folder = ARTIFACTS / "console"
    folder.mkdir(parents=True, exist_ok=True)
    pages = int(
        re.search(
            r"Pages:\s+(\d+)",
            subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout,
        ).group(1)
    )  # type: ignore[union-attr]
    for number, name in ((1, "17-printed-page-1"), (pages, "18-printed-last-page")):
        prefix = folder / name
        subprocess.run(
            ["pdftoppm", "-png", "-r", "70", "-f", str(number), "-l", str(number),
             "-singlefile", str(pdf), str(prefix)],
            check=True,
        )  # fmt: skip
        shots.record(prefix.with_suffix(".png"))


def test_root_redirects_to_the_console_and_the_log_prints_its_url(server: MatcherServer) -> None:
    """`/` is not a JSON 404: it redirects to the console, whose URL the start-up log prints."""
    answer = httpx.get(f"{server.url}/", timeout=30)
    assert answer.status_code == 307 and answer.headers["location"] == "console/"
    landed = httpx.get(f"{server.url}/", timeout=30, follow_redirects=True)
    assert str(landed.url) == f"{server.url}/console/" and "Officer console" in landed.text
    assert f"officer console at {server.url}/console/" in server.log.read_text()
