"""The commands that read (they change nothing): ``report``, ``dlq``, ``metrics``, ``serve``; and
``dlq redrive``, which moves dead letters back. Each parses its options and calls the library."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from presso_metrics import bootstrap
from presso_metrics.dead_letters import list_dead_letters, redrive
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import terminal
from presso_metrics.entrypoints.cli_common import (
    handle_errors,
    horizon_option,
    main,
    open_stack,
    parse_day,
    settings_from,
    stack_options,
)
from presso_metrics.entrypoints.terminal import err, progress_bar
from presso_metrics.views import report_rows


@main.command()
@click.option("--metric", "metric_names", multiple=True, help="Only this metric (repeatable).")
@click.option("--from", "first", callback=parse_day, help="First day (YYYY-MM-DD).")
@click.option("--to", "last", callback=parse_day, help="Last day (YYYY-MM-DD).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@stack_options
@handle_errors
def report(
    metric_names: tuple[str, ...],
    first: date | None,
    last: date | None,
    fmt: str,
    **options: Any,
) -> None:
    """The investor report: each metric's counts by day (or hour), total and per dimension.

    JSON is an array of {"metric", "bucket", "dimension", "value"}; without --from/--to it
    covers all the data.
    """
    settings = settings_from(options)
    metric_set, store = bootstrap.build_reader(settings)
    check_metric_names(metric_set, metric_names)
    rows = report_rows(store, metric_set, metric_names or None, first, last)
    terminal.print_report(metric_set, rows, fmt, metric_names or metric_set.names())


def check_metric_names(metrics: MetricSet, names: tuple[str, ...]) -> None:
    for name in names:
        if name not in metrics.names():
            raise click.ClickException(
                f"unknown metric {name!r}; the metrics are {', '.join(metrics.names())}"
            )


@main.group()
def dlq() -> None:
    """The dead-letter queue: rejected records and exhausted retries."""


@dlq.command("list")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="List at most this many messages (1 or more).",
)
@stack_options
@handle_errors
def dlq_list(fmt: str, limit: int, **options: Any) -> None:
    """Each dead letter with the reason it is there."""
    settings = settings_from(options)
    stack = open_stack(settings, readonly=True)
    try:
        letters = list_dead_letters(stack.dead_letters, limit)
        held = stack.dead_letters.depth().total
    finally:
        stack.close()
    about = "about " if settings.aws else ""  # SQS's counts are approximate
    if not letters and held and fmt == "table":
        terminal.out.print(
            f"the dead-letter queue holds {about}{held} messages, none visible now (received "
            "by another command, such as a redrive in progress); list again in a moment"
        )
        return
    terminal.print_dead_letters(letters, fmt)
    if held > limit:
        err.print(
            f"listed the first {limit} of the {about}{held} messages in the dead-letter queue; "
            f"give --limit {held} to list them all"
        )


@dlq.command("redrive")
@click.option(
    "--force",
    is_flag=True,
    help="Also move messages too old to redrive safely: their events may then be counted twice.",
)
@horizon_option
@stack_options
@handle_errors
def dlq_redrive(force: bool, **options: Any) -> None:
    """Move the dead letters back to the queue, after a fix, to be processed again.

    Refuses (and leaves in the dead-letter queue) messages first enqueued longer ago than the
    dedup horizon less 15 days: their events' markers may be gone by the time they are
    processed, so they could be counted twice.
    """
    settings = settings_from(options)
    stack = open_stack(settings)
    try:
        waiting = stack.dead_letters.depth().total
        with progress_bar(f"redriving to {stack.queue.name}", waiting) as advance:
            report = redrive(
                stack.dead_letters,
                stack.queue,
                horizon=settings.dedup_horizon,
                force=force,
                progress=advance,
            )
    finally:
        stack.close()
    for line in report.lines(settings.names.queue, settings.dedup_horizon):
        err.print(line)
    if report.error:
        raise click.ClickException(f"redrive stopped: {report.error}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--rule-pattern", is_flag=True, help="Print the one EventBridge pattern routing them all."
)
@stack_options
@handle_errors
def metrics(fmt: str, rule_pattern: bool, **options: Any) -> None:
    """Check and list the metrics file's metrics."""
    settings = settings_from(options)
    metric_set = bootstrap.load_metric_set(settings)
    if rule_pattern:
        terminal.print_json(metric_set.rule_pattern())
        return
    terminal.print_metrics(metric_set, fmt)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: a free one, said when serving starts).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this Host name (repeatable; *.example.com for a domain's "
    "names, * for any). Default: only --host, localhost, 127.0.0.1 and ::1, against DNS "
    "rebinding.",
)
@stack_options
@handle_errors
def serve(host: str, port: int, allow_hosts: tuple[str, ...], **options: Any) -> None:
    """The dashboard and the JSON API (read-only) over HTTP; docs at /docs.

    It writes nothing. While the database cannot be read (missing, locked, needing a
    migration) it answers 503 with the reason, and serves again once it can.
    """
    from presso_metrics.entrypoints.web import serve as serve_web

    settings = settings_from(options)
    serve_web(settings, host, port, allow_hosts)
