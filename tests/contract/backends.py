"""The backends every contract suite runs against: one factory per adapter of a port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from presso_metrics.adapters.embedded_bus import EmbeddedBus, create_bus, put_rule
from presso_metrics.adapters.embedded_queue import EmbeddedQueue, create_queue
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.domain.caps import DimensionCap
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.ports import Bus, MetricsStore, Queue
from tests.fakes import FakeBus, FakeClock, FakeQueue, FakeStore


class Backend(Protocol):
    def store(
        self, caps: dict[str, DimensionCap] | None = None, metrics: MetricSet | None = None
    ) -> MetricsStore: ...

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        dlq: str | None = None,
        max_receive_count: int | None = None,
    ) -> Queue: ...

    def bus_to(self, queue: str, pattern: dict[str, Any]) -> Bus: ...

    def advance(self, seconds: float) -> None: ...


@dataclass
class EmbeddedBackend:
    path: Path
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.db = Database(self.path)

    def store(
        self, caps: dict[str, DimensionCap] | None = None, metrics: MetricSet | None = None
    ) -> MetricsStore:
        return SqliteMetricsStore(self.db, caps=caps, metrics=metrics)

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        dlq: str | None = None,
        max_receive_count: int | None = None,
    ) -> Queue:
        create_queue(
            self.db,
            name,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dlq,
            max_receive_count=max_receive_count,
        )
        return EmbeddedQueue(self.db, name, clock=self.clock)

    def bus_to(self, queue: str, pattern: dict[str, Any]) -> Bus:
        create_bus(self.db, "Serverlesspresso")
        put_rule(self.db, "Serverlesspresso", "OrderMetrics-DynamoDB", pattern, [queue])
        return EmbeddedBus(self.db, "Serverlesspresso", clock=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self.db.close()


def embedded(tmp_path: Path) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(tmp_path / "contract.db")
    yield backend
    backend.close()


@dataclass
class FakeBackend:
    """The test fakes (tests/fakes.py), so a fake cannot drift from the adapters."""

    clock: FakeClock = field(default_factory=FakeClock)
    queues: dict[str, FakeQueue] = field(default_factory=dict)

    def store(
        self, caps: dict[str, DimensionCap] | None = None, metrics: MetricSet | None = None
    ) -> MetricsStore:
        return FakeStore(caps, metrics)

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        dlq: str | None = None,
        max_receive_count: int | None = None,
    ) -> Queue:
        self.queues[name] = FakeQueue(
            name,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=None if dlq is None else self.queues[dlq],
            max_receive_count=max_receive_count,
            clock=self.clock,
        )
        return self.queues[name]

    def bus_to(self, queue: str, pattern: dict[str, Any]) -> Bus:
        bus = FakeBus("Serverlesspresso", clock=self.clock)
        bus.put_rule("OrderMetrics-DynamoDB", pattern, [self.queues[queue]])
        return bus

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


@dataclass
class AwsBackend:
    """The AWS adapters against moto's server (one writer at a time, small tables)."""

    emulator: Any

    def __post_init__(self) -> None:
        from tests.sam import table_from_template

        self.dynamodb = self.emulator.client("dynamodb")
        self.sqs = self.emulator.client("sqs")
        self.events = self.emulator.client("events")
        self.table = "serverlesspresso-metrics-table"
        self.dynamodb.create_table(**table_from_template(self.table))

    def store(
        self, caps: dict[str, DimensionCap] | None = None, metrics: MetricSet | None = None
    ) -> MetricsStore:
        from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore

        return DynamoDBMetricsStore(
            self.dynamodb,
            self.table,
            caps=caps,
            metrics=metrics,
            partitions=["Aggregate", "hourly", "Other"],
        )

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: int = 30,
        dlq: str | None = None,
        max_receive_count: int | None = None,
    ) -> Queue:
        import json

        from presso_metrics.adapters.sqs_queue import SqsQueue

        attributes = {"VisibilityTimeout": str(visibility_timeout)}
        if dlq is not None:
            dlq_url = self.sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
            dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
            )
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return SqsQueue(self.sqs, url)

    def bus_to(self, queue: str, pattern: dict[str, Any]) -> Bus:
        import json

        from presso_metrics.adapters.eventbridge_bus import EventBridgeBus

        self.events.create_event_bus(Name="Serverlesspresso")
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name="OrderMetrics-DynamoDB",
            EventBusName="Serverlesspresso",
            EventPattern=json.dumps(pattern),
        )
        self.events.put_targets(
            Rule="OrderMetrics-DynamoDB",
            EventBusName="Serverlesspresso",
            Targets=[{"Id": "q", "Arn": arn}],
        )
        return EventBridgeBus(self.events, "Serverlesspresso")

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)
