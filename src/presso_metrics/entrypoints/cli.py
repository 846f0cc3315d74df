"""``presso-metrics``: the command line. It parses options and calls the library; anything it
does, a Python user can do with the same functions."""

from __future__ import annotations

import functools
import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
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

from presso_metrics import bootstrap
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import Names, Settings, Stack
from presso_metrics.domain.counting import REPLAY_MODES, ReplayPolicy
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.exceptions import PressoMetricsError
from presso_metrics.ports import Bus, PublishResult
from presso_metrics.service import DeadLetter, list_dead_letters, redrive
from presso_metrics.simulation import burst, chunks, simulate_days
from presso_metrics.views import Row, pivot, report_rows, rows_csv

F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True)
out = Console(soft_wrap=True)
log = logging.getLogger("presso_metrics.cli")


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
    return Settings(
        db=options.pop("db"),
        metrics_file=options.pop("metrics_file"),
        time_zone=options.pop("time_zone"),
        aws=options.pop("aws"),
        names=names,
        **extra,
    )


def open_stack(settings: Settings, *, must_exist: bool = False) -> Stack:
    if must_exist and not settings.aws and not Path(settings.db).exists():
        raise click.ClickException(
            f"no database at {settings.db}; run `presso-metrics demo` or "
            "`presso-metrics init` first, or point --db at one"
        )
    return bootstrap.build(settings)


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
    metrics = bootstrap.load_metric_set(settings)
    if settings.aws:
        from presso_metrics.adapters.aws_provision import provision_aws

        described = provision_aws(settings, metrics)
    else:
        from presso_metrics.adapters.sqlite_db import Database

        db = Database(settings.db)
        try:
            described = bootstrap.provision_embedded(db, settings, metrics)
        finally:
            db.close()
    out.print_json(json.dumps(described))


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
    events = read_events(file)
    stack = open_stack(settings)
    try:
        result = publish_all(stack.bus, events, chunk)
    finally:
        stack.close()
    report_publish(result, len(events))
    if result.failed:
        sys.exit(1)


def read_events(file: io.TextIOWrapper) -> list[Any]:
    name = getattr(file, "name", "<stdin>")
    text = file.read()
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            events = json.loads(text)
        except json.JSONDecodeError as e:
            raise click.ClickException(f"{name}:{e.lineno}: not valid JSON: {e.msg}") from None
        return list(events)
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise click.ClickException(
                f"{name}:{number}: not valid JSON ({e.msg}); give a JSON array or one event "
                "per line"
            ) from None
    return events


def publish_all(bus: Bus, events: list[Any], chunk: int) -> PublishResult:
    total = PublishResult()
    with progress_bar(f"publishing to {bus.name}", len(events)) as advance:
        offset = 0
        for part in chunks(events, max(1, chunk)):
            result = bus.publish(part)
            total.published += result.published
            total.failed.extend((offset + i, why) for i, why in result.failed)
            offset += len(part)
            advance(len(part))
    return total


def report_publish(result: PublishResult, count: int) -> None:
    err.print(f"published {result.published} of {count} events")
    for index, why in result.failed[:20]:
        err.print(f"  event {index}: not published: {why}", style="red")
    if len(result.failed) > 20:
        err.print(f"  ... and {len(result.failed) - 20} more", style="red")


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
        result = publish_all(stack.bus, events, 500)
    finally:
        stack.close()
    report_publish(result, len(events))


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
    out.print_json(json.dumps(stats.as_dict()))


