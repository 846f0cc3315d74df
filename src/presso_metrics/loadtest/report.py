"""What a load test reports: the summary in words, ``loadtest.json`` and the chart."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from presso_metrics.chart import (
    BLUE,
    GREEN,
    ORANGE,
    PURPLE,
    VERMILLION,
    Page,
    Panel,
    Series,
    html_page,
)
from presso_metrics.exceptions import InputError
from presso_metrics.loadtest.samples import LoadTestResult, trailing_rates


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 1 else f"{value:,.1f} s"


def describe_run(s: dict[str, Any]) -> str:
    """Where it ran and how it consumed, in one line."""
    if s["backend"] == "aws":
        where = f"AWS, queue {s['where']}"
    else:
        where = f"embedded database {s['where']}"
    if s["consumers"] == "lambda":
        how = "consumed by the deployed Lambda function (its event source mapping's settings)"
    else:
        processes = "process" if s["concurrency"] == 1 else "processes"
        how = f"{s['concurrency']} local consumer {processes}, batches of {s['batch_size']}"
        if s["batching_window"]:
            how += f", batching window {_n(s['batching_window'])} s"
        how += (
            f", write limit {_n(s['write_limit'])} transactions/s"
            if s["write_limit"]
            else ", no write limit"
        )
    return f"{where}; {how}; sampled every {_n(s['sample_interval'])} s"


def summary_lines(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The summary as (label, value) lines, for the terminal and the chart."""
    per = "" if s["rate_window"] == 1 else f" (over {_n(s['rate_window'])} s)"
    lines = [
        ("peak arrival rate", f"{_n(s['peak_arrival_rate'])} events/s{per}"),
        ("peak count rate", f"{_n(s['peak_count_rate'])} events/s{per}"),
        (
            "peak write rate",
            f"{_n(s['peak_write_rate'])} transactions/s{per}"
            if s["peak_write_rate"] is not None
            else "not visible (the deployed function writes)",
        ),
        ("peak depth", f"{_n(s['peak_depth'])} messages at {_seconds(s['peak_depth_at'])}"),
        (
            "time to drain",
            _seconds(s["time_to_drain"])
            if s["drained"]
            else f"not drained after {_seconds(s['duration'])}",
        ),
    ]
    if s["counted_exactly_once"]:
        counted = f"{s['counted']:,} of {s['orders']:,} orders, each exactly once"
    else:
        counted = f"{s['counted']:,} of {s['orders']:,} orders: NOT each exactly once"
    lines.append(("counted", counted))
    published = f"{s['published']:,} in {_seconds(s['publish_seconds'] or 0)}"
    if s["not_published"]:
        published += f" ({s['not_published']:,} not published)"
    lines.append(("published", published))
    if s["transactions"] is not None:
        lines.append(("write transactions", f"{s['transactions']:,}"))
    lines.append(("dead-lettered", f"{s['dead_lettered']:,}"))
    return lines


RESULT_FILES = ("loadtest.json", "loadtest.html")


def prepare_output(directory: str | Path) -> Path:
    """Create ``directory`` if missing and make sure the results can be written there, before
    a run rather than after it."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".loadtest-"):
            pass  # writable: nothing is left behind
    except OSError as e:
        raise InputError(
            f"{folder}: cannot write the load test's results there ({e.strerror}); "
            "pick another --out directory"
        ) from None
    return folder


def write_results(result: LoadTestResult, directory: str | Path) -> tuple[Path, Path]:
    """Write ``loadtest.json`` and ``loadtest.html`` into ``directory`` (created if missing)."""
    folder = prepare_output(directory)
    data, chart = (folder / name for name in RESULT_FILES)
    data.write_text(json.dumps(result.as_dict(), indent=1) + "\n", encoding="utf-8")
    chart.write_text(chart_page(result), encoding="utf-8")
    return data, chart


def chart_page(result: LoadTestResult) -> str:
    """The load test's chart: arrivals against what the table took, the write transactions,
    and the queue depth, over time."""
    s, samples = result.summary, result.samples
    xs = [x.t for x in samples]
    window = s["rate_window"]
    per = f"trailing {window:g} s" if window != 1 else "over the trailing second"
    panels = [
        Panel(
            f"Arrivals against table writes (events per second, {per})",
            "events / s",
            [
                Series(
                    "arrived (published)", trailing_rates(samples, "published", window), VERMILLION
                ),
                Series("counted into the table", trailing_rates(samples, "counted", window), BLUE),
            ],
            description="Events published per second and events counted per second.",
        ),
    ]
    if s["transactions"] is not None:
        panels.append(
            Panel(
                f"Table write transactions per second ({per})",
                "transactions / s",
                [
                    Series(
                        "write transactions", trailing_rates(samples, "transactions", window), GREEN
                    )
                ],
                reference=(f"write limit {s['write_limit']:g}/s", s["write_limit"])
                if s["write_limit"]
                else None,
            )
        )
    panels.append(
        Panel(
            "Queue depth (messages)",
            "messages",
            [
                Series("in flight", [x.in_flight for x in samples], PURPLE, area=True),
                Series("visible", [x.visible for x in samples], ORANGE, area=True),
            ],
            description="Messages waiting in the queue and messages being processed.",
        )
    )
    return html_page(
        Page(
            f"presso-metrics load test: {s['orders']} orders",
            describe_run(s),
            facts=[(label, value) for label, value in summary_lines(s)],
            panels=panels,
            notes=[
                "Each sample reads the queue's visible and in-flight messages, the events "
                "published and counted so far and the store's write transactions, every "
                f"{s['sample_interval']:g} s. Rates are the rise over the trailing "
                f"{window:g} s.",
            ],
        ),
        xs,
    )
