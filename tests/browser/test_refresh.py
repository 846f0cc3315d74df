"""The page refreshes itself while it is open and visible (every 30 s; ?refresh=N seconds for
these tests): new orders show up, the selection (range, shop, the address) stays, the charts are
redrawn in place, nothing blanks out meanwhile; a failed refresh keeps the numbers shown, says so,
and is tried again."""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request

from presso_metrics.simulation import simulate_days
from tests.browser.shop_data import View, day, fill
from tests.browser.support import LOAD_TIMEOUT_MS, named_table, open_page, serve

D0 = date(2024, 6, 3)
D2 = D0 + timedelta(days=2)
CHARTS = [
    "sales-chart",
    "outcomes-chart",
    "cancel-rates-chart",
    "wait-daily-chart",
    "wait-hourly-chart",
]
WATCH = """() => {
    window.flicker = [];
    new MutationObserver(() => { if (!document.body.dataset.loaded) flicker.push("unloaded"); })
        .observe(document.body, { attributes: true, attributeFilter: ["data-loaded"] });
    const status = document.getElementById("status");
    new MutationObserver(() => {
        if (status.textContent.startsWith("Loading")) flicker.push("loading");
    }).observe(status, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "refresh.db"
    fill(db, simulate_days(orders=150, days=3, start=D0, seed=5, shops=2).events)
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        yield url, db


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = open_page(browser)
    yield page
    page.close()


def more_orders(db: Path, orders: int, seed: int) -> None:
    """New orders at NYC on the range's last day, counted by the worker."""
    fill(db, simulate_days(orders=orders, days=1, start=D2, seed=seed, shops=1).events)


def open_nyc(page: Page, url: str, refresh: int | None = 1) -> None:
    link = {"from": day(D0), "to": day(D2), "shop": "NYC"}
    if refresh is not None:
        link["refresh"] = str(refresh)
    page.goto(f"{url}/?{urllib.parse.urlencode(link)}")
    page.wait_for_selector(f"body[data-loaded='{day(D0)}..{day(D2)}']", timeout=LOAD_TIMEOUT_MS)
    assert page.evaluate("() => document.body.dataset.shop") == "NYC"


def wait_sold(page: Page, sold: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('kpi-sold').textContent === n",
        arg=str(sold),
        timeout=LOAD_TIMEOUT_MS,
    )


def chart_ids(page: Page) -> list[int]:
    ids: list[int] = page.evaluate("ids => ids.map(id => Chart.getChart(id).id)", CHARTS)
    return ids


def test_new_orders_show_up_and_the_selection_stays(page: Page, site: tuple[str, Path]) -> None:
    url, db = site
    open_nyc(page, url)
    assert page.text_content("#updated").endswith("refreshes every 1 s")  # type: ignore[union-attr]
    before = View(url, day(D0), day(D2), "NYC").sold()
    assert page.text_content("#kpi-sold") == str(before)
    address, charts = page.url, chart_ids(page)
    page.evaluate(WATCH)
    more_orders(db, 40, seed=77)
    now = View(url, day(D0), day(D2), "NYC")
    assert now.sold() > before
    wait_sold(page, now.sold())
    page.wait_for_function(  # the refresh draws every panel from the same load
        "n => document.getElementById('kpi-completed').textContent === n",
        arg=str(now.completed()),
        timeout=LOAD_TIMEOUT_MS,
    )
    assert {r[0]: r[1:] for r in named_table(page, "#wait-daily-table")[1:]} == now.wait_by_day()
    assert page.evaluate("() => document.body.dataset.shop") == "NYC"
    assert page.input_value("#shop") == "NYC"
    assert (page.input_value("#from"), page.input_value("#to")) == (day(D0), day(D2))
    assert page.url == address
    assert chart_ids(page) == charts  # redrawn in place, not replaced
    assert page.evaluate("() => flicker") == []
    assert page.text_content("#updated").startswith("Updated ")  # type: ignore[union-attr]
    assert page.errors == []  # type: ignore[attr-defined]


def test_every_30_seconds_unless_the_link_says(page: Page, site: tuple[str, Path]) -> None:
    url, _ = site
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    open_nyc(page, url, refresh=None)
    assert page.text_content("#updated").endswith("refreshes every 30 s")  # type: ignore[union-attr]
    loaded = len(requests)
    page.wait_for_timeout(2500)
    assert len(requests) == loaded  # nothing asked again within 30 s
    open_nyc(page, url, refresh=1)
    spans = sum("/api/span" in r for r in requests)
    page.wait_for_timeout(3500)
    assert sum("/api/span" in r for r in requests) >= spans + 2


def test_no_refresh_while_the_page_is_hidden(page: Page, site: tuple[str, Path]) -> None:
    url, db = site
    open_nyc(page, url)
    before = page.text_content("#kpi-sold")
    asked: list[str] = []

    def on_request(request: Request) -> None:
        if "/api/" in request.url:
            asked.append(request.url)

    page.on("request", on_request)
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_timeout(1500)  # a refresh under way when hidden may still finish
    asked.clear()
    more_orders(db, 30, seed=78)
    page.wait_for_timeout(3000)
    assert asked == []
    assert page.text_content("#kpi-sold") == before
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    wait_sold(page, View(url, day(D0), day(D2), "NYC").sold())  # at once, not after a wait


def test_a_failed_refresh_keeps_the_numbers_and_is_tried_again(
    page: Page, site: tuple[str, Path]
) -> None:
    url, db = site
    open_nyc(page, url)
    shown = page.text_content("#kpi-sold")
    with closing(sqlite3.connect(db)) as conn:  # every read of the store now fails
        conn.execute("ALTER TABLE counters RENAME TO counters_away")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('Could not refresh at ')",
        timeout=LOAD_TIMEOUT_MS,
    )
    status = page.text_content("#status") or ""
    assert "/api/span answered 503" in status, status
    assert "The numbers shown are from " in status and "trying again in 2 s" in status
    assert page.text_content("#kpi-sold") == shown
    assert page.get_attribute("body", "data-loaded") == f"{day(D0)}..{day(D2)}"
    assert "could not refresh" in (page.text_content("#updated") or "")
    assert "problem" in (page.get_attribute("#updated", "class") or "")
    time.sleep(2.5)  # a second failure: the wait doubles
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('trying again in 4 s')",
        timeout=LOAD_TIMEOUT_MS,
    )
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("ALTER TABLE counters_away RENAME TO counters")
    sold = View(url, day(D0), day(D2), "NYC").sold()
    page.wait_for_function(
        "s => document.getElementById('status').textContent === s",
        arg=f"{sold} drinks sold at “NYC” from {day(D0)} to {day(D2)}.",
        timeout=LOAD_TIMEOUT_MS,
    )
    assert page.text_content("#updated").endswith("refreshes every 1 s")  # type: ignore[union-attr]
    assert page.evaluate("() => document.body.dataset.shop") == "NYC"
