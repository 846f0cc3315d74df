"""The commands that feed the pipeline and run it: ``init``, ``publish``, ``load``, ``worker``,
``demo``. Each parses its options and calls the library."""

from __future__ import annotations

import functools
import io
import logging
import sys
import threading
from datetime import date
from typing import Any

import click

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counting import REPLAY_MODES, ReplayPolicy
from presso_metrics.entrypoints import terminal
from presso_metrics.entrypoints.cli_common import (
    handle_errors,
    horizon_option,
    main,
    open_stack,
    parse_day,
    settings_from,
    shops_option,
    stack_options,
)
from presso_metrics.entrypoints.terminal import progress_bar
from presso_metrics.exceptions import InputError
from presso_metrics.publisher import publish_all, read_events
from presso_metrics.simulation import burst, simulate_days

MAX_VISIBILITY_TIMEOUT = 43_200  # SQS's longest, 12 hours


@main.command()
@stack_options
@handle_errors
def init(**options: Any) -> None:
    """Create the bus, rule, queue (with its dead-letter queue) and table.

    Embedded: in the --db file. With --aws: on AWS (or the endpoint in AWS_ENDPOINT_URL), under
    the workshop's names. Prints what exists as JSON; running it again changes nothing.
    """
    settings = settings_from(options)
    terminal.print_json(bootstrap.provision_stack(settings))


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--chunk", default=500, show_default=True, help="Events per publish call.")
@stack_options
@handle_errors
def publish(file: io.TextIOWrapper, chunk: int, **options: Any) -> None:
    """Put EventBridge events from FILE (a JSON array or JSON Lines; - for stdin) on the bus.

    Events keep their ids, so publishing a file twice counts nothing twice.
    """
    settings = settings_from(options)
    name = getattr(file, "name", "<stdin>")
    try:
        text = file.read()
    except UnicodeDecodeError as e:
        raise InputError(
            f"{name}: not UTF-8 text (a byte 0x{e.object[e.start]:02x}: {e.reason}); save the "
            "events as UTF-8"
        ) from None
    events = read_events(text, name)
    stack = open_stack(settings)
    try:
        with progress_bar(f"publishing to {stack.bus.name}", len(events)) as advance:
            result = publish_all(stack.bus, events, chunk, advance)
    finally:
        stack.close()
    terminal.print_publish_result(result, len(events))
    if result.failed:
        sys.exit(1)


@main.command()
@click.option("--orders", default=600, show_default=True, help="Orders to simulate in all.")
@click.option("--days", default=1, show_default=True, help="Days the orders are spread over.")
@click.option(
    "--start",
    callback=parse_day,
    help="First simulated day (YYYY-MM-DD); default: the days just before today.",
)
@click.option(
    "--duplicates",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 0.99),
    help="Share of deliveries that are repeats of an earlier one (same event id).",
)
@click.option(
    "--burst", "burst_mode", is_flag=True, help="The workshop's load test: --orders at once."
)
@click.option("--seed", type=int, help="Seed: the same seed publishes the same events.")
@shops_option
@stack_options
@handle_errors
def load(
    orders: int,
    days: int,
    start: date | None,
    duplicates: float,
    burst_mode: bool,
    seed: int | None,
    shops: int,
    **options: Any,
) -> None:
    """Publish simulated Serverlesspresso orders: a realistic day (drinks with modifiers, a
    morning peak, some cancellations, some duplicate deliveries), or --burst."""
    settings = settings_from(options)
    stack = open_stack(settings)
    try:
        if burst_mode:
            events = burst(orders=orders, seed=seed)
        else:
            events = simulate_days(
                orders=orders,
                days=days,
                start=start,
                duplicates=duplicates,
                seed=seed,
                zone=stack.metrics.time_zone,
                shops=shops,
            ).events
        with progress_bar(f"publishing to {stack.bus.name}", len(events)) as advance:
            result = publish_all(stack.bus, events, 500, advance)
    finally:
        stack.close()
    terminal.print_publish_result(result, len(events))


def check_visibility_timeout(
    ctx: click.Context, param: click.Parameter, value: int | None
) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(
            f"{value} s leaves no time to process a batch: its messages would be visible to "
            "another consumer at once; give at least 1"
        )
    if value is not None and value > MAX_VISIBILITY_TIMEOUT:
        raise click.BadParameter(
            f"{value} s is longer than SQS allows; give at most {MAX_VISIBILITY_TIMEOUT} (12 hours)"
        )
    return value


