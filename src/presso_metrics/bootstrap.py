"""The one place that picks adapters from settings (the composition root).

Nothing here runs at import time. ``build(settings)`` returns a :class:`Stack`: the metrics, the
store, the bus, the queue and its dead-letter queue, and the batch counter wired to them, either
on the embedded SQLite file or on AWS. Building never creates anything: commands that write call
:func:`provision_stack` first, commands that read open the stack read-only.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from presso_metrics.domain.counting import ReplayPolicy
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, check_horizon
from presso_metrics.domain.metrics import MetricSet, zone_named
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.exceptions import ConfigError
from presso_metrics.names import Names
from presso_metrics.ports import Bus, MetricsStore, Queue
from presso_metrics.service import BatchCounter, Limits, check_replay_policy

DEFAULT_DB = "presso-metrics.db"

__all__ = ["DEFAULT_DB", "Names", "Settings", "Stack", "build", "provision_stack"]


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_DB
    metrics_file: str | None = None  # None: the packaged Serverlesspresso metrics
    time_zone: str | None = None  # overrides the metrics file's time_zone
    aws: bool = False
    names: Names = field(default_factory=Names)
    replay: ReplayPolicy = field(default_factory=ReplayPolicy)
    limits: Limits = field(default_factory=Limits)
    visibility_timeout: int = 30
    max_receive_count: int = 5
    # How long a counted event's marker is kept; dlq redrive refuses what is older than it
    # allows (domain/dedup.py). The same on every consumer and on the redriving CLI.
    dedup_horizon: timedelta = DEFAULT_DEDUP_HORIZON
    busy_timeout: float = 30.0
    write_attempts: int = 5
    dead_letter_queue_url: str | None = None  # AWS: skips the lookup by name


def default_metrics_text() -> str:
    return resources.files("presso_metrics").joinpath("metrics.toml").read_text("utf-8")


def load_metric_set(settings: Settings) -> MetricSet:
    if settings.metrics_file is None:
        metrics = load_metrics(default_metrics_text(), "presso_metrics/metrics.toml")
    else:
        path = Path(settings.metrics_file)
        try:
            text = path.read_text("utf-8")
        except OSError as e:
            raise ConfigError(
                f"{path}: cannot read the metrics file ({e.strerror}); check --metrics or "
                "PRESSO_METRICS_FILE"
            ) from None
        metrics = load_metrics(text, str(path))
    if settings.time_zone:
        metrics = metrics.with_time_zone(settings.time_zone)
    return metrics


@dataclass
class Stack:
    """Everything a command needs, wired for one backend."""

    settings: Settings
    metrics: MetricSet
    store: MetricsStore
    bus: Bus
    queue: Queue
    dead_letters: Queue
    processor: BatchCounter
    resources: Any = None  # backend-specific handles (the Database, boto3 clients)

    def close(self) -> None:
        close = getattr(self.resources, "close", None)
        if close is not None:
            close()


def provision_stack(settings: Settings, metrics: MetricSet | None = None) -> dict[str, Any]:
    """Create (or bring up to date) the bus, rule, queues and table; idempotent. Returns what
    exists, as ``presso-metrics init`` prints it."""
    metrics = metrics or load_metric_set(settings)
    options: dict[str, Any] = {
        "rule_pattern": metrics.rule_pattern(),
        "time_zone": str(metrics.time_zone),
        "max_receive_count": settings.max_receive_count,
    }
    if settings.aws:
        from presso_metrics.adapters.aws_provision import provision_aws

        return provision_aws(settings.names, **options)
    from presso_metrics.adapters.sqlite_db import Database
    from presso_metrics.adapters.sqlite_provision import provision_embedded

    db = Database(settings.db, busy_timeout=settings.busy_timeout)
    try:
        return provision_embedded(
            db, settings.names, visibility_timeout=settings.visibility_timeout, **options
        )
    finally:
        db.close()


def build(settings: Settings, *, provision: bool = False, readonly: bool = False) -> Stack:
    """Wire a stack. ``provision`` creates what is missing first; ``readonly`` opens the
    embedded database for reading only (nothing is created, migrated or written)."""
    metrics = load_metric_set(settings)
    if provision:
        provision_stack(settings, metrics)
    if settings.aws:
        return _aws(settings, metrics)
    return _embedded(settings, metrics, readonly=readonly)


def _database(settings: Settings, metrics: MetricSet, *, readonly: bool) -> Any:
    from presso_metrics.adapters.sqlite_db import Database
    from presso_metrics.adapters.sqlite_provision import check_time_zone

    zone = str(metrics.time_zone)
    if readonly:
        # Opened lazily: every problem with the file (missing, not a database, locked, needing
        # a migration, another time zone) is raised by the first read, whose caller says it in
        # one line (the CLI) or answers 503 (the web API) until the file can be read.
        return Database(
            settings.db,
            busy_timeout=settings.busy_timeout,
            readonly=True,
            on_open=lambda db: check_time_zone(db, zone),
        )
    db = Database(
        settings.db,
        busy_timeout=settings.busy_timeout,
        write_attempts=settings.write_attempts,
    )
    try:
        check_time_zone(db, zone)
    except BaseException:
        db.close()
        raise
    return db


def _embedded(settings: Settings, metrics: MetricSet, *, readonly: bool) -> Stack:
    from presso_metrics.adapters.embedded_bus import EmbeddedBus
    from presso_metrics.adapters.embedded_queue import EmbeddedQueue
    from presso_metrics.adapters.sqlite_store import SqliteMetricsStore, lock_wait_until

    db = _database(settings, metrics, readonly=readonly)
    store = SqliteMetricsStore(
        db, caps=metrics.caps(), metrics=metrics, marker_ttl=settings.dedup_horizon
    )
    names = settings.names
    queue = EmbeddedQueue(db, names.queue)
    dlq = EmbeddedQueue(db, names.dead_letter_queue)
    counter = BatchCounter(
        metrics,
        store,
        dlq,
        replay=settings.replay,
        limits=settings.limits,
        # a batch's deadline bounds its waits for the database's write lock
        deadline_scope=functools.partial(lock_wait_until, db),
    )
    bus = EmbeddedBus(db, names.bus)
    return Stack(settings, metrics, store, bus, queue, dlq, counter, db)


def _aws_parts(settings: Settings, metrics: MetricSet) -> tuple[Any, Any, Any, BatchCounter]:
    from presso_metrics.adapters.aws import AwsClients, calls_bounded_by
    from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
    from presso_metrics.adapters.sqs_queue import SqsQueue

    clients = AwsClients.from_environment()
    names = settings.names
    store = DynamoDBMetricsStore(
        clients.dynamodb,
        names.table,
        caps=metrics.caps(),
        metrics=metrics,
        partitions=[m.partition for m in metrics],
        marker_ttl=settings.dedup_horizon,
    )
    if settings.dead_letter_queue_url:
        dlq = SqsQueue(clients.sqs, settings.dead_letter_queue_url)
    else:
        dlq = SqsQueue.by_name(clients.sqs, names.dead_letter_queue)
    counter = BatchCounter(
        metrics,
        store,
        dlq,
        replay=settings.replay,
        limits=settings.limits,
        deadline_scope=calls_bounded_by,  # a batch's deadline bounds every AWS call it makes
    )
    return clients, store, dlq, counter


def _aws(settings: Settings, metrics: MetricSet) -> Stack:
    from presso_metrics.adapters.eventbridge_bus import EventBridgeBus
    from presso_metrics.adapters.sqs_queue import SqsQueue

    clients, store, dlq, counter = _aws_parts(settings, metrics)
    queue = SqsQueue.by_name(clients.sqs, settings.names.queue)
    bus = EventBridgeBus(clients.events, settings.names.bus)
    return Stack(settings, metrics, store, bus, queue, dlq, counter, clients)


def build_reader(settings: Settings) -> tuple[MetricSet, MetricsStore]:
    """Only what the read-only API needs: the metrics and the store, opened read-only. Nothing
    is read yet: a store that cannot be read fails on its first read, with the file and fix."""
    metrics = load_metric_set(settings)
    if not settings.aws:
        from presso_metrics.adapters.sqlite_store import SqliteMetricsStore

        db = _database(settings, metrics, readonly=True)
        return metrics, SqliteMetricsStore(db, caps=metrics.caps())
    from presso_metrics.adapters.aws import AwsClients
    from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore

    clients = AwsClients.from_environment()
    store = DynamoDBMetricsStore(
        clients.dynamodb, settings.names.table, partitions=[m.partition for m in metrics]
    )
    return metrics, store


def build_processor(settings: Settings) -> BatchCounter:
    """Only what the Lambda consumer needs: the store, the dead-letter queue, the counter. The
    replay policy is checked here, as the worker checks it."""
    metrics = load_metric_set(settings)
    _, store, _, counter = _aws_parts(settings, metrics)
    check_replay_policy(settings.replay, metrics, store)
    return counter


def build_publisher(settings: Settings) -> Bus:
    """Only what the load-test function needs: the bus."""
    if not settings.aws:
        return build(settings).bus
    from presso_metrics.adapters.aws import AwsClients
    from presso_metrics.adapters.eventbridge_bus import EventBridgeBus

    return EventBridgeBus(AwsClients.from_environment().events, settings.names.bus)


def start_consuming(settings: Settings) -> int:
    """What a worker does once before its consumers start: check the replay policy, and on the
    embedded backend delete the dedup markers past the horizon (DynamoDB's TTL does it on AWS).
    Returns the queue's depth, for a progress bar."""
    stack = build(settings)
    try:
        check_replay_policy(settings.replay, stack.metrics, stack.store)
        if not settings.aws:
            from presso_metrics.adapters.sqlite_store import SqliteMetricsStore

            SqliteMetricsStore(stack.resources, marker_ttl=settings.dedup_horizon).prune_markers()
        return stack.queue.depth().total
    finally:
        stack.close()


def env_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings of the Lambda functions, from environment variables."""
    env = os.environ if environ is None else environ
    names = Names(
        bus=env.get("EVENT_BUS_NAME", Names.bus),
        queue=env.get("QUEUE_NAME", Names.queue),
        dead_letter_queue=env.get("DEAD_LETTER_QUEUE_NAME", Names.dead_letter_queue),
        table=env.get("TABLE_NAME", Names.table),
    )
    mode = env.get("REPLAY_MODE", "skip")
    backfill = frozenset(m for m in env.get("BACKFILL_METRICS", "").split(",") if m)
    try:
        replay = ReplayPolicy(mode, backfill)
    except ValueError as e:
        raise ConfigError(f"REPLAY_MODE/BACKFILL_METRICS: {e}") from None
    time_zone = env.get("TIME_ZONE") or None
    if time_zone is not None:
        zone_named(time_zone, "TIME_ZONE (the stack's TimeZone parameter)")
    return Settings(
        dedup_horizon=_horizon_from(env.get("DEDUP_HORIZON_DAYS")),
        metrics_file=env.get("METRICS_FILE") or None,
        time_zone=time_zone,
        aws=True,
        names=names,
        replay=replay,
        dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL") or None,
    )


def _horizon_from(days: str | None) -> timedelta:
    """DEDUP_HORIZON_DAYS: whole days, at least the minimum; unset or empty: the default."""
    if not days:
        return DEFAULT_DEDUP_HORIZON
    try:
        n = int(days)
    except ValueError:
        raise ConfigError(
            f"DEDUP_HORIZON_DAYS={days!r}: give a whole number of days, e.g. "
            f"{DEFAULT_DEDUP_HORIZON.days}"
        ) from None
    try:
        return check_horizon(timedelta(days=n))
    except (ValueError, OverflowError) as e:
        raise ConfigError(f"DEDUP_HORIZON_DAYS={days!r}: {e}") from None
