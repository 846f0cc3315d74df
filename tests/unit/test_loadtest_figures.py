"""The load test's and the live status's figures: rates, peaks, sparklines, the chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from presso_metrics.chart import Page, Panel, Series, html_page, nice_ticks, svg_panel
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.exceptions import ConfigError
from presso_metrics.loadtest import Sample, expected_counters, peaks, trailing_rates
from presso_metrics.loadtest.run import tally_key
from presso_metrics.simulation import burst
from presso_metrics.watch import History, Snapshot, sparkline


def sample(t: float, published: int = 0, counted: int = 0, **kw: int | None) -> Sample:
    fields: dict[str, int | None] = {"visible": 0, "in_flight": 0, "transactions": 0}
    fields.update(kw)
    return Sample(t, published, counted=counted, dead_lettered=0, **fields)  # type: ignore[arg-type]


def test_trailing_rates_count_the_rise_over_the_last_window() -> None:
    samples = [sample(t / 10, published=min(500, t * 250)) for t in range(0, 31)]
    rates = trailing_rates(samples, "published", 1.0)
    # 500 events within 0.2 s: 500 in the trailing second until the burst leaves the window.
    assert rates[0] == 0 and rates[1] == 250 and rates[2] == 500 and rates[10] == 500
    assert rates[11] == pytest.approx(250) and rates[12] == 0 and rates[30] == 0


def test_trailing_rates_use_the_real_time_between_samples() -> None:
    samples = [
        sample(0.0),
        sample(0.6, counted=30),
        sample(1.5, counted=90),
        sample(2.1, counted=90),
    ]
    rates = trailing_rates(samples, "counted", 1.0)
    assert rates == [0.0, 30.0, 90 / 1.5, (90 - 30) / 1.5]


def test_unknown_transactions_have_no_rate_and_no_peak() -> None:
    samples = [sample(0.0, transactions=None), sample(0.1, transactions=None, visible=4)]
    assert trailing_rates(samples, "transactions", 1.0) == [None, None]
    summary = peaks(samples)
    assert summary["peak_write_rate"] is None and summary["transactions"] is None
    assert summary["peak_depth"] == 4 and summary["peak_depth_at"] == 0.1


def test_peaks() -> None:
    samples = [
        sample(0.0),
        sample(0.1, published=300, visible=290, in_flight=10, transactions=1, counted=10),
        sample(0.2, published=500, visible=470, in_flight=20, transactions=3, counted=30),
        sample(1.2, published=500, visible=0, in_flight=0, transactions=50, counted=500),
    ]
    summary = peaks(samples)
    assert summary["peak_arrival_rate"] == 500
    assert summary["peak_depth"] == 490 and summary["peak_depth_at"] == 0.2
    assert summary["peak_count_rate"] == 470.0  # (500 - 30) over the 1.0 s since t = 0.2
    assert summary["peak_write_rate"] == 47.0
    assert summary["duration"] == 1.2 and summary["samples"] == 4


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([0, 1, 500, 250, 0]) == "▁▂█▅▁"  # any message at all shows
    assert sparkline(list(range(100)), width=10) == sparkline(list(range(90, 100)))


def test_the_counting_rate_is_never_negative() -> None:
    now = datetime.now(UTC)
    history = History(3)
    history.add(Snapshot(now, 10.0, 5, 1, 0, 100))
    assert history.rate is None
    history.add(Snapshot(now, 10.5, 0, 0, 0, 160))
    assert history.rate == 120.0
    history.add(Snapshot(now, 11.0, 0, 0, 0, 20))  # markers expired, or midnight on AWS
    assert history.rate == 0
    history.add(Snapshot(now, 12.0, 0, 0, 0, 20))
    assert history.depths == [0, 0, 0] and history.seconds == 1.5


def test_nice_ticks() -> None:
    assert nice_ticks(500) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(21.9) == [0, 5, 10, 15, 20, 25]
    assert nice_ticks(2.6, 8) == [0, 0.5, 1, 1.5, 2, 2.5, 3]
    assert nice_ticks(0) == [0, 1]


def test_the_chart_escapes_its_text_and_needs_nothing_from_outside() -> None:
    panel = Panel(
        "<b>depth</b>",
        "msgs & more",
        [
            Series("a<script>", [0, 5, None, 7], "#000", area=True),
            Series("b", [1, 2, 3, 4], "#111"),
        ],
        reference=("limit </svg>", 6),
    )
    svg = svg_panel(panel, [0, 1, 2, 3])
    assert "<b>" not in svg and "&lt;b&gt;depth&lt;/b&gt;" in svg
    assert "<script>" not in svg and "limit &lt;/svg&gt;" in svg
    assert svg.count("<polyline") == 3  # the area series is broken where a value is missing
    page = html_page(Page("t<", "s&", [("x", "<y>")], [panel]), [0, 1, 2, 3])
    assert "<script" not in page and "&lt;y&gt;" in page
    assert "default-src 'none'" in page


def test_the_burst_is_counted_by_the_default_metrics(metrics) -> None:  # type: ignore[no-untyped-def]
    events = burst(orders=50, seed=3)
    expected = expected_counters(events, metrics)
    key = tally_key(expected, metrics, 50)
    assert key.dimension == "TotalSales" and expected[key] == 50
    drinks = {k.dimension: n for k, n in expected.items() if k.partition == key.partition}
    assert sum(n for d, n in drinks.items() if d != "TotalSales") == 50


def test_the_load_test_needs_a_total_the_burst_increments() -> None:
    no_total = load_metrics(
        '[metrics.drinks]\nevents = \'{"detail-type": ["OrderManager.WaitingCompletion"]}\'\n'
        'dimension = "detail.drinkOrder.drink"\n',
        "no-total.toml",
    )
    expected = expected_counters(burst(orders=5, seed=1), no_total)
    with pytest.raises(ConfigError, match=re.escape("no metric of no-total.toml has a total")):
        tally_key(expected, no_total, 5)
    other = load_metrics(
        '[metrics.done]\nevents = \'{"detail-type": ["X"]}\'\ntotal = "Done"\n', "other.toml"
    )
    with pytest.raises(ConfigError, match=re.escape("(other.toml) do not count the burst")):
        expected_counters(burst(orders=1, seed=1), other)
