"""This period against the previous one (the same number of days just before it): drinks sold,
completion rate and median wait, each with the change, for all shops and for each shop; the
numbers equal what the API's rows give for both periods."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.shop_data import LAST, SHOPS, START, View, day, trend
from tests.browser.support import LOAD_TIMEOUT_MS, open_page


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    page = open_page(browser)
    yield page
    page.close()


def visit(page: Page, url: str, first: str, last: str, shop: str | None) -> None:
    query = {"from": first, "to": last, **({"shop": shop} if shop is not None else {})}
    page.goto(f"{url}/?{urllib.parse.urlencode(query)}")
    page.wait_for_selector(f"body[data-loaded='{first}..{last}']", timeout=LOAD_TIMEOUT_MS)
    assert page.evaluate("() => document.body.dataset.shop ?? null") == shop


def cards(page: Page) -> dict[str, dict[str, str]]:
    return page.eval_on_selector_all(
        ".trend-card",
        """cs => Object.fromEntries(cs.map(c => [c.id, {
            now: c.querySelector('.now').textContent,
            before: c.querySelector('.before').textContent,
            change: c.querySelector('.change').textContent,
            direction: c.dataset.direction, verdict: c.dataset.verdict }]))""",
    )


@pytest.mark.parametrize("shop", [None, *SHOPS[:3]])
@pytest.mark.parametrize("days", [7, 4, 1])
def test_this_period_against_the_one_before(
    page: Page, shops_url: str, shop: str | None, days: int
) -> None:
    first, last = LAST - timedelta(days=days - 1), LAST
    before_first, before_last = first - timedelta(days=days), first - timedelta(days=1)
    assert before_first >= START
    visit(page, shops_url, day(first), day(last), shop)
    now = View(shops_url, day(first), day(last), shop)
    before = View(shops_url, day(before_first), day(before_last), shop)
    assert cards(page) == trend(now, before)
    period = page.text_content("#trend-period")
    before_days = day(before_first) if days == 1 else f"{day(before_first)} to {day(before_last)}"
    length = "day" if days == 1 else f"{days} days"
    assert period == f"Compared with the {length} before: {before_days}."
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_changes_go_both_ways_in_this_data(page: Page, shops_url: str) -> None:
    # The cases above are not all alike: some go up, some down, some are better, some worse.
    seen = set()
    for shop in [None, *SHOPS[:3]]:
        for days in (7, 4, 1):
            first = LAST - timedelta(days=days - 1)
            now = View(shops_url, day(first), day(LAST), shop)
            before = View(
                shops_url, day(first - timedelta(days=days)), day(first - timedelta(days=1)), shop
            )
            for card in trend(now, before).values():
                seen.add((card["direction"], card["verdict"]))
    assert {("up", "better"), ("down", "worse"), ("down", "better"), ("up", "worse")} <= seen


def test_a_period_before_the_data_is_not_compared(page: Page, shops_url: str) -> None:
    visit(page, shops_url, day(START), day(LAST), None)
    got = cards(page)
    assert {c["change"] for c in got.values()} == {"no comparison"}
    assert {c["before"] for c in got.values()} == {"before: –"}
    assert {c["verdict"] for c in got.values()} == {"none"}
    assert got["trend-sales"]["now"] == str(View(shops_url, day(START), day(LAST), None).sold())
    assert page.text_content("#trend-period") == (
        f"Nothing to compare with: the data starts on {day(START)}, after the 14 days before "
        f"this period ({day(START - timedelta(days=14))} to {day(START - timedelta(days=1))})."
    )
