"""The one place that picks adapters from settings (the composition root).

Nothing here runs at import time. ``build(settings)`` returns a :class:`Stack`: the metrics, the
store, the bus, the queue and its dead-letter queue, and the batch processor wired to them,
either on the embedded SQLite file or on AWS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from presso_metrics.domain.counting import ReplayPolicy
from presso_metrics.domain.metrics import MetricSet, load_metrics
from presso_metrics.exceptions import ConfigError
from presso_metrics.ports import Bus, MetricsStore, Queue
from presso_metrics.service import BatchProcessor, Limits

DEFAULT_DB = "presso-metrics.db"


@dataclass(frozen=True)
class Names:
    """Resource names; the defaults are the Serverlesspresso workshop's."""

    bus: str = "Serverlesspresso"
    rule: str = "OrderMetrics-DynamoDB"
    queue: str = "MetricsQueue"
    dead_letter_queue: str = "MetricsQueue-DLQ"
    table: str = "serverlesspresso-metrics-table"


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
    marker_ttl: timedelta = timedelta(days=14)
    busy_timeout: float = 30.0
    write_attempts: int = 5
    dead_letter_queue_url: str | None = None  # AWS: skips the lookup by name

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


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
    processor: BatchProcessor
    resources: Any = None  # backend-specific handles (the Database, boto3 clients)

    def close(self) -> None:
        close = getattr(self.resources, "close", None)
        if close is not None:
            close()


def build(settings: Settings, *, provision: bool = True) -> Stack:
    """Wire a stack. On the embedded backend ``provision`` creates or updates the bus, rule,
    queues and tables in the database file first (idempotent)."""
    metrics = load_metric_set(settings)
    if settings.aws:
        return _aws(settings, metrics)
    return _embedded(settings, metrics, provision=provision)


def _embedded(settings: Settings, metrics: MetricSet, *, provision: bool) -> Stack:
    from presso_metrics.adapters.embedded_bus import EmbeddedBus
    from presso_metrics.adapters.embedded_queue import EmbeddedQueue
    from presso_metrics.adapters.sqlite_db import Database
    from presso_metrics.adapters.sqlite_store import SqliteMetricsStore

    db = Database(
        settings.db, busy_timeout=settings.busy_timeout, write_attempts=settings.write_attempts
    )
    if provision:
        provision_embedded(db, settings, metrics)
    store = SqliteMetricsStore(db, caps=metrics.caps(), marker_ttl=settings.marker_ttl)
    names = settings.names
    queue = EmbeddedQueue(db, names.queue)
    dlq = EmbeddedQueue(db, names.dead_letter_queue)
    processor = BatchProcessor(metrics, store, dlq, replay=settings.replay, limits=settings.limits)
    bus = EmbeddedBus(db, names.bus)
    return Stack(settings, metrics, store, bus, queue, dlq, processor, db)


def provision_embedded(db: Any, settings: Settings, metrics: MetricSet) -> dict[str, Any]:
    """Create (or bring up to date) the embedded stack; returns what it describes."""
    from presso_metrics.adapters.embedded_bus import create_bus, put_rule
    from presso_metrics.adapters.embedded_queue import create_queue

    _check_time_zone(db, metrics)
    names = settings.names
    create_queue(db, names.dead_letter_queue, visibility_timeout=settings.visibility_timeout)
    create_queue(
        db,
        names.queue,
        visibility_timeout=settings.visibility_timeout,
        dead_letter_queue=names.dead_letter_queue,
        max_receive_count=settings.max_receive_count,
    )
    create_bus(db, names.bus)
    pattern = metrics.rule_pattern()
    put_rule(db, names.bus, names.rule, pattern, [names.queue])
    return {
        "backend": "embedded",
        "database": str(Path(db.path).resolve()) if db.path != ":memory:" else db.path,
        "bus": names.bus,
        "rule": {"name": names.rule, "pattern": pattern, "target": names.queue},
        "queue": {
            "name": names.queue,
            "visibility_timeout": settings.visibility_timeout,
            "dead_letter_queue": names.dead_letter_queue,
            "max_receive_count": settings.max_receive_count,
        },
        "dead_letter_queue": names.dead_letter_queue,
        "table": "counters (in the database file)",
        "time_zone": str(metrics.time_zone),
    }


def _check_time_zone(db: Any, metrics: MetricSet) -> None:
    """Refuse to mix days of two time zones in one table."""
    zone = str(metrics.time_zone)
    with db.write() as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = 'time_zone'").fetchone()
        if row is None:
            conn.execute("INSERT INTO settings (key, value) VALUES ('time_zone', ?)", (zone,))
        elif row[0] != zone:
            raise ConfigError(
                f"{db.path} counts days in {row[0]}, but the metrics ask for {zone}; "
                f"use --time-zone {row[0]} with this database, or a new --db for {zone}"
            )


def _aws_parts(settings: Settings, metrics: MetricSet) -> tuple[Any, Any, Any, BatchProcessor]:
    from presso_metrics.adapters.aws import AwsClients
    from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
    from presso_metrics.adapters.sqs_queue import SqsQueue

    clients = AwsClients.from_environment()
    names = settings.names
    store = DynamoDBMetricsStore(
        clients.dynamodb,
        names.table,
        caps=metrics.caps(),
        partitions=[m.partition for m in metrics],
        marker_ttl=settings.marker_ttl,
    )
    if settings.dead_letter_queue_url:
        dlq = SqsQueue(clients.sqs, settings.dead_letter_queue_url)
    else:
        dlq = SqsQueue.by_name(clients.sqs, names.dead_letter_queue)
    processor = BatchProcessor(metrics, store, dlq, replay=settings.replay, limits=settings.limits)
    return clients, store, dlq, processor


def build_reader(settings: Settings) -> tuple[MetricSet, MetricsStore]:
    """Only what the read-only API needs: the metrics and the store (no queues)."""
    metrics = load_metric_set(settings)
    if not settings.aws:
        from presso_metrics.adapters.sqlite_db import Database
        from presso_metrics.adapters.sqlite_store import SqliteMetricsStore

        db = Database(settings.db, busy_timeout=settings.busy_timeout)
        return metrics, SqliteMetricsStore(db, caps=metrics.caps())
    from presso_metrics.adapters.aws import AwsClients
    from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore

    clients = AwsClients.from_environment()
    store = DynamoDBMetricsStore(
        clients.dynamodb, settings.names.table, partitions=[m.partition for m in metrics]
    )
    return metrics, store


def build_processor(settings: Settings) -> BatchProcessor:
    """Only what the Lambda consumer needs: the store, the dead-letter queue, the processor."""
    return _aws_parts(settings, load_metric_set(settings))[3]


def _aws(settings: Settings, metrics: MetricSet) -> Stack:
    from presso_metrics.adapters.eventbridge_bus import EventBridgeBus
    from presso_metrics.adapters.sqs_queue import SqsQueue

    clients, store, dlq, processor = _aws_parts(settings, metrics)
    queue = SqsQueue.by_name(clients.sqs, settings.names.queue)
    bus = EventBridgeBus(clients.events, settings.names.bus)
    return Stack(settings, metrics, store, bus, queue, dlq, processor, clients)


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
    return Settings(
        metrics_file=env.get("METRICS_FILE") or None,
        time_zone=env.get("TIME_ZONE") or None,
        aws=True,
        names=names,
        replay=replay,
        dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL") or None,
    )
