"""SQLite: the events of the same orders split between two worker processes writing at once give
the figures of one process counting them all, in order."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from tests.review.support import (
    cancelled,
    completed,
    counted,
    default_metrics,
    figures,
    waiting,
)

pytestmark = pytest.mark.integration


def stream(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(60):
        order = f"o{n}"
        minute = 10 + n % 40
        events.append(waiting(f"w{n}", order, rng.choice(["Latte", "Mocha"]), f"12:{minute}:00"))
        end = f"12:{minute + rng.randint(0, 9):02d}:{rng.randint(0, 59):02d}"
        if n % 3:
            events.append(completed(f"k{n}", order, end))
        else:
            events.append(cancelled(f"c{n}", order, end))
        if n % 5 == 0:  # a second WaitingCompletion, earlier, with another drink
            events.append(waiting(f"v{n}", order, "Chai", f"12:{minute - 1:02d}:00"))
    rng.shuffle(events)
    return events


def consume(path: str, events: list[dict[str, Any]], batch: int) -> None:
    metrics = default_metrics()
    db = Database(path, busy_timeout=30)
    store = SqliteMetricsStore(db, caps=metrics.caps(), metrics=metrics)
    for i in range(0, len(events), batch):
        part = [counted(e, metrics) for e in events[i : i + batch]]
        while store.apply(part).failed:
            pass  # locked: the same batch again, as a redelivery would
    db.close()


def test_two_processes_sharing_orders_count_each_event_once(tmp_path: Path) -> None:
    metrics = default_metrics()
    events = stream(7)
    # Each process gets every event once, the other every second one again: both race on
    # the same orders, duplicates included.
    ctx = multiprocessing.get_context("spawn")
    path = str(tmp_path / "shared.db")
    Database(path).close()
    workers = [
        ctx.Process(target=consume, args=(path, events, 3)),
        ctx.Process(target=consume, args=(path, list(reversed(events))[::2], 2)),
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0

    reference = Database(tmp_path / "one.db")
    one = SqliteMetricsStore(reference, caps=metrics.caps(), metrics=metrics)
    ordered = sorted(events, key=lambda e: e["time"])
    one.apply([counted(e, metrics) for e in ordered])
    shared = SqliteMetricsStore(Database(path), caps=metrics.caps(), metrics=metrics)
    assert figures(shared, metrics) == figures(one, metrics)
