"""Shared helpers of the adversarial review's reproductions: stores on both backends, events of
orders, and the figures a store holds."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.counting import CountedEvent, count_event
from presso_metrics.domain.envelope import Envelope, envelope_of
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.ports import MetricsStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = "awsserverlessda.serverlesspresso"
TABLE = "serverlesspresso-metrics-table"
DAY = "2025-10-14"


def default_metrics() -> MetricSet:
    return load_metrics(default_metrics_text(), "metrics.toml")


def without_orders(metrics: MetricSet) -> MetricSet:
    """The same metrics with those that follow orders left out: what the previous round's
    default metrics file counted (sales, completions, cancellations by their own drink, ...)."""
    return MetricSet(tuple(m for m in metrics if not m.correlated), metrics.time_zone)


def waiting(
    event_id: str,
    order: str | None,
    drink: str = "Latte",
    time: str = "12:00:00",
    shop: str = "NYC",
    **detail: Any,
) -> dict[str, Any]:
    d: dict[str, Any] = {"eventId": shop, "drinkOrder": {"drink": drink}, **detail}
    if order is not None:
        d["orderId"] = order
    return {
        "id": event_id,
        "source": SOURCE,
        "detail-type": "OrderManager.WaitingCompletion",
        "time": f"{DAY}T{time}Z",
        "detail": d,
    }


def cancelled(
    event_id: str, order: str, time: str = "12:05:00", shop: str = "NYC", **detail: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": SOURCE,
        "detail-type": f"OrderManager.Order{shop}-CANCELLED",
        "time": f"{DAY}T{time}Z",
        "detail": {"orderId": order, "eventId": shop, **detail},
    }


def completed(
    event_id: str, order: str, time: str = "12:01:35", shop: str = "NYC"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": SOURCE,
        "detail-type": f"OrderManager.Order{shop}-COMPLETED",
        "time": f"{DAY}T{time}Z",
        "detail": {"orderId": order, "eventId": shop},
    }


def counted(event: dict[str, Any], metrics: MetricSet) -> CountedEvent:
    envelope = envelope_of(copy.deepcopy(event), now=NOW)
    assert isinstance(envelope, Envelope), envelope
    result = count_event(envelope, metrics)
    assert isinstance(result, CountedEvent), result
    return result


def figures(store: Any, metrics: MetricSet) -> dict[str, int]:
    """Every counter of every metric's partition, non-zero ones only."""
    out: dict[str, int] = {}
    for partition in sorted({m.partition for m in metrics}):
        for c in store.read(partition, "0000", "9999"):
            if c.value:
                name = f"{partition}|{c.key.sort_key}"
                out[name if c.key.attribute == "val" else f"{name}|{c.key.attribute}"] = c.value
    return out


class Stores:
    """Stores of one backend over one table or database file: several of them (with different
    metrics files) see the same data, as consumers of two versions would."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        if kind == "embedded":
            self.db = Database(tmp_path / "review.db")
        else:
            from tests.sam import table_from_template

            emulator = request.getfixturevalue("aws")
            self.client = emulator.client("dynamodb")
            self.client.create_table(**table_from_template(TABLE))

    def store(self, metrics: MetricSet, **kw: Any) -> MetricsStore:
        caps = kw.pop("caps", metrics.caps())
        if self.kind == "embedded":
            return SqliteMetricsStore(self.db, caps=caps, metrics=metrics, **kw)
        return DynamoDBMetricsStore(
            self.client,
            TABLE,
            caps=caps,
            metrics=metrics,
            partitions=[m.partition for m in metrics],
            sleep=lambda s: None,
            **kw,
        )

    def close(self) -> None:
        if self.kind == "embedded":
            self.db.close()


BACKENDS = [
    pytest.param("embedded", id="embedded", marks=pytest.mark.integration),
    pytest.param("aws", id="aws", marks=pytest.mark.aws),
]


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    s = Stores(request.param, tmp_path, request)
    yield s
    s.close()


def sqs_event(*events: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SQS event with one record per event (message ids m0, m1, ...)."""
    import json

    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"h{i}",
                "body": json.dumps(e),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1760443200000"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            }
            for i, e in enumerate(events)
        ]
    }


def batch_counter(store: MetricsStore, metrics: MetricSet) -> Any:
    """The service over ``store``, dead-lettering into an in-memory queue (``.dead_letters``)."""
    from presso_metrics.service import BatchCounter
    from tests.fakes import FakeQueue

    return BatchCounter(metrics, store, FakeQueue("dlq"), clock=lambda: NOW)


def xfail_on(request: pytest.FixtureRequest, stores: Stores, kind: str, reason: str) -> None:
    """Mark this test an expected (strict) failure on one backend only."""
    if stores.kind == kind:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