@main.command()
@click.option("--drain", is_flag=True, help="Exit when nothing is visible or in flight.")
@click.option("--batch-size", default=10, show_default=True, help="Messages per batch (1-10000).")
@click.option(
    "--batching-window",
    default=0.0,
    show_default=True,
    help="Seconds to wait to fill a batch (Lambda's MaximumBatchingWindowInSeconds).",
)
@click.option("--concurrency", default=1, show_default=True, help="Consumer processes.")
@click.option(
    "--visibility-timeout",
    type=int,
    callback=check_visibility_timeout,
    help="Seconds a received message stays hidden (1-43200); default: the queue's.",
)
@click.option(
    "--replays",
    type=click.Choice(REPLAY_MODES),
    default="skip",
    show_default=True,
    help="Events replayed from an archive: skip them, count them (rebuild into an empty "
    "table), or count them for --backfill-metric only.",
)
@click.option("--backfill-metric", multiple=True, help="A metric to backfill (repeatable).")
@horizon_option
@stack_options
@handle_errors
def worker(
    drain: bool,
    batch_size: int,
    batching_window: float,
    concurrency: int,
    visibility_timeout: int | None,
    replays: str,
    backfill_metric: tuple[str, ...],
    **options: Any,
) -> None:
    """Consume the queue: batches go through the same processing as the Lambda function."""
    from presso_metrics.entrypoints.worker import WorkerOptions

    replay = ReplayPolicy(replays, frozenset(backfill_metric))
    settings = settings_from(options, replay=replay)
    worker_options = WorkerOptions(
        batch_size=batch_size,
        batching_window=batching_window,
        concurrency=concurrency,
        visibility_timeout=visibility_timeout,
        drain=drain,
    )
    stats = run_worker(settings, worker_options)
    terminal.print_json(stats.as_dict())


def check_consumers(settings: Settings, options: Any) -> None:
    """Refuse the consumers' options the worker would refuse against the queue's visibility
    timeout (a batching window that leaves no time), before anything is received or sent."""
    from presso_metrics.entrypoints.worker import batch_budget

    stack = open_stack(settings)
    try:
        batch_budget(stack.queue, options)
    finally:
        stack.close()


def run_worker(settings: Settings, options: Any) -> Any:
    from presso_metrics.entrypoints.worker import run, stop_on_signals

    if not settings.aws:
        bootstrap.provision_stack(settings)
    check_consumers(settings, options)  # before anything runs or is shown
    depth = bootstrap.start_consuming(settings)
    stop = threading.Event()
    stop_on_signals(stop)
    build = functools.partial(bootstrap.build, settings)
    if options.drain:
        with progress_bar(f"draining {settings.names.queue}", depth) as advance:
            return run(
                build,
                options,
                stop=stop,
                on_batch=lambda s: advance(s["received"] - s["failed"]),
            )
    return run(build, options, stop=stop)


@main.command()
@click.option("--orders", default=600, show_default=True, help="Orders in the simulated day(s).")
@click.option("--days", default=1, show_default=True, help="Days to simulate.")
@click.option("--seed", default=2022, show_default=True, help="Same seed, same events.")
@shops_option
@click.option("--serve", "serve_after", is_flag=True, help="Then serve the dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="With --serve."
)
@horizon_option
@stack_options
@handle_errors
def demo(
    orders: int,
    days: int,
    seed: int,
    shops: int,
    serve_after: bool,
    host: str,
    port: int,
    **options: Any,
) -> None:
    """The whole pipeline on the embedded default: create the stack, simulate Serverlesspresso
    orders (with duplicate deliveries and a broken event), drain the queue through the worker,
    and print the investor report."""
    from presso_metrics.entrypoints.demo import run_demo

    settings = settings_from(options)
    if settings.aws:
        raise click.ClickException("demo runs on the embedded default; drop --aws")
    # The demo reports its dead letter itself; keep the per-record warning out of the way.
    logging.getLogger("presso_metrics.service").setLevel(logging.ERROR)
    run_demo(settings, orders=orders, days=days, seed=seed, shops=shops)
    if serve_after:
        from presso_metrics.entrypoints.web import serve as serve_web

        serve_web(settings, host, port)
