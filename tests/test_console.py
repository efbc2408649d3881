"""The officer console in a real browser: Playwright driving Debian's Chromium against a
real `matcher serve` (see tests/browser_support.py).

What the officer sees is checked against the public API's own answer to the request the
page sent (captured from the browser and re-sent with httpx). Screenshots of the main states
go to test-artifacts/console/ (the path is printed at the end of the module).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
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

DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
START_DATE = "2026-12-01"  # inside the demo registry's ceiling year (2026-04-01 to 2027-03-31)


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
        self.context = browser.new_context(viewport=viewport, locale="en-GB")
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
        if not request.url.startswith(self.server.url):
            self.problems.append(f"request outside the server: {request.url}")
        elif request.method == "POST":
            path = request.url[len(self.server.url) :]
            self.posted.append((path, request.post_data_json))

    def last_posted(self, path: str) -> dict[str, Any]:
        """The JSON body of the page's latest POST to `path`."""
        bodies = [body for p, body in self.posted if p == path]
        assert bodies, f"the page sent no POST {path}"
        return bodies[-1]

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

    def wait_ranked(self) -> None:
        """Wait until no ranking is pending (debounce elapsed) and the last answer is shown."""
        self.page.wait_for_timeout(300)  # the 250 ms debounce, if a slider just moved
        self.page.wait_for_selector("#results[data-state='done']")

    def no_horizontal_scroll(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = self.page.viewport_size["width"]
        assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"


@pytest.fixture()
def console(browser: Any, server: MatcherServer) -> Iterator[Console]:
    tab = Console(browser, server, DESKTOP)
    yield tab
    tab.close()


def texts(page: Any, selector: str, attribute: str) -> list[str]:
    """A data-* value of every element matching `selector`, in page order."""
    values: list[str] = page.eval_on_selector_all(
        selector, f"els => els.map(e => e.dataset.{attribute})"
    )
    return values


def translate(transform: str) -> tuple[float, float]:
    match = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", transform)
    assert match, transform
    return float(match.group(1)), float(match.group(2))


def test_shortlist_table_and_map_equal_the_apis_answer(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """Harrow: the table rows are the API's shortlist in its order, one map marker per
    listing at its projected distance inside the radius circle, excluded listings greyed
    with their reasons, and the answer's snapshot_version and decision_id shown."""
    page = console.page
    console.referral(authority="LB Harrow")
    body = console.shortlist()
    assert body["placing_authority"] == "LB Harrow"  # sent as typed: the API resolves names
    assert body["child"] == {"age": 14, "gender": "male", "needs": ["emotional_behavioural"]}
    assert body["max_distance_miles"] == 25
    api = server.post("/v1/shortlist", body).json()
    assert api["placing_authority"]["name"] == "Harrow"
    ids = [e["listing_id"] for e in api["shortlist"]]
    assert len(ids) >= 10

    assert texts(page, "#shortlist-table tbody tr", "listingId") == ids
    first = api["shortlist"][0]
    cells = page.eval_on_selector_all(
        "#shortlist-table tbody tr:first-child td", "tds => tds.map(td => td.innerText)"
    )
    assert first["name"] in cells[0]
    assert cells[1] == f"{first['distance_miles']:.2f}"
    assert cells[2] == ("Yes" if first["in_area"] else "No")
    assert cells[3].replace(",", "") == f"£{first['ceiling_weekly_gbp']}"
    assert cells[4] == str(first["vacancies"])
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

    excluded = api["excluded_within_radius"]
    assert page.locator("#map circle.excluded").count() == len(excluded) > 0
    catalogue = {r["code"]: r["description"] for r in server.get("/v1/catalogue").json()["reasons"]}
    grey = page.locator(f"#map circle.excluded[data-listing-id='{excluded[0]['listing_id']}']")
    for reason in excluded[0]["reasons"]:
        assert catalogue[reason] in (grey.get_attribute("aria-label") or "")
        assert catalogue[reason] in (grey.locator("title").text_content() or "")

    # Keyboard: one tab stop per marker layer, arrows move, the details follow focus.
    page.focus("#map g.marker[tabindex='0']")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("Eligible:")
    assert page.inner_text("#map-info") == focused

    page.evaluate("window.scrollTo(0, 0)")
    shots.take(page, "1-referral-shortlist-map-1280x800", full_page=False)

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
    console.no_horizontal_scroll()


def test_demo_bids_ranked_by_price_then_best_match_with_price_weight_zero(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """DEMO bids rank in the API's order by price; by best match with the price slider at 0
    they rank in the API's order for exactly the weights the page shows (and copies)."""
    page = console.page
    console.referral()
    console.shortlist()
    page.click("#demo-bids")
    console.wait_ranked()
    assert page.is_visible("#demo-note") and "DEMO" in page.inner_text("#demo-note")
    body = console.last_posted("/v1/rank")
    assert body["order_by"] == "price"
    assert all(b["bid_id"].startswith("DEMO-") for b in body["bids"])
    api = server.post("/v1/rank", body).json()
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    assert len(api["ranked"]) >= 5
    # The one DEMO bid above its ceiling is rejected, with the reason shown.
    assert [r["reasons"] for r in api["rejected"]] == [["above_ceiling"]]
    rejected = page.inner_text("#rejected-list")
    assert api["rejected"][0]["bid_id"] in rejected and "Above ceiling" in rejected
    # Expected total with the discount itemised; the score as text and as a bar.
    top = api["ranked"][0]
    card = page.inner_text("#ranked > li:first-child").replace(",", "")
    assert f"Expected total £{top['price']['expected_total_cost_gbp']}" in card
    for discount in top["price"]["discounts"]:
        assert f"{discount['percent']}% £{discount['weekly_amount_gbp']}" in card
    assert f"Score {top['score']:.3f}" in card.replace("\n", " ")
    assert page.locator("#ranked > li:first-child .bar span").count() == len(top["components"])
    stamp = page.inner_text("#rank-stamp")
    assert api["snapshot_version"] in stamp and api["decision_id"] in stamp
    shots.take(page, "2-ranked-by-price")

    page.check("input[name='order_by'][value='best_match']")
    console.wait_ranked()
    assert page.get_attribute("#results", "data-order-by") == "best_match"
    sent_before = len(console.posted)
    page.focus("#w-price")
    for key in ("ArrowLeft", "ArrowLeft", "Home"):  # faster than the debounce: one request
        page.keyboard.press(key)
    assert page.input_value("#w-price") == "0"
    assert page.inner_text("#w-price-out") == "0"
    page.wait_for_function(
        "() => { const r = document.querySelector('#results');"
        " return r.dataset.state === 'done' && JSON.parse(r.dataset.weights).price === 0; }"
    )
    assert len(console.posted) == sent_before + 1
    copied = json.loads(page.input_value("#weights-json"))
    assert copied["weights"]["price"] == 0
    body = console.last_posted("/v1/rank")
    api = server.post(
        "/v1/rank", body | {"profile": copied["profile"], "weights": copied["weights"]}
    ).json()
    assert api["weights"]["weights"]["price"] == 0
    assert texts(page, "#ranked > li", "bidId") == [r["bid_id"] for r in api["ranked"]]
    assert api["decision_id"] in page.inner_text("#rank-stamp")
    page.click("#copy-weights")
    page.wait_for_function("document.querySelector('#copy-status').textContent !== ''")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == copied
    console.no_horizontal_scroll()
    shots.take(page, "3-best-match-price-weight-0")

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
    page.locator("#compare").scroll_into_view_if_needed()
    shots.take(page, "4-compare-with-cost-focused")


def test_invalid_age_shows_the_apis_message_next_to_the_field(
    console: Console, server: MatcherServer, shots: Screenshots
) -> None:
    """Age 30 (the form has novalidate): the API's 422 reason for child.age is shown beside
    the age field, which is marked invalid and described by it."""
    page = console.page
    console.referral(age="30")
    page.click("#shortlist-button")
    page.wait_for_selector("#err-age")
    body = console.last_posted("/v1/shortlist")
    answer = server.post("/v1/shortlist", body)
    assert answer.status_code == 422
    reasons = [d["reason"] for d in answer.json()["error"]["details"] if d["field"] == "child.age"]
    assert reasons and reasons[0] in page.inner_text("#err-age")
    assert page.get_attribute("#age", "aria-invalid") == "true"
    assert "err-age" in (page.get_attribute("#age", "aria-describedby") or "").split()
    assert page.evaluate("document.activeElement.id") == "age"
    assert page.is_hidden("#banner")
    page.evaluate("window.scrollTo(0, 0)")
    shots.take(page, "5-error-age-30", full_page=False)


def test_unknown_authority_offers_the_apis_suggestions(
    console: Console, server: MatcherServer
) -> None:
    """A misspelt authority shows the API's message and suggestion; choosing it shortlists."""
    page = console.page
    console.referral(authority="Harow")
    page.click("#shortlist-button")
    page.wait_for_selector("#err-placing_authority")
    answer = server.post("/v1/shortlist", console.last_posted("/v1/shortlist")).json()
    detail = answer["error"]["details"][0]
    assert detail["field"] == "placing_authority" and detail["suggestions"] == ["Harrow"]
    assert detail["reason"] in page.inner_text("#err-placing_authority")
    page.click("#err-placing_authority button:text('Harrow')")
    page.wait_for_selector("#map[data-drawn]")
    assert page.input_value("#placing_authority") == "Harrow"
    assert page.locator("#err-placing_authority").count() == 0
    assert page.get_attribute("#placing_authority", "aria-invalid") is None


def test_form_comes_from_the_catalogue_and_every_control_is_labelled(
    console: Console, server: MatcherServer
) -> None:
    """Authorities with their aliases in the type-ahead, lots following the DPV, needs with
    their descriptions; every input, select, textarea and button has an accessible name."""
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
        assert need["description"] in page.inner_text(f"label[for='need-{need['code']}']")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
            .map(el => el.id || el.outerHTML)"""
    )
    assert unnamed == []


def test_tablet_width_stacks_and_offers_a_wider_search(
    browser: Any, server: MatcherServer, shots: Screenshots
) -> None:
    """At 820 px the panels stack without horizontal scrolling; with few eligible the map and
    the panel show the API's widen-search counts, and one click searches wider."""
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
        assert page.locator("#map g.note").count() == 1
        box = page.locator("#referral-panel").bounding_box()
        assert box is not None and box["width"] > 700
        tab.no_horizontal_scroll()
        page.click("#demo-bids")
        tab.wait_ranked()
        tab.no_horizontal_scroll()
        shots.take(page, "6-tablet-820-few-eligible")
        wider = api["widen_search"][-1]
        page.click(f"#widen button:text('within {wider['max_distance_miles']:g} miles')")
        page.wait_for_function(
            "n => document.querySelectorAll('#shortlist-table tbody tr').length === n",
            arg=min(wider["eligible_count"], 200),
        )
        assert tab.last_posted("/v1/shortlist")["max_distance_miles"] == wider["max_distance_miles"]
    finally:
        tab.close()


def test_root_redirects_to_the_console_and_the_log_prints_its_url(server: MatcherServer) -> None:
    """`/` is not a JSON 404: it redirects to the console, whose URL the start-up log prints."""
    answer = httpx.get(f"{server.url}/", timeout=30)
    assert answer.status_code == 307 and answer.headers["location"] == "console/"
    landed = httpx.get(f"{server.url}/", timeout=30, follow_redirects=True)
    assert str(landed.url) == f"{server.url}/console/" and "Officer console" in landed.text
    assert f"officer console at {server.url}/console/" in server.log.read_text()
