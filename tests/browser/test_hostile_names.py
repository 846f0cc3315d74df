"""Names from the data that are JavaScript object keys, markup, or differ only in white space
show in the dashboard as the text they are, each with its own numbers (issue #11)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.support import (
    LOAD_TIMEOUT_MS,
    chart,
    columns,
    named_table,
    open_page,
    serve,
    table,
    write_counters,
)

D1, D2 = "2024-02-28", "2024-02-29"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[link=http://evil.example]x[/link]"
# drink -> {day: sales}
SALES = {
    "__proto__": {D1: 25, D2: 15},
    "constructor": {D1: 3},
    "toString": {D2: 5},
    "hasOwnProperty": {D1: 4, D2: 3},
    "valueOf": {D2: 6},
    "Latte": {D1: 10},
    "Latte ": {D1: 2},
    " Latte": {D2: 1},
    IMG: {D1: 8},
    LINK: {D2: 9},
    "Caffe Latte": {D1: 11},
    "Caffe  Latte": {D2: 12},
}
MODIFIERS = {"__proto__": 12, "constructor": 2, "toString": 1, "hasOwnProperty": 3, "Oat ": 4}
# What a name looks like on the page: edge spaces and runs of spaces marked with ␣.
SHOWN = {"Latte ": "Latte␣", " Latte": "␣Latte", "Caffe  Latte": "Caffe␣␣Latte", "Oat ": "Oat␣"}


def total(day: str) -> int:
    return sum(days.get(day, 0) for days in SALES.values())


@pytest.fixture(scope="module")
def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    counters = {}
    for drink, days in SALES.items():
        for day, n in days.items():
            counters[("sales", day, drink)] = n
    for day in (D1, D2):
        counters[("sales", day, "TotalSales")] = total(day)
        counters[("hourly_sales", f"{day}T09", "HourlyTotal")] = total(day)
        counters[("completions", day, "TotalCompleted")] = total(day) - 1
        counters[("cancellations", day, "TotalCancelled")] = 1
        counters[("cancellations", day, "__proto__")] = 1
    for modifier, n in MODIFIERS.items():
        counters[("modifiers", D1, modifier)] = n
    write_counters(db, counters)
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        page = open_page(browser)
        page.goto(url)
        page.wait_for_selector(f"body[data-loaded='{D1}..{D2}']", timeout=LOAD_TIMEOUT_MS)
        yield page
        page.close()


def test_every_name_has_its_own_column_with_its_numbers(page: Page) -> None:
    rows = named_table(page, "#sales-table")
    assert rows[0][:2] == ["day", "TotalSales"]
    assert sorted(rows[0][2:]) == sorted(SALES)
    by_day = columns(rows)
    assert sorted(by_day) == [D1, D2]
    for day in (D1, D2):
        assert by_day[day]["TotalSales"] == str(total(day))
        for drink, days in SALES.items():
            assert by_day[day][drink] == str(days.get(day, 0)), (day, drink)
    # columns by sales over the range, largest first
    sums = [sum(SALES[d].values()) for d in rows[0][2:]]
    assert sums == sorted(sums, reverse=True)


def test_names_show_as_their_text_and_white_space_is_visible(page: Page) -> None:
    header = table(page, "#sales-table")[0]
    assert sorted(header[2:]) == sorted(SHOWN.get(d, d) for d in SALES)
    # What is rendered (innerText follows CSS white-space rules): every name looks different.
    rendered = page.eval_on_selector_all(
        "#sales-table thead [data-name]", "els => els.map(e => [e.dataset.name, e.innerText])"
    )
    looks = dict(rendered)
    assert looks["Latte "] == "Latte␣" and looks[" Latte"] == "␣Latte"
    assert len(looks) == len(SALES) + 1  # and TotalSales
    assert len(set(looks.values())) == len(looks), looks
    # the exact text, quoted, on hover
    titles = dict(
        page.eval_on_selector_all(
            "#sales-table thead [data-name]", "els => els.map(e => [e.dataset.name, e.title])"
        )
    )
    assert titles["Latte "] == json.dumps("Latte ")
    assert titles[" Latte"] == json.dumps(" Latte")
    note = page.locator("#marks-note")
    assert note.is_visible()
    assert "␣" in note.inner_text()


def test_the_top_drink_is_proto(page: Page) -> None:
    assert page.text_content("#kpi-top") == "__proto__ (40)"
    assert page.text_content("#kpi-sold") == str(total(D1) + total(D2))
    assert page.text_content("#kpi-cancelled") == "2"
    assert page.text_content("#kpi-completed") == str(total(D1) + total(D2) - 2)


def test_modifiers_with_hostile_names(page: Page) -> None:
    rows = named_table(page, "#modifiers-table")
    assert rows[0] == ["modifier", "orders"]
    assert {r[0]: r[1] for r in rows[1:]} == {m: str(n) for m, n in MODIFIERS.items()}
    assert len(rows) == 1 + len(MODIFIERS)
    shown = [r[0] for r in table(page, "#modifiers-table")[1:]]
    assert "Oat␣" in shown and "__proto__" in shown


def test_charts_get_the_names_as_text(page: Page) -> None:
    # Chart.js gets each name as its shown text; one that is a property of Object.prototype
    # gets a zero-width space after it (Chart.js keys a cache of label widths by the label).
    zwsp = "\u200b"
    sales = chart(page, "sales-chart")
    assert sales["labels"] == [D1, D2]
    by_label = {d["label"]: d["data"] for d in sales["datasets"]}
    assert by_label["__proto__" + zwsp] == [25, 15]
    assert by_label["hasOwnProperty" + zwsp] == [4, 3]
    assert all(isinstance(d["label"], str) for d in sales["datasets"])
    # eight drinks drawn apart, the other four summed
    assert len(sales["datasets"]) == 9
    others = sales["datasets"][-1]
    assert others["label"] == "‹4 other drinks›"
    drawn = {d["label"].removesuffix(zwsp) for d in sales["datasets"][:-1]}
    rest = [d for d in SALES if SHOWN.get(d, d) not in drawn]
    assert len(rest) == 4
    assert others["data"] == [sum(SALES[d].get(day, 0) for d in rest) for day in (D1, D2)]
    modifiers = chart(page, "modifiers-chart")
    labels = [label.removesuffix(zwsp) for label in modifiers["labels"]]
    assert dict(zip(labels, modifiers["datasets"][0]["data"], strict=True)) == {
        SHOWN.get(m, m): n for m, n in MODIFIERS.items()
    }


def test_chart_axes_make_room_for_every_name(page: Page) -> None:
    # The modifiers chart's axis is as wide as its widest label, "hasOwnProperty" included.
    room, widest = page.evaluate(
        """() => {
            const y = Chart.getChart("modifiers-chart").scales.y;
            const ctx = document.createElement("canvas").getContext("2d");
            ctx.font = Chart.helpers.toFont(y.options.ticks.font).string;
            return [y.width, Math.max(...y.ticks.map((t) => ctx.measureText(t.label).width))];
        }"""
    )
    assert widest > 50
    assert room >= widest


def test_nothing_is_injected_or_run(page: Page) -> None:
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    assert page.locator("img").count() == 0
    assert page.locator("[onerror]").count() == 0
    assert page.locator("a[href*='evil']").count() == 0
    assert page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))") == [
        "/docs",
        "/api/metrics",
    ]
    assert page.evaluate("() => Object.keys(Object.prototype).length") == 0, (
        "the page polluted Object.prototype"
    )


# Names that look alike in a browser unless marked, and what labelText makes of some of them.
LOOK_ALIKES = [
    "Latte",
    "Latte ",
    " Latte",
    "Latte  ",
    " Latte ",
    "Latte\t",
    "Latte\n",
    "Latte\r\n",
    "Latte\u00a0",
    "Latte\u3000",
    "Latte\u200b",
    "La\u200btte",
    "Latte\u200d",
    "Latte\ufeff",
    "\u202eettaL",
    "Latte\u2800",
    "Latte\u0000",
    "Latte␣",
    "Latte‹U+0020›",
    "‹empty›",
    "",
    " ",
    "Caffe Latte",
    "Caffe  Latte",
    "Caffe\u00a0Latte",
    "Caffe\tLatte",
    "Café",
    "Cafe\u0301",
    "a\u200db",
    "ab",
    "\U0001f469\u200d\U0001f373",
    "\U0001f469\U0001f373",
    "\ud800",
]
EXPECTED_TEXT = {
    "Latte": "Latte",
    "Latte ": "Latte␣",
    " Latte ": "␣Latte␣",
    "Latte\t": "Latte‹U+0009›",
    "Latte\r\n": "Latte‹U+000D›‹U+000A›",
    "Latte\u00a0": "Latte‹U+00A0›",
    "La\u200btte": "La‹U+200B›tte",
    "\u202eettaL": "‹U+202E›ettaL",
    "Latte␣": "Latte‹U+2423›",
    "Latte‹U+0020›": "Latte‹U+2039›U+0020›",
    "": "‹empty›",
    " ": "␣",
    "Caffe Latte": "Caffe Latte",
    "Caffe  Latte": "Caffe␣␣Latte",
    "Café": "Café",
    "Cafe\u0301": "Cafe‹U+0301›",
    "a\u200db": "a‹U+200D›b",
    "\U0001f469\u200d\U0001f373": "\U0001f469\u200d\U0001f373",  # an emoji sequence stays
    "__proto__": "__proto__",
    IMG: IMG,
}


def test_label_text_never_shows_two_names_alike(page: Page) -> None:
    names = LOOK_ALIKES + list(EXPECTED_TEXT)
    shown = page.evaluate(
        "async names => names.map((await import('/static/js/labels.js')).labelText)", names
    )
    by_name = dict(zip(names, shown, strict=True))
    assert {n: by_name[n] for n in EXPECTED_TEXT} == EXPECTED_TEXT
    assert len(set(shown)) == len(set(names)), "two different names look the same"
    quoted = page.evaluate(
        "async names => names.map((await import('/static/js/labels.js')).quoted)",
        ["Latte ", "La\u200btte", 'a"b'],
    )
    assert quoted == ['"Latte "', '"La\\u200Btte"', '"a\\"b"']


def test_day_arithmetic(page: Page) -> None:
    got = page.evaluate(
        """async () => {
          const days = await import("/static/js/days.js");
          const { addDays, parseDay, clampRange, defaultRange } = days;
          return [
            addDays("1900-03-01", -1), addDays("2024-02-28", 1), addDays("0001-01-05", -10),
            addDays("9999-12-30", 5), parseDay("2023-02-29"), parseDay("0050-06-01") !== null,
            clampRange("1900-01-01", "2026-01-10", 3660),
            clampRange("2020-01-01", "2026-01-10", 3660),
            defaultRange({ from: "2026-01-05", to: "2026-01-10" }, 30),
            defaultRange({ from: "1900-01-01", to: "2026-01-10" }, 30),
          ];
        }"""
    )
    assert got == [
        "1900-02-28",
        "2024-02-29",
        "0001-01-01",
        "9999-12-31",
        None,
        True,
        {"from": "2016-01-04", "to": "2026-01-10", "clamped": True},
        {"from": "2020-01-01", "to": "2026-01-10", "clamped": False},
        {"from": "2026-01-05", "to": "2026-01-10"},
        {"from": "2025-12-12", "to": "2026-01-10"},
    ]
