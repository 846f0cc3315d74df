"""DynamoDB: another consumer writes an order (and registers dimension values, and counts a
marker this chunk holds) between this consumer's read of the order and its transaction. The
cancellation reasons must be mapped to the right markers, orders and registry items, and the
figures must be those of one consumer counting everything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from tests.review.support import (
    TABLE,
    cancelled,
    completed,
    counted,
    default_metrics,
    figures,
    waiting,
)
from tests.sam import table_from_template

pytestmark = pytest.mark.aws


def test_a_concurrent_writer_between_read_and_transaction(aws: Any, tmp_path: Path) -> None:
    metrics = default_metrics()
    mine, theirs = aws.client("dynamodb"), aws.client("dynamodb")
    mine.create_table(**table_from_template(TABLE))

    def store(client: Any) -> DynamoDBMetricsStore:
        return DynamoDBMetricsStore(
            client,
            TABLE,
            caps=metrics.caps(),
            metrics=metrics,
            partitions=[m.partition for m in metrics],
            sleep=lambda s: None,
        )

    a, b = store(mine), store(theirs)
    earlier = [waiting("p0", None, "Latte")]
    a_batch = [
        waiting("p0", None, "Latte"),  # a duplicate: its marker exists
        waiting("p1", None, "Mocha"),  # registers Mocha
        waiting("w1", "o1", "Espresso"),
        completed("k1", "o1"),
        waiting("p3", None, "Chai"),  # B registers Chai meanwhile
    ]
    b_batch = [cancelled("c1", "o1"), waiting("p2", None, "Chai"), waiting("p3", None, "Chai")]
    a.apply([counted(e, metrics) for e in earlier])

    sent: list[list[str]] = []

    def concurrent_writer(request: Any, **_: Any) -> None:
        items = json.loads(request.body)["TransactItems"]
        sent.append(
            [next(iter(i.values())).get("Key", {}).get("PK", {}).get("S", "") for i in items]
        )
        if len(sent) == 1:
            assert b.apply([counted(e, metrics) for e in b_batch]).counted == {"c1", "p2", "p3"}

    mine.meta.events.register("before-send.dynamodb.TransactWriteItems", concurrent_writer)
    result = a.apply([counted(e, metrics) for e in a_batch])
    assert result.counted == {"p1", "w1", "k1"}
    assert result.duplicates == {"p0", "p3"}
    assert len(sent) >= 2  # the first attempt was cancelled and recomputed

    reference = SqliteMetricsStore(
        Database(tmp_path / "ref.db"), caps=metrics.caps(), metrics=metrics
    )
    everything = {e["id"]: e for e in [*earlier, *a_batch, *b_batch]}.values()
    reference.apply([counted(e, metrics) for e in sorted(everything, key=lambda e: e["time"])])
    assert figures(a, metrics) == figures(reference, metrics)
