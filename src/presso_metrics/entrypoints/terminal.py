"""What the command line prints: reports, dead letters, metric lists, progress bars.

Results go to standard output (``out``), messages and progress to standard error (``err``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable

from presso_metrics.dead_letters import DeadLetter
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.ports import PublishResult
from presso_metrics.views import Row, pivot, rows_csv

err = Console(stderr=True)
out = Console(soft_wrap=True)


def print_json(value: Any, *, indent: int | None = 2) -> None:
    out.print_json(json.dumps(value), indent=indent)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def print_publish_result(result: PublishResult, count: int) -> None:
    err.print(f"published {result.published} of {count} events")
    for index, why in result.failed[:20]:
        err.print(f"  event {index}: not published: {why}", style="red")
    if len(result.failed) > 20:
        err.print(f"  ... and {len(result.failed) - 20} more", style="red")


def print_report(metrics: MetricSet, rows: list[Row], fmt: str, names: Iterable[str]) -> None:
    if fmt == "json":
        print_json([r.as_dict() for r in rows], indent=None)
        return
    if fmt == "csv":
        out.file.write(rows_csv(rows))
        return
    if not rows:
        out.print("no data for this range")
        return
    for name in names:
        metric = metrics.get(name)
        table = pivot(metric, [r for r in rows if r.metric == name])
        if not table.rows:
            continue
        title = f"{metric.name}: {metric.description}" if metric.description else metric.name
        rich = RichTable(title=title, title_justify="left", show_lines=False)
        rich.add_column(metric.granularity, no_wrap=True)
        for column in table.columns:
            rich.add_column(
                column, justify="right", style="bold" if column == metric.total else None
            )
        for bucket, values in table.rows:
            rich.add_row(bucket, *(str(v) for v in values))
        print_wide(rich, [metric.granularity, *table.columns], [r[0] for r in table.rows])
        out.print()


def print_wide(table: RichTable, headers: list[str], first_column: list[str]) -> None:
    """Print without truncating headers: wider than the terminal if it must (lines wrap)."""
    widths = [len(h) for h in headers]
    widths[0] = max([widths[0], *(len(v) for v in first_column)])
    needed = sum(w + 3 for w in widths) + 1
    Console(file=out.file, width=max(needed, out.width), soft_wrap=True).print(table)


def print_dead_letters(letters: Sequence[DeadLetter], fmt: str) -> None:
    if fmt == "json":
        print_json([d.as_dict() for d in letters], indent=None)
        return
    if not letters:
        out.print("the dead-letter queue is empty")
        return
    table = RichTable(title=f"{len(letters)} dead letters", title_justify="left")
    for column in ("message id", "reason", "field", "metric", "why", "body"):
        table.add_column(column, overflow="fold")
    for d in letters:
        body = d.body if len(d.body) <= 60 else d.body[:57] + "..."
        table.add_row(d.message_id, d.reason, d.field or "", d.metric or "", d.message, body)
    Console(file=out.file, width=max(out.width, 200), soft_wrap=True).print(table)


def print_metrics(metric_set: MetricSet, fmt: str) -> None:
    described = [m.describe() for m in metric_set]
    if fmt == "json":
        print_json({"time_zone": str(metric_set.time_zone), "metrics": described})
        return
    table = RichTable(
        title=f"{metric_set.origin} (days in {metric_set.time_zone})", title_justify="left"
    )
    for column in ("name", "granularity", "dimension", "total", "partition", "events"):
        table.add_column(column, overflow="fold")
    for d in described:
        table.add_row(
            d["name"],
            d["granularity"],
            " | ".join(d["dimension"] or []) or "-",
            d["total"] or "-",
            d["partition"],
            json.dumps(d["events"]),
        )
    out.print(table)
