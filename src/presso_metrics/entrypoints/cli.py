"""``presso-metrics``: the command line. It parses options and calls the library; anything it
does, a Python user can do with the same functions."""

from __future__ import annotations

import functools
import io
import logging
import sys
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import click

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Names, Settings, Stack
from presso_metrics.dead_letters import list_dead_letters, redrive
from presso_metrics.domain.buckets import strict_day
from presso_metrics.domain.counting import REPLAY_MODES, ReplayPolicy
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, MIN_DEDUP_HORIZON
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import failures, log_redaction, terminal
from presso_metrics.entrypoints.terminal import err, progress_bar
from presso_metrics.exceptions import PressoMetricsError
from presso_metrics.publisher import publish_all, read_events
from presso_metrics.shops import DEFAULT_SHOPS, SHOPS
from presso_metrics.simulation import burst, simulate_days
from presso_metrics.views import report_rows

F = TypeVar("F", bound=Callable[..., Any])


# --- shared options ------------------------------------------------------------------------


def stack_options(f: F) -> F:
    """Options every command shares: where the data is and which metrics apply."""
    decorators = [
        click.option(
            "--db",
            "db",
            default=bootstrap.DEFAULT_DB,
            envvar="PRESSO_METRICS_DB",
            show_default=True,
            type=click.Path(dir_okay=False),
            help="The embedded database file (env PRESSO_METRICS_DB).",
        ),
        click.option(
            "--metrics",
            "metrics_file",
            envvar="PRESSO_METRICS_FILE",
            type=click.Path(dir_okay=False),
            help="Metrics file (TOML); default: the packaged Serverlesspresso metrics "
            "(env PRESSO_METRICS_FILE).",
        ),
        click.option(
            "--time-zone",
            envvar="PRESSO_METRICS_TIME_ZONE",
            help="IANA time zone days are counted in; overrides the metrics file "
            "(env PRESSO_METRICS_TIME_ZONE).",
        ),
        click.option(
            "--aws",
            is_flag=True,
            help="Use AWS (EventBridge, SQS, DynamoDB) instead of the embedded database; "
            "endpoint, region and credentials come from boto3's standard configuration.",
        ),
        click.option("--bus", default=Names.bus, show_default=True, help="Event bus name."),
        click.option("--queue", default=Names.queue, show_default=True, help="Queue name."),
        click.option(
            "--dead-letter-queue",
            default=Names.dead_letter_queue,
            show_default=True,
            help="Dead-letter queue name.",
        ),
        click.option(
            "--table", default=Names.table, show_default=True, help="DynamoDB table name (AWS)."
        ),
        click.option("--log-level", default="WARNING", show_default=True, help="Logging level."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def shops_option(f: F) -> F:
    return click.option(
        "--shops",
        default=DEFAULT_SHOPS,
        show_default=True,
        type=click.IntRange(1, len(SHOPS)),
        help="Shops the orders are spread over (each with its hours, menu mix and baristas).",
    )(f)


def horizon_option(f: F) -> F:
    """``--dedup-horizon-days``, for the commands that count or redrive."""
    return click.option(
        "--dedup-horizon-days",
        "dedup_horizon_days",
        type=click.IntRange(min=MIN_DEDUP_HORIZON.days),
        default=DEFAULT_DEDUP_HORIZON.days,
        show_default=True,
        envvar="DEDUP_HORIZON_DAYS",
        help="Days a counted event's dedup marker is kept; dlq redrive refuses messages first "
        "enqueued more than this less 15 days ago. Use the same value everywhere "
        "(env DEDUP_HORIZON_DAYS).",
    )(f)


def settings_from(options: dict[str, Any], **extra: Any) -> Settings:
    log_redaction.configure(options.pop("log_level", "WARNING"))  # no AWS credential in a line
    names = Names(
        bus=options.pop("bus"),
        queue=options.pop("queue"),
        dead_letter_queue=options.pop("dead_letter_queue"),
        table=options.pop("table"),
    )
    days = options.pop("dedup_horizon_days", None)
    if days is not None:
        extra["dedup_horizon"] = timedelta(days=days)
    return Settings(
        db=options.pop("db"),
        metrics_file=options.pop("metrics_file"),
        time_zone=options.pop("time_zone"),
        aws=options.pop("aws"),
        names=names,
        **extra,
    )


def open_stack(settings: Settings, *, readonly: bool = False) -> Stack:
    """The stack of a command. Read-only for the commands that read (they change nothing); the
    commands that write create the embedded stack first, so a first run works on a new file (on
    AWS the stack is deployed with SAM or `init --aws`, never as a side effect)."""
    provision = not readonly and not settings.aws
    return bootstrap.build(settings, provision=provision, readonly=readonly)


def handle_errors(f: F) -> F:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        # Messages may quote data (a name, a path): printed with whatever a terminal would act
        # on shown as escapes.
        except PressoMetricsError as e:
            raise click.ClickException(terminal.escaped(str(e))) from None
        except ValueError as e:  # option values the library refused
            raise click.ClickException(terminal.escaped(str(e))) from None
        except Exception as e:  # AWS's errors: one line, not botocore's traceback
            failure = failures.describe(e)
            if failure is None:
                raise
            raise click.ClickException(terminal.escaped(failure.message)) from None

    return wrapper  # type: ignore[return-value]


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return strict_day(value)
    except ValueError:
        raise click.BadParameter(
            f"{terminal.escaped(value[:40])!r} is not a date; write it as YYYY-MM-DD, such as "
            "2022-10-14"
        ) from None


# --- the commands --------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="presso-metrics")
def main() -> None:
    """Exactly-once business metrics for Serverlesspresso.

    Order events flow bus -> rule -> queue -> worker -> table. By default all of it runs in one
    SQLite file (--db); with --aws it runs on EventBridge, SQS and DynamoDB.
    """


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
    events = read_events(file.read(), getattr(file, "name", "<stdin>"))
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
    help="Seconds a received message stays hidden; default: the queue's.",
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


def run_worker(settings: Settings, options: Any) -> Any:
    from presso_metrics.entrypoints.worker import run, stop_on_signals

    if not settings.aws:
        bootstrap.provision_stack(settings)
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
@click.option("--limit", default=1000, show_default=True, help="At most this many.")
@stack_options
@handle_errors
def dlq_list(fmt: str, limit: int, **options: Any) -> None:
    """Each dead letter with the reason it is there."""
    settings = settings_from(options)
    stack = open_stack(settings, readonly=True)
    try:
        letters = list_dead_letters(stack.dead_letters, limit)
    finally:
        stack.close()
    terminal.print_dead_letters(letters, fmt)


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
    with terminal.loadtest_progress() as on_sample:
        result = run_load_test(settings, test, run_consumers=run, on_sample=on_sample)
    files = write_results(result, out_dir)
    terminal.print_loadtest_summary(result.summary, files)
    if not result.ok:
        sys.exit(1)


@main.command()
@click.option("--orders", default=600, show_default=True, help="Orders in the simulated day(s).")
@click.option("--days", default=1, show_default=True, help="Days to simulate.")
@click.option("--seed", default=2022, show_default=True, help="Same seed, same events.")
@shops_option
@click.option("--serve", "serve_after", is_flag=True, help="Then serve the dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option("--port", default=8080, show_default=True, help="With --serve.")
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
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


if __name__ == "__main__":  # pragma: no cover
    main()