def run_worker(settings: Settings, options: Any) -> Any:
    from presso_metrics.entrypoints.worker import run, stop_on_signals

    stack = open_stack(settings)  # provisions, checks the settings and the replay guard
    try:
        unknown = set(settings.replay.metrics) - set(stack.metrics.names())
        if unknown:
            raise click.ClickException(
                f"--backfill-metric: unknown metric(s) {', '.join(sorted(unknown))}; "
                f"the metrics are {', '.join(stack.metrics.names())}"
            )
        if settings.replay.mode == "rebuild" and not stack.store.is_empty():
            raise click.ClickException(
                "--replays rebuild counts replayed events from scratch and needs an empty "
                "table; this one has counters. Use a new --db (or table), or --replays backfill"
            )
        depth = stack.queue.depth().total
        if isinstance(stack.store, SqliteMetricsStore):
            # Markers outlive any redelivery by far (14 days); DynamoDB's TTL expires them on
            # AWS, the worker does it here.
            pruned = stack.store.prune_markers()
            if pruned:
                log.info("deleted %d expired dedup markers", pruned)
    finally:
        stack.close()
    stop = threading.Event()
    stop_on_signals(stop)
    build = functools.partial(bootstrap.build, settings, provision=False)
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
    stack = open_stack(settings, must_exist=True)
    try:
        check_metric_names(stack.metrics, metric_names)
        rows = report_rows(stack.store, stack.metrics, metric_names or None, first, last)
    finally:
        stack.close()
    print_report(stack.metrics, rows, fmt, metric_names or stack.metrics.names())


def check_metric_names(metrics: MetricSet, names: tuple[str, ...]) -> None:
    for name in names:
        if name not in metrics.names():
            raise click.ClickException(
                f"unknown metric {name!r}; the metrics are {', '.join(metrics.names())}"
            )


def print_report(metrics: MetricSet, rows: list[Row], fmt: str, names: Any) -> None:
    if fmt == "json":
        out.print_json(json.dumps([r.as_dict() for r in rows]), indent=None)
        return
    if fmt == "csv":
        sys.stdout.write(rows_csv(rows))
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
    stack = open_stack(settings, must_exist=True)
    try:
        letters = list_dead_letters(stack.dead_letters, limit)
    finally:
        stack.close()
    print_dead_letters(letters, fmt)


def print_dead_letters(letters: list[DeadLetter], fmt: str) -> None:
    if fmt == "json":
        out.print_json(json.dumps([d.as_dict() for d in letters]), indent=None)
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


@dlq.command("redrive")
@stack_options
@handle_errors
def dlq_redrive(**options: Any) -> None:
    """Move the dead letters back to the queue, after a fix, to be processed again."""
    settings = settings_from(options)
    stack = open_stack(settings, must_exist=True)
    try:
        waiting = stack.dead_letters.depth().total
        with progress_bar(f"redriving to {stack.queue.name}", waiting) as advance:
            moved = redrive(stack.dead_letters, stack.queue, progress=advance)
    finally:
        stack.close()
    err.print(
        f"moved {moved} messages back to {settings.names.queue}; run the worker to process them"
    )


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
        out.print_json(json.dumps(metric_set.rule_pattern()))
        return
    described = [m.describe() for m in metric_set]
    if fmt == "json":
        out.print_json(json.dumps({"time_zone": str(metric_set.time_zone), "metrics": described}))
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


@main.command()
@stack_options
@handle_errors
def status(**options: Any) -> None:
    """Queue depths: what is waiting, in flight, and dead-lettered."""
    settings = settings_from(options)
    stack = open_stack(settings, must_exist=True)
    try:
        q, d = stack.queue.depth(), stack.dead_letters.depth()
    finally:
        stack.close()
    out.print_json(
        json.dumps(
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
    )


@main.command()
@click.option("--orders", default=600, show_default=True, help="Orders in the simulated day(s).")
@click.option("--days", default=1, show_default=True, help="Days to simulate.")
@click.option("--seed", default=2022, show_default=True, help="Same seed, same events.")
@click.option("--serve", "serve_after", is_flag=True, help="Then serve the dashboard.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option("--port", default=8080, show_default=True, help="With --serve.")
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
    if not settings.aws and not Path(settings.db).exists():
        raise click.ClickException(
            f"no database at {settings.db}; run `presso-metrics demo` first, or point --db at one"
        )
    serve_web(settings, host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
