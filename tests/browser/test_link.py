"""The view is in the page's address (?from=&to=&shop=), written as the selection changes, so a
link reproduces it; what a link says is text from outside: checked, and shown only as text."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.shop_data import IMG, LAST, PROTO, SHOPS, START, View, api, day
from tests.browser.support import LOAD_TIMEOUT_MS, named_table, open_page

PANELS = [
    "#sales-table",
    "#outcomes-table",
    "#cancel-rates-table",
    "#wait-daily-table",
    "#wait-hourly-table",
    "#modifiers-table",
    "#hourly-table",
]
KPIS = ["#kpi-sold", "#kpi-completed", "#kpi-cancelled", "#kpi-rate", "#kpi-top"]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = open_page(browser)
    yield page
    page.close()


def query(page: Page) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query, keep_blank_values=True)


def wait_loaded(page: Page, first: str, last: str) -> None:
    page.wait_for_selector(f"body[data-loaded='{first}..{last}']", timeout=LOAD_TIMEOUT_MS)


def snapshot(page: Page) -> dict[str, object]:
    shown: dict[str, object] = {p: named_table(page, p) for p in PANELS}
    shown.update({k: page.text_content(k) for k in KPIS})
    shown["trend"] = page.eval_on_selector_all(".trend-card", "cs => cs.map(c => c.textContent)")
    shown["shop"] = page.evaluate("() => document.body.dataset.shop ?? null")
    return shown


def status(page: Page) -> str:
    return page.text_content("#status") or ""


def test_the_address_follows_the_selection_and_reproduces_it(
    browser: Browser, page: Page, shops_url: str
) -> None:
    page.goto(shops_url)
    wait_loaded(page, day(START), day(LAST))
    assert query(page) == [("from", day(START)), ("to", day(LAST))]
    first = day(START + timedelta(days=3))
    page.fill("#from", first)
    page.click("button[type=submit]")
    wait_loaded(page, first, day(LAST))
    assert query(page) == [("from", first), ("to", day(LAST))]
    page.select_option("#shop", index=SHOPS.index(IMG) + 1)
    assert query(page) == [("from", first), ("to", day(LAST)), ("shop", IMG)]
    shown = snapshot(page)
    assert shown["#kpi-sold"] == str(View(shops_url, first, day(LAST), IMG).sold())
    # reloading, and opening the link in another page, show the same view
    page.reload()
    wait_loaded(page, first, day(LAST))
    assert snapshot(page) == shown
    assert page.input_value("#shop") == IMG
    assert (page.input_value("#from"), page.input_value("#to")) == (first, day(LAST))
    other = open_page(browser)
    other.goto(page.url)
    wait_loaded(other, first, day(LAST))
    assert snapshot(other) == shown
    assert other.errors == []  # type: ignore[attr-defined]
    other.close()
    # back to all shops: the shop leaves the address
    page.select_option("#shop", index=0)
    assert query(page) == [("from", first), ("to", day(LAST))]


@pytest.mark.parametrize("shop", [IMG, PROTO, "unknown"])
def test_a_link_to_a_shop_named_like_markup_or_a_key_shows_it(
    page: Page, shops_url: str, shop: str
) -> None:
    page.goto(f"{shops_url}/?{urllib.parse.urlencode({'shop': shop})}")
    wait_loaded(page, day(START), day(LAST))
    assert page.evaluate("() => document.body.dataset.shop") == shop
    assert page.input_value("#shop") == shop
    assert page.text_content("#kpi-sold") == str(
        View(shops_url, day(START), day(LAST), shop).sold()
    )
    assert page.locator("img").count() == 0
    assert page.dialogs == [] and page.errors == []  # type: ignore[attr-defined]


HOSTILE_SHOPS = [
    "<script>alert(1)</script>",
    "<img src=y onerror=alert(2)>",
    "constructor",
    "toString",
    "",
    "NYC ",
    "x" * 5000,
]


@pytest.mark.parametrize("shop", HOSTILE_SHOPS)
def test_a_link_to_a_shop_without_data_shows_all_shops_and_says_so(
    page: Page, shops_url: str, shop: str
) -> None:
    page.goto(f"{shops_url}/?{urllib.parse.urlencode({'shop': shop, 'from': day(START)})}")
    wait_loaded(page, day(START), day(LAST))  # from the link, to: the last day with data
    assert page.evaluate("() => document.body.dataset.shop ?? null") is None
    assert page.input_value("#shop") == "‹all shops›"
    shown = {"": "‹empty›", "NYC ": "NYC␣"}.get(shop, shop)
    if len(shop) > 40:
        shown = shop[:40] + "…"
    sold = View(shops_url, day(START), day(LAST), None).sold()
    assert status(page) == (
        f"{sold} drinks sold from {day(START)} to {day(LAST)}. No shop “{shown}” has data from "
        f"{day(START)} to {day(LAST)}: showing all shops."
    )
    assert query(page) == [("from", day(START)), ("to", day(LAST))]  # the bad shop is gone
    assert page.locator("script").count() == 2  # Chart.js and the page's module
    assert page.locator("img").count() == 0
    assert page.dialogs == [] and page.errors == []  # type: ignore[attr-defined]
    assert page.evaluate("() => Object.keys(Object.prototype).length") == 0


WHOLE = f"{day(START)}..{day(LAST)}"  # the first view: the data's last 30 days, here all of it


@pytest.mark.parametrize(
    "link, said, loaded",
    [
        (
            {"from": "<b>bold</b>", "to": day(LAST)},
            "The link's from “<b>bold</b>” is not a day written YYYY-MM-DD: it is left out.",
            f"{day(LAST - timedelta(days=29))}..{day(LAST)}",  # 30 days to the link's to
        ),
        (
            {"from": day(START), "to": "2024-02-30"},
            "The link's to “2024-02-30” is not a day written YYYY-MM-DD: it is left out.",
            WHOLE,  # from the link's from to the last day with data
        ),
        (
            {"from": day(LAST), "to": day(START)},
            f"The link's from {day(LAST)} is after its to {day(START)}: it is left out.",
            WHOLE,
        ),
        (
            {"refresh": "0"},
            "The link's refresh “0” is not a number of seconds from 1 to 3600: it is left out.",
            WHOLE,
        ),
    ],
)
def test_a_bad_link_is_said_as_text(
    page: Page, shops_url: str, link: dict[str, str], said: str, loaded: str
) -> None:
    page.goto(f"{shops_url}/?{urllib.parse.urlencode(link)}")
    page.wait_for_selector(f"body[data-loaded='{loaded}']", timeout=LOAD_TIMEOUT_MS)
    assert said in status(page)
    assert page.locator("main b, #status b").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]
    first, last = loaded.split("..")
    assert query(page)[:2] == [("from", first), ("to", last)]


def test_the_span_says_how_many_days_the_api_answers(page: Page, shops_url: str) -> None:
    span = api(shops_url, "/api/span")
    assert span == {
        "from": day(START),
        "to": day(LAST),
        "time_zone": "UTC",
        "max_range_days": 3660,
    }
    # a link asking for more is shortened to that, and says so
    page.goto(f"{shops_url}/?from=1990-01-01&to={day(LAST)}")
    first = day(LAST - timedelta(days=3659))
    wait_loaded(page, first, day(LAST))
    assert "the API answers at most 3660 days at once" in status(page)
    assert query(page) == [("from", first), ("to", day(LAST))]
