"""The dashboard's first view always loads, whatever the span of the data (issue #11): one
event dated 1900-01-01 must not make the page ask the API for 125 years at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.support import (
    LOAD_TIMEOUT_MS,
    columns,
    named_table,
    open_page,
    serve,
    write_counters,
)

LAST = date.today() - timedelta(days=1)
RECENT = {LAST: 3, LAST - timedelta(days=5): 4, LAST - timedelta(days=20): 5}
OLDER = {LAST - timedelta(days=40): 7}  # outside the default 30 days, inside ten years
ANCIENT = date(1900, 1, 1)
MAX_DAYS = 3660  # what the API answers at once (http_api.MAX_RANGE_DAYS)


def day(d: date) -> str:
    return d.isoformat()


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    db = tmp_path_factory.mktemp("span") / "span.db"
    counters = {}
    for d, n in {ANCIENT: 1, **OLDER, **RECENT}.items():
        counters[("sales", day(d), "Americano")] = n
        counters[("sales", day(d), "TotalSales")] = n
    write_counters(db, counters)
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        page = open_page(browser)
        page.goto(url)
        yield page
        page.close()


def wait_loaded(page: Page, first: date, last: date) -> None:
    page.wait_for_selector(
        f"body[data-loaded='{day(first)}..{day(last)}']", timeout=LOAD_TIMEOUT_MS
    )


def test_the_first_view_is_the_last_30_days_of_the_span(page: Page) -> None:
    wait_loaded(page, LAST - timedelta(days=29), LAST)
    by_day = columns(named_table(page, "#sales-table"))
    assert {d: r["Americano"] for d, r in by_day.items()} == {
        day(d): str(n) for d, n in sorted(RECENT.items())
    }
    assert page.text_content("#kpi-sold") == str(sum(RECENT.values()))
    status = page.text_content("#status") or ""
    assert f"{sum(RECENT.values())} drinks sold" in status
    assert "1900-01-01" in status  # says where the data starts
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_date_inputs_allow_the_whole_span(page: Page) -> None:
    for field in ("#from", "#to"):
        assert page.get_attribute(field, "min") == "1900-01-01"
        assert page.get_attribute(field, "max") == day(LAST)


def test_all_data_loads_the_longest_range_the_api_answers(page: Page) -> None:
    page.click("button[data-days='all']")
    first = LAST - timedelta(days=MAX_DAYS - 1)
    wait_loaded(page, first, LAST)
    assert page.input_value("#from") == day(first)
    assert page.input_value("#to") == day(LAST)
    assert page.text_content("#kpi-sold") == str(sum(RECENT.values()) + sum(OLDER.values()))
    status = page.text_content("#status") or ""
    assert "3660 days" in status and "1900-01-01" in status


def test_the_start_of_the_span_can_be_chosen(page: Page) -> None:
    page.fill("#from", "1900-01-01")
    page.fill("#to", "1900-01-31")
    page.click("button[type=submit]")
    wait_loaded(page, ANCIENT, date(1900, 1, 31))
    by_day = columns(named_table(page, "#sales-table"))
    assert {d: r["Americano"] for d, r in by_day.items()} == {"1900-01-01": "1"}
    assert page.text_content("#kpi-sold") == "1"


def test_a_range_longer_than_the_api_answers_is_shortened_and_said(page: Page) -> None:
    page.fill("#from", "1900-01-01")
    page.fill("#to", day(LAST))
    page.click("button[type=submit]")
    wait_loaded(page, LAST - timedelta(days=MAX_DAYS - 1), LAST)
    assert "3660 days" in (page.text_content("#status") or "")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_quick_ranges_follow_new_data(browser: Browser, tmp_path: Path) -> None:
    # The page stays open while orders come in: "Last 7 days" ends at the newest day.
    db = tmp_path / "growing.db"
    before = LAST - timedelta(days=3)
    write_counters(
        db, {("sales", day(before), "Americano"): 2, ("sales", day(before), "TotalSales"): 2}
    )
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        page = open_page(browser)
        page.goto(url)
        wait_loaded(page, before, before)
        write_counters(
            db, {("sales", day(LAST), "Americano"): 5, ("sales", day(LAST), "TotalSales"): 5}
        )
        page.click("button[data-days='7']")
        wait_loaded(page, LAST - timedelta(days=6), LAST)
        assert page.text_content("#kpi-sold") == "7"
        assert page.get_attribute("#to", "max") == day(LAST)
        page.close()
