"""``presso-metrics``: the command line. It parses options and calls the library; anything it
does, a Python user can do with the same functions."""

from __future__ import annotations

import functools
import io
import logging
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import click

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Names, Settings, Stack
from presso_metrics.dead_letters import list_dead_letters, redrive
from presso_metrics.domain.counting import REPLAY_MODES, ReplayPolicy
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, MIN_DEDUP_HORIZON
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import terminal
from presso_metrics.entrypoints.terminal import err, progress_bar
from presso_metrics.exceptions import PressoMetricsError
from presso_metrics.publisher import publish_all, read_events
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
    logging.basicConfig(
        level=options.pop("log_level", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
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
        except PressoMetricsError as e:
            raise click.ClickException(str(e)) from None
        except ValueError as e:  # option values the library refused
            raise click.ClickException(str(e)) from None

    return wrapper  # type: ignore[return-value]


def parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


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
@stack_options
@handle_errors
def load(
    orders: int,
    days: int,
    start: date | None,
    duplicates: float,
    burst_mode: bool,
    seed: int | None,
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
@stack_options
@handle_errors
def status(**options: Any) -> None:
    """Queue depths: what is waiting, in flight, and dead-lettered."""
    settings = settings_from(options)
    stack = open_stack(settings, readonly=True)
    try:
        q, d = stack.queue.depth(), stack.dead_letters.depth()
    finally:
        stack.close()
    terminal.print_json(
        {
            "queue": {
                "name": settings.names.queue,
                "visible": q.visible,
                "in_flight": q.in_flight,
            },
            "dead_letter_queue": {
                "name": settings.names.dead_letter_queue,
                "messages": d.total,
            },
            "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
    )


@main.command()
@click.option("--orders", default=600, show_default=True, help="Orders in the simulated day(s).")
@click.option("--days", default=1, show_default=True, help="Days to simulate.")
@click.option("--seed", default=2022, show_default=True, help="Same seed, same events.")
@click.option("--serve", "serve_after", is_flag=True, help="Then serve the dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option("--port", default=8080, show_default=True, help="With --serve.")
@horizon_option
@stack_options
@handle_errors
def demo(
    orders: int, days: int, seed: int, serve_after: bool, host: str, port: int, **options: Any
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
    run_demo(settings, orders=orders, days=days, seed=seed)
    if serve_after:
        from presso_metrics.entrypoints.web import serve as serve_web

        serve_web(settings, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@stack_options
@handle_errors
def serve(host: str, port: int, **options: Any) -> None:
    """The dashboard and the JSON API (read-only) over HTTP; docs at /docs."""
    from presso_metrics.entrypoints.web import serve as serve_web

    settings = settings_from(options)
    serve_web(settings, host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
