"""The read side: report rows and tables for the CLI, the API and the dashboard."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from presso_metrics.domain.buckets import bucket_range, day_of_bucket
from presso_metrics.domain.metrics import Metric, MetricSet
from presso_metrics.ports import MetricsStore


@dataclass(frozen=True)
class Row:
    """One counter value: ``{"metric", "bucket", "dimension", "value"}`` in JSON."""

    metric: str
    bucket: str
    dimension: str
    value: int

    def as_dict(self) -> dict[str, str | int]:
        return {
            "metric": self.metric,
            "bucket": self.bucket,
            "dimension": self.dimension,
            "value": self.value,
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
    """The metric's counters from day ``first`` to ``last`` (inclusive; default: all data),
    by bucket, the total first, then by value, largest first."""
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
    rows = [Row(metric.name, c.key.bucket, c.key.dimension, c.value) for c in counters]
    rows.sort(key=lambda r: (r.bucket, r.dimension != metric.total, -r.value, r.dimension))
    return rows


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
    rows: list[tuple[str, list[int]]]


def pivot(metric: Metric, rows: Sequence[Row]) -> Table:
    """Buckets as rows; the total first, then values by their sum over the range."""
    sums: dict[str, int] = {}
    cells: dict[str, dict[str, int]] = {}
    for r in rows:
        sums[r.dimension] = sums.get(r.dimension, 0) + r.value
        cells.setdefault(r.bucket, {})[r.dimension] = r.value
    columns = sorted(sums, key=lambda d: (d != metric.total, -sums[d], d))
    return Table(
        metric,
        columns,
        [(bucket, [cells[bucket].get(c, 0) for c in columns]) for bucket in sorted(cells)],
    )


def rows_csv(rows: Iterable[Row]) -> str:
    """Rows as CSV (``metric,bucket,dimension,value``), spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "bucket", "dimension", "value"])
    for r in rows:
        writer.writerow([r.metric, r.bucket, _csv_safe(r.dimension), r.value])
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
