"""The shop selector (issue #13): it lists every shop with data in the range, and choosing one
puts that shop's figures, as the API has them, in every panel that has figures per shop; the
panels counted over all shops say so. Two shops are named like markup and like __proto__."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.shop_data import (
    IMG,
    LAST,
    PROTO,
    SHOPS,
    START,
    View,
    day,
    pct,
)
from tests.browser.support import LOAD_TIMEOUT_MS, columns, named_table, open_page, table

RANGE = f"{day(START)}..{day(LAST)}"


@pytest.fixture(scope="module")
def page(browser: Browser, shops_url: str) -> Iterator[Page]:
    page = open_page(browser)
    page.goto(shops_url)  # the first view: the whole fortnight, all shops
    page.wait_for_selector(f"body[data-loaded='{RANGE}']", timeout=LOAD_TIMEOUT_MS)
    yield page
    page.close()


def choose(page: Page, shop: str | None) -> None:
    page.select_option("#shop", index=0 if shop is None else SHOPS.index(shop) + 1)
    assert page.evaluate("() => document.body.dataset.shop ?? null") == shop


def cells(page: Page, selector: str) -> dict[str, list[str]]:
    """A table's body rows, {row header: the other cells}."""
    return {r[0]: r[1:] for r in named_table(page, selector)[1:]}


def test_the_selector_lists_every_shop_as_text(page: Page) -> None:
    options = page.eval_on_selector_all("#shop option", "os => os.map(o => o.textContent)")
    assert options == ["‹all shops›", *SHOPS]
    assert IMG in options and PROTO in options and "unknown" in options
    titles = page.eval_on_selector_all("#shop option", "os => os.map(o => o.title)")
    assert titles[SHOPS.index(IMG) + 1] == '"<img src=x onerror=alert(1)>"'
    assert page.input_value("#shop") == "‹all shops›"
    assert page.locator("img").count() == 0


@pytest.mark.parametrize("shop", [None, *SHOPS])
def test_every_per_shop_panel_shows_the_chosen_shops_figures(
    page: Page, shops_url: str, shop: str | None
) -> None:
    want = View(shops_url, day(START), day(LAST), shop)
    choose(page, shop)
    # the totals
    sold, completed, cancelled = want.sold(), want.completed(), want.cancelled()
    assert sold > 0 and completed > 0
    assert page.text_content("#kpi-sold") == str(sold)
    assert page.text_content("#kpi-completed") == str(completed)
    assert page.text_content("#kpi-cancelled") == str(cancelled)
    assert page.text_content("#kpi-rate") == pct(cancelled, completed + cancelled)
    by_drink = want.sold_by_drink()
    top = sorted(by_drink, key=lambda d: (-by_drink[d], d))[0]
    assert page.text_content("#kpi-top") == f"{top} ({by_drink[top]})"
    # daily sales by drink
    rows = named_table(page, "#sales-table")
    assert rows[0][1] == ("TotalSales" if shop is None else "‹sum›")
    got = columns(rows)
    expected = want.sold_by_day_and_drink()
    assert sorted(got) == sorted(expected)
    for d, drinks in expected.items():
        assert got[d][rows[0][1]] == str(sum(drinks.values()))
        assert {k: v for k, v in got[d].items() if k not in ("day", rows[0][1])} == {
            drink: str(drinks.get(drink, 0)) for drink in by_drink
        }
    # completions and cancellations per day
    done = want.daily(want.completions, "TotalCompleted")
    lost = want.daily(want.cancellations, "TotalCancelled")
    assert cells(page, "#outcomes-table") == {
        d: [str(done.get(d, 0)), str(lost.get(d, 0))] for d in set(done) | set(lost)
    }
    # cancellation rate by drink
    lost_by_drink = want.cancelled_by_drink()
    rates = cells(page, "#cancel-rates-table")
    total = rates.pop("‹all drinks›")
    assert total == [str(sold), str(cancelled), pct(cancelled, sold)]
    assert rates == {
        drink: [
            str(by_drink.get(drink, 0)),
            str(lost_by_drink.get(drink, 0)),
            pct(lost_by_drink.get(drink, 0), by_drink[drink]) if by_drink.get(drink) else "–",
        ]
        for drink in set(by_drink) | set(lost_by_drink)
    }
    # waits per day and by hour of day: percentiles of the summed histograms
    assert cells(page, "#wait-daily-table") == want.wait_by_day()
    assert cells(page, "#wait-hourly-table") == want.wait_by_hour()
    # every per-shop panel says whose figures it shows
    scopes = page.eval_on_selector_all(
        "[data-scope='shop']",
        "els => els.map(e => e.querySelector('[data-name]')?.dataset.name ?? e.textContent)",
    )
    assert scopes == [shop or "all shops"] * 6  # trend, sales, outcomes, rates, two waits
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_panels_counted_over_all_shops_say_so(page: Page) -> None:
    choose(page, None)
    modifiers, hourly = table(page, "#modifiers-table"), table(page, "#hourly-table")
    assert len(modifiers) > 3 and len(hourly) > 3
    for panel in ("#modifiers", "#hourly"):
        assert not page.locator(f"{panel} .all-shops-note").is_visible()
    choose(page, "NYC")
    assert table(page, "#modifiers-table") == modifiers
    assert table(page, "#hourly-table") == hourly
    assert "All shops: modifiers are not counted per shop" in (
        page.locator("#modifiers .all-shops-note").inner_text()
    )
    hourly_note = page.locator("#hourly .all-shops-note").inner_text()
    assert "not counted per shop" in hourly_note and "Wait time by hour of day" in hourly_note
    assert page.text_content("#modifiers .scope") == "all shops"


def test_the_status_line_names_the_shop_as_text(page: Page, shops_url: str) -> None:
    choose(page, IMG)
    sold = View(shops_url, day(START), day(LAST), IMG).sold()
    assert page.text_content("#status") == (
        f"{sold} drinks sold at “{IMG}” from {day(START)} to {day(LAST)}."
    )
    choose(page, None)
    assert page.text_content("#status") == (
        f"{View(shops_url, day(START), day(LAST), None).sold()} drinks sold from {day(START)} "
        f"to {day(LAST)}."
    )


def test_a_range_without_the_shop_falls_back_to_all_shops(page: Page) -> None:
    choose(page, PROTO)
    page.fill("#from", "2024-02-01")
    page.fill("#to", "2024-02-10")
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded='2024-02-01..2024-02-10']", timeout=LOAD_TIMEOUT_MS)
    assert page.evaluate("() => document.body.dataset.shop ?? null") is None
    assert "No shop “__proto__” has data from 2024-02-01 to 2024-02-10: showing all shops." in (
        page.text_content("#status") or ""
    )
    assert page.eval_on_selector_all("#shop option", "os => os.length") == 1
    # back to the fortnight: the shops are there again; the shop chosen before is not
    page.fill("#from", day(START))
    page.fill("#to", day(LAST))
    page.click("button[type=submit]")
    page.wait_for_selector(f"body[data-loaded='{RANGE}']", timeout=LOAD_TIMEOUT_MS)
    assert page.eval_on_selector_all("#shop option", "os => os.length") == 1 + len(SHOPS)


def test_nothing_is_injected_or_run(page: Page) -> None:
    for shop in SHOPS:
        choose(page, shop)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    assert page.locator("img").count() == 0
    assert page.locator("[onerror]").count() == 0
    assert page.evaluate("() => Object.keys(Object.prototype).length") == 0
