"""What every ``presso-metrics`` command shares: the command group, the options that say where the
data is and which metrics apply, settings from them, and errors as one line."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import click

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Names, Settings, Stack
from presso_metrics.domain.buckets import strict_day
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, MIN_DEDUP_HORIZON
from presso_metrics.entrypoints import failures, log_redaction, terminal
from presso_metrics.exceptions import PressoMetricsError
from presso_metrics.shops import DEFAULT_SHOPS, SHOPS

F = TypeVar("F", bound=Callable[..., Any])


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
