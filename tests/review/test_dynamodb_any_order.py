"""DynamoDB: orders delivered in random interleavings, in random batches, with duplicates within
and across batches, give the figures SQLite gives for the same events counted in time order."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from tests.review.support import (
    Stores,
    batch_counter,
    cancelled,
    completed,
    counted,
    default_metrics,
    figures,
    sqs_event,
    waiting,
)

pytestmark = pytest.mark.aws


def shuffled_orders(rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(25):
        order, shop = f"o{n}", rng.choice(["NYC", "BOS"])
        minute = rng.randint(10, 40)
        if rng.random() < 0.9:
            events.append(
                waiting(
                    f"w{n}",
                    order,
                    rng.choice(["Latte", "Mocha", "Chai"]),
                    f"12:{minute}:00",
                    shop=shop,
                )
            )
        if rng.random() < 0.2:
            events.append(waiting(f"v{n}", order, "Tea", f"12:{minute - 1}:30", shop=shop))
        end = f"12:{minute + rng.randint(-1, 15):02d}:{rng.randint(0, 59):02d}"
        fate = rng.random()
        if fate < 0.5:
            events.append(completed(f"k{n}", order, end, shop=shop))
        elif fate < 0.9:
            events.append(cancelled(f"c{n}", order, end, shop=shop))
    events += [waiting(f"p{n}", None, rng.choice(["Latte", "Flat"])) for n in range(15)]
    copies = [rng.choice(events) for _ in range(len(events) // 2)]
    stream = events + copies
    rng.shuffle(stream)
    return stream


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_interleavings_on_dynamodb_match_in_order_counting(
    stores: Stores, tmp_path: Path, seed: int
) -> None:
    if stores.kind != "aws":
        pytest.skip("the embedded store is the reference")
    metrics = default_metrics()
    rng = random.Random(seed)
    stream = shuffled_orders(rng)
    counter = batch_counter(stores.store(metrics), metrics)
    i = 0
    while i < len(stream):
        size = rng.randint(1, 40)
        outcome = counter.process(sqs_event(*stream[i : i + size]))
        assert outcome.failed == 0 and outcome.rejected == 0
        i += size

    reference = SqliteMetricsStore(
        Database(tmp_path / "ref.db"), caps=metrics.caps(), metrics=metrics
    )
    distinct = {e["id"]: e for e in stream}.values()
    reference.apply([counted(e, metrics) for e in sorted(distinct, key=lambda e: e["time"])])
    assert figures(counter.store, metrics) == figures(reference, metrics)
