"""Percentiles over several shops or days are estimated from the summed histograms, in the page
exactly as the server's quantile() does (domain/histogram.py), rounding included."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from presso_metrics.domain.histogram import bucket_names, quantile
from tests.browser.shop_data import LAST, START, View, day, rows
from tests.browser.support import LOAD_TIMEOUT_MS, named_table, open_page

DEFAULT_BOUNDS = [15, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600]
QS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]


@pytest.fixture(scope="module")
def page(browser: Browser, shops_url: str) -> Iterator[Page]:
    page = open_page(browser)
    page.goto(shops_url)
    page.wait_for_selector("body[data-loaded]", timeout=LOAD_TIMEOUT_MS)
    yield page
    page.close()


def histograms(rng: random.Random, bounds: list[int], n: int) -> list[dict[str, int]]:
    names = bucket_names(bounds)
    out: list[dict[str, int]] = [{}, {names[-1]: 3}, {names[0]: 1}, {names[0]: -4, names[-1]: 2}]
    for _ in range(n):
        spread = rng.choice([1, 2, 3, len(names)])
        first = rng.randrange(len(names))
        out.append(
            {
                names[i % len(names)]: rng.choice([0, 1, 1, 2, 3, 4, 7, 10, 40, 1000])
                for i in range(first, first + spread)
            }
        )
    return out


JS_QUANTILES = """async ([cases, qs]) => {
    const { quantile } = await import("/static/js/histogram.js");
    return cases.map(([counts, bounds]) =>
        qs.map((q) => quantile(q, new Map(Object.entries(counts)), bounds)));
}"""


@pytest.mark.parametrize("bounds", [DEFAULT_BOUNDS, [1, 2, 3], [10], [7, 13, 29, 61, 127]])
def test_the_page_estimates_percentiles_as_the_server_does(page: Page, bounds: list[int]) -> None:
    cases = histograms(random.Random(f"percentiles {bounds}"), bounds, 400)
    got = page.evaluate(JS_QUANTILES, [[[c, bounds] for c in cases], QS])
    want = [[quantile(q, c, bounds) for q in QS] for c in cases]
    assert got == want
    assert any(w is None for w in want[0])  # the empty histogram has none


def test_tenths_are_rounded_as_python_rounds(page: Page) -> None:
    # Exact halves (x.25, x.75: 4x odd) go to the even tenth; toFixed alone rounds them up.
    rng = random.Random("tenths")
    xs = [j / 4 for j in range(0, 400)] + [j / 20 for j in range(400)]
    xs += [rng.uniform(0, 4000) for _ in range(2000)] + [0.35, 2.675, 1.005, 8.345, 1e-9]
    got = page.evaluate(
        """async (xs) => {
            const { roundTenth, formatTenth } = await import("/static/js/histogram.js");
            return xs.map((x) => [roundTenth(x), formatTenth(x)]);
        }""",
        xs,
    )
    assert got == [[round(x, 1), f"{x:.1f}"] for x in xs]


def test_summing_matters_for_this_data(shops_url: str, page: Page) -> None:
    # The hourly table's medians (of the histograms summed over days and shops) are not the
    # average of the per-day, per-shop medians: the panel tests could tell the two apart.
    found = rows(shops_url, "hourly_wait_time", day(START), day(LAST))
    medians: dict[str, list[float]] = {}
    for r in found:
        if r["dimension"] == "p50_seconds":
            medians.setdefault(f"{r['bucket'][11:13]}:00", []).append(r["value"])
    averaged = {h: f"{sum(v) / len(v):.1f}" for h, v in medians.items()}
    want = View(shops_url, day(START), day(LAST), None).wait_by_hour()
    shown = {r[0]: r[2] for r in named_table(page, "#wait-hourly-table")[1:]}
    assert shown == {h: cells[1] for h, cells in want.items()}
    differ = [h for h in shown if shown[h] != averaged[h]]
    assert len(differ) >= len(shown) // 2, (shown, averaged)
