"""Every failure shows as text in the dashboard's status line, and a metrics file without some of
the dashboard's metrics still gives a correct page."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from presso_metrics.bootstrap import default_metrics_text
from tests.browser.support import (
    LOAD_TIMEOUT_MS,
    columns,
    named_table,
    open_page,
    serve,
    table,
    write_counters,
)

DAY = "2024-05-02"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "errors.db"
    write_counters(
        path,
        {
            ("sales", DAY, "Americano"): 2,
            ("sales", DAY, "TotalSales"): 2,
            ("completions", DAY, "TotalCompleted"): 2,
        },
    )
    return path


def status(page: Page) -> str:
    return page.text_content("#status") or ""


def wait_status(page: Page, start: str) -> str:
    page.wait_for_function(
        "s => document.getElementById('status').textContent.startsWith(s)",
        arg=start,
        timeout=LOAD_TIMEOUT_MS,
    )
    return status(page)


def test_bad_ranges_are_said_in_the_status_line(browser: Browser, db: Path) -> None:
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        page = open_page(browser)
        page.goto(url)
        page.wait_for_selector(f"body[data-loaded='{DAY}..{DAY}']", timeout=LOAD_TIMEOUT_MS)
        page.fill("#from", "2024-05-03")
        page.click("button[type=submit]")
        assert wait_status(page, "The first day") == "The first day must not be after the last."
        page.fill("#from", "")
        page.click("button[type=submit]")
        assert "first day" in wait_status(page, "Choose")
        page.fill("#from", DAY)
        page.fill("#to", "")
        page.click("button[type=submit]")
        assert "last day" in wait_status(page, "Choose")
        page.close()


def test_a_server_that_went_away_is_said_in_the_status_line(browser: Browser, db: Path) -> None:
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, process):
        page = open_page(browser)
        page.goto(url)
        page.wait_for_selector(f"body[data-loaded='{DAY}..{DAY}']", timeout=LOAD_TIMEOUT_MS)
        process.terminate()
        process.wait(timeout=10)
        page.click("button[type=submit]")
        assert len(wait_status(page, "Could not load the metrics: ")) > len(
            "Could not load the metrics: "
        )
        page.close()


def test_a_failing_store_is_said_in_the_status_line_on_the_first_load(
    browser: Browser, db: Path
) -> None:
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        with closing(sqlite3.connect(db)) as conn:  # the store now fails every read
            conn.execute("DROP TABLE counters")
        page = open_page(browser)
        page.goto(url)
        text = wait_status(page, "Could not load")
        assert re.search(r"/api/span answered 5\d\d ", text), text
        assert page.get_attribute("body", "data-loaded") is None
        page.close()


def test_metrics_missing_from_the_metrics_file(browser: Browser, tmp_path: Path) -> None:
    # A metrics file with only sales, whose total is not counted: the page shows the drinks,
    # sums them for the total, and says which panels have no metric.
    text = default_metrics_text()
    sales = text[text.index("[metrics.sales]") : text.index("[metrics.completions]")]
    sales = sales.replace('total = "TotalSales"\n', "")
    metrics_file = tmp_path / "sales-only.toml"
    metrics_file.write_text(f'time_zone = "UTC"\n\n{sales}')
    db = tmp_path / "sales-only.db"
    write_counters(
        db,
        {("sales", DAY, "Americano"): 2, ("sales", DAY, "Latte"): 3},
        metrics_file=metrics_file,
    )
    env = {"PRESSO_METRICS_DB": str(db), "PRESSO_METRICS_FILE": str(metrics_file)}
    with serve(env) as (url, _):
        page = open_page(browser)
        page.goto(url)
        page.wait_for_selector(f"body[data-loaded='{DAY}..{DAY}']", timeout=LOAD_TIMEOUT_MS)
        rows = named_table(page, "#sales-table")
        assert rows[0] == ["day", "‹sum›", "Latte", "Americano"]
        assert columns(rows)[DAY] == {"day": DAY, "‹sum›": "5", "Latte": "3", "Americano": "2"}
        assert page.text_content("#kpi-sold") == "5"
        assert page.text_content("#kpi-top") == "Latte (3)"
        for kpi in ("#kpi-completed", "#kpi-cancelled", "#kpi-rate"):
            assert page.text_content(kpi) == "–"
        for panel in ("#outcomes-table", "#modifiers-table", "#hourly-table"):
            body = table(page, panel)[1:]
            assert len(body) == 1 and "not in this metrics file" in body[0][0], (panel, body)
        assert status(page) == f"5 drinks sold from {DAY} to {DAY}."
        assert page.errors == []  # type: ignore[attr-defined]
        page.close()
