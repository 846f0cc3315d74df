"""The read side: report rows and tables for the CLI, the API and the dashboard.

Every row is ``{"metric", "bucket", "dimension", "value", "dimensions"}``: ``dimension`` names
what the value counts (a drink, the total's name, ``NYC / Americano`` for two dimensions, or a
duration's figure: ``count``, ``sum_seconds``, ``p90_seconds``, ``seconds_60_90``), and
``dimensions`` maps each dimension's label to its value (``{"shop": "NYC", "drink": "Americano"}``,
``{}`` for a total or for a figure over all values).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from presso_metrics.domain.buckets import bucket_range, day_of_bucket
from presso_metrics.domain.counters import dimension_values
from presso_metrics.domain.histogram import COUNT, QUANTILES, SUM_MS, bucket_names, quantile
from presso_metrics.domain.lifecycle import NO_DIMENSION
from presso_metrics.domain.metrics import Metric, MetricSet
from presso_metrics.ports import Counter, MetricsStore

Value = int | float


@dataclass(frozen=True)
class Row:
    """One figure of a metric in one bucket."""

    metric: str
    bucket: str
    dimension: str
    value: Value
    dimensions: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "bucket": self.bucket,
            "dimension": self.dimension,
            "value": self.value,
            "dimensions": dict(self.dimensions),
        }


class RangeError(ValueError):
    """A reversed or otherwise unusable date range."""


def data_span(store: MetricsStore, metrics: Iterable[Metric]) -> tuple[date, date] | None:
    """The first and last day any of ``metrics`` has data for."""
    days: list[date] = []
    for metric in metrics:
        span = store.bucket_span(metric.partition)
        if span is not None:
            days.extend((day_of_bucket(span[0]), day_of_bucket(span[1])))
    if not days:
        return None
    return min(days), max(days)


def metric_rows(
    store: MetricsStore, metric: Metric, first: date | None = None, last: date | None = None
) -> list[Row]:
    """The metric's figures from day ``first`` to ``last`` (inclusive; default: all data), by
    bucket: the total first, then by value, largest first (a duration: its figures in order)."""
    if first is not None and last is not None and first > last:
        raise RangeError(f"the range is reversed: from {first} is after to {last}")
    if first is None or last is None:
        span = data_span(store, [metric])
        if span is None:
            return []
        first = first or span[0]
        last = last or span[1]
        if first > last:
            return []
    low, high = bucket_range(metric.granularity, first, last)
    counters = store.read(metric.partition, low, high)
    if metric.kind == "duration":
        return duration_rows(metric, counters)
    # A counter at 0 counts nothing (a cancellation first under "unknown" moved to its drink).
    rows = [_count_row(metric, c) for c in counters if c.value]
    rows.sort(key=lambda r: (r.bucket, r.dimension != metric.total, -r.value, r.dimension))
    return rows


def _count_row(metric: Metric, counter: Counter) -> Row:
    key = counter.key
    values = None if key.dimension == metric.total else _values(metric, key.dimension)
    if values is None:
        return Row(metric.name, key.bucket, key.dimension, counter.value)
    return Row(
        metric.name,
        key.bucket,
        " / ".join(values),
        counter.value,
        dict(zip(metric.labels, values, strict=True)),
    )


def _values(metric: Metric, text: str) -> tuple[str, ...] | None:
    if not metric.dimensions or (text == NO_DIMENSION and metric.kind == "duration"):
        return None
    return dimension_values(text, len(metric.dimensions))


def duration_rows(metric: Metric, counters: Sequence[Counter]) -> list[Row]:
    """A duration's figures per bucket and dimension values: ``count``, ``sum_seconds`` (exact),
    ``p50_seconds``, ``p90_seconds``, ``p99_seconds`` (estimated from the histogram) and one row
    per histogram bucket. Over several values (all shops), counts, sums and buckets add up; the
    percentiles are then estimated from the summed buckets (see ``domain/histogram.py``)."""
    items: dict[tuple[str, str], dict[str, int]] = {}
    for c in counters:
        item = items.setdefault((c.key.bucket, c.key.dimension), {})
        item[c.key.attribute] = item.get(c.key.attribute, 0) + c.value
    rows: list[Row] = []
    for (bucket, text), item in sorted(items.items()):
        values = _values(metric, text)
        dims = dict(zip(metric.labels, values, strict=True)) if values else {}
        rows.extend(_figures(metric, bucket, item, dims))
    return rows


def _figures(metric: Metric, bucket: str, item: dict[str, int], dims: dict[str, str]) -> list[Row]:
    def row(name: str, value: Value) -> Row:
        return Row(metric.name, bucket, name, value, dict(dims))

    total_ms = item.get(SUM_MS, 0)
    seconds: Value = total_ms // 1000 if total_ms % 1000 == 0 else total_ms / 1000
    out = [row("count", item.get(COUNT, 0)), row("sum_seconds", seconds)]
    for name, q in QUANTILES:
        estimate = quantile(q, item, metric.bounds)
        if estimate is not None:
            out.append(row(name, estimate))
    out.extend(row(name, item.get(name, 0)) for name in bucket_names(metric.bounds))
    return out


def report_rows(
    store: MetricsStore,
    metrics: MetricSet,
    names: Sequence[str] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Row]:
    selected = [metrics.get(n) for n in names] if names else list(metrics)
    rows: list[Row] = []
    for metric in selected:
        rows.extend(metric_rows(store, metric, first, last))
    return rows


@dataclass(frozen=True)
class Table:
    """A metric pivoted for people: a row per bucket, a column per dimension value."""

    metric: Metric
    columns: list[str]
    rows: list[tuple[str, list[Value]]]


DURATION_COLUMNS = ("count", "mean_seconds", "p50_seconds", "p90_seconds", "p99_seconds")


def pivot(metric: Metric, rows: Sequence[Row]) -> Table:
    """Buckets as rows; the total first, then values by their sum over the range. A duration:
    a row per bucket (and per dimension values), with its count, mean and percentiles."""
    if metric.kind == "duration":
        return _duration_table(metric, rows)
    sums: dict[str, Value] = {}
    cells: dict[str, dict[str, Value]] = {}
    for r in rows:
        sums[r.dimension] = sums.get(r.dimension, 0) + r.value
        cells.setdefault(r.bucket, {})[r.dimension] = r.value
    columns = sorted(sums, key=lambda d: (d != metric.total, -sums[d], d))
    return Table(
        metric,
        columns,
        [(bucket, [cells[bucket].get(c, 0) for c in columns]) for bucket in sorted(cells)],
    )


def _duration_table(metric: Metric, rows: Sequence[Row]) -> Table:
    groups: dict[tuple[str, str], dict[str, Value]] = {}
    for r in rows:
        scope = " / ".join(r.dimensions.values())
        groups.setdefault((r.bucket, scope), {})[r.dimension] = r.value
    out: list[tuple[str, list[Value]]] = []
    for (bucket, scope), figures in sorted(groups.items()):
        count = figures.get("count", 0)
        mean = round(figures.get("sum_seconds", 0) / count, 1) if count else 0
        label = f"{bucket} {scope}" if scope else bucket
        out.append((label, [count, mean, *(figures.get(name, 0) for name in DURATION_COLUMNS[2:])]))
    return Table(metric, list(DURATION_COLUMNS), out)


def rows_csv(rows: Iterable[Row]) -> str:
    """Rows as CSV (``metric,bucket,dimension,value,dimensions``), spreadsheet-safe;
    ``dimensions`` is the JSON object of the row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "bucket", "dimension", "value", "dimensions"])
    for r in rows:
        writer.writerow(
            [
                r.metric,
                r.bucket,
                _csv_safe(r.dimension),
                r.value,
                _csv_safe(json.dumps(r.dimensions, ensure_ascii=False)),
            ]
        )
    return buffer.getvalue()


# A cell a spreadsheet may read as a formula: one starting with a formula character (ASCII or
# full width), possibly after blanks and line breaks, which some spreadsheets skip; and one
# starting with a tab or a line break at all (OWASP's CSV injection advice).
_FORMULA = re.compile(r"[\s\x00-\x1f\x7f]*[=+\-@\uff1d\uff0b\uff0d\uff20]|[\t\r\n]")


def _csv_safe(text: str) -> str:
    """Labels come from outside: keep a spreadsheet from reading one as a formula. A carriage
    return is written as a line feed: the writer quotes a cell holding "\n" (its line end) but
    not one holding "\r", which a spreadsheet would take for the end of the row, reading what
    follows as a new row's first cell."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if _FORMULA.match(text) else text
