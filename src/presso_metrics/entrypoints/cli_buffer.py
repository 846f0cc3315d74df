"""The commands that show the buffer at work: ``status`` (once, or live with ``--watch``) and
``loadtest`` (the workshop's burst, measured). Each parses its options and calls the library."""

from __future__ import annotations

import sys
from typing import Any

import click

from presso_metrics.entrypoints import terminal
from presso_metrics.entrypoints.cli_common import (
    handle_errors,
    main,
    open_stack,
    settings_from,
    stack_options,
)
from presso_metrics.entrypoints.cli_pipeline import check_consumers


@main.command()
@click.option(
    "--watch",
    is_flag=True,
    help="Refresh in place until Ctrl-C: depth, in flight, dead letters, the counting rate and "
    "a sparkline of the depth (JSON lines when the output is not a terminal).",
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between refreshes (--watch).",
)
@stack_options
@handle_errors
def status(watch: bool, interval: float, **options: Any) -> None:
    """Queue depths: what is waiting, in flight, and dead-lettered."""
    from presso_metrics.watch import follow, snapshot, status_json

    settings = settings_from(options)
    names = settings.names
    stack = open_stack(settings, readonly=True)
    try:
        if watch:
            where = "AWS" if settings.aws else f"embedded {settings.db}"
            histories = follow(stack, interval)
            terminal.watch_status(histories, names.queue, names.dead_letter_queue, where)
            return
        now = snapshot(stack)
    finally:
        stack.close()
    terminal.print_json(status_json(now, names.queue, names.dead_letter_queue))


@main.command()
@click.option(
    "--orders",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Orders in the burst.",
)
@click.option(
    "--batch-size", type=click.IntRange(1, 10_000), help="Messages per batch (default 10)."
)
@click.option(
    "--batching-window",
    type=click.FloatRange(0, 300),
    help="Seconds to wait to fill a batch (default 0).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), help="Consumer processes (default 2).")
@click.option(
    "--write-limit",
    type=click.FloatRange(0, min_open=True),
    help="At most N store write transactions a second across the consumers: a table with "
    "provisioned capacity, or a slower disk.",
)
@click.option(
    "--consumers",
    type=click.Choice(["local", "lambda"]),
    help="Who consumes: this machine's worker (local: the default embedded) or the deployed "
    "Lambda function (lambda: the default with --aws).",
)
@click.option(
    "--out",
    "out_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for loadtest.json and the chart, loadtest.html.",
)
@click.option(
    "--interval",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0.01, 10),
    help="Seconds between samples.",
)
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Stop if the queue is not drained after this many seconds.",
)
@click.option("--seed", type=int, help="Same seed, same orders.")
@stack_options
@handle_errors
def loadtest(
    orders: int,
    batch_size: int | None,
    batching_window: float | None,
    concurrency: int | None,
    write_limit: float | None,
    consumers: str | None,
    out_dir: str,
    interval: float,
    timeout: float,
    seed: int | None,
    **options: Any,
) -> None:
    """The workshop's load test, measured: publish a burst of --orders orders, consume it the
    way Lambda's event source mapping does, sample the queue and the table ten times a second
    until the queue is drained; write loadtest.json and a chart, print the summary."""
    from presso_metrics.entrypoints.worker import WorkerOptions, run
    from presso_metrics.loadtest import (
        LoadTestOptions,
        prepare_output,
        run_load_test,
        write_results,
    )

    settings = settings_from(options)
    consumers = consumers or ("lambda" if settings.aws else "local")
    worker = None
    if consumers == "lambda":
        if not settings.aws:
            raise click.UsageError("--consumers lambda needs --aws")
        given = {
            "--batch-size": batch_size,
            "--batching-window": batching_window,
            "--concurrency": concurrency,
            "--write-limit": write_limit,
        }
        refused = [name for name, value in given.items() if value is not None]
        if refused:
            raise click.UsageError(
                f"{', '.join(refused)}: the deployed function consumes with its event source "
                "mapping's BatchSize, MaximumBatchingWindowInSeconds and MaximumConcurrency "
                "(template parameters); drop the option(s) or add --consumers local"
            )
    else:
        worker = WorkerOptions(
            batch_size=batch_size or 10,
            batching_window=batching_window or 0.0,
            concurrency=concurrency or 2,
            poll_seconds=0.2,
        )
    test = LoadTestOptions(
        orders=orders,
        worker=worker,
        write_limit=write_limit,
        interval=interval,
        timeout=timeout,
        seed=seed,
    )
    prepare_output(out_dir)
    if worker is not None:
        # What the worker refuses (a window that leaves no time to process a batch), refused
        # before anything is published: a burst no consumer takes would stay in the queue.
        check_consumers(settings, worker)
    with terminal.loadtest_progress() as on_sample:
        result = run_load_test(settings, test, run_consumers=run, on_sample=on_sample)
    files = write_results(result, out_dir)
    terminal.print_loadtest_summary(result.summary, files)
    if not result.ok:
        sys.exit(1)
