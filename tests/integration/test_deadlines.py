"""Deadlines on the embedded backend: a locked database does not keep a batch past its deadline,
and the worker gives each batch a deadline below its messages' visibility timeout."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from presso_metrics import bootstrap
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counting import CountedEvent, CounterKey
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from presso_metrics.ports import OutgoingMessage
from presso_metrics.service import BatchCounter, BatchOutcome
from tests.conftest import load_event


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A database whose write lock another process holds (as a stuck writer would)."""
    path = tmp_path / "locked.db"
    Database(path).connection  # noqa: B018 - create and migrate it
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


def sale(event_id: str) -> CountedEvent:
    return CountedEvent(event_id, {CounterKey("Aggregate", "2024-05-01", "TotalSales"): 1})


def test_a_locked_database_does_not_hold_a_batch_past_its_deadline(locked: Path) -> None:
    # The database waits up to 30 s for the lock, five times: 150 s. The deadline wins.
    store = SqliteMetricsStore(Database(locked, busy_timeout=30, write_attempts=5))
    start = time.monotonic()
    result = store.apply([sale("e1"), sale("e2")], deadline=start + 2)
    elapsed = time.monotonic() - start
    assert set(result.failed) == {"e1", "e2"} and "busy" in result.failed["e1"]
    assert elapsed < 3, elapsed  # the deadline, and the database's last short sleep
    # Afterwards the connection waits as long as it did before.
    assert store.db.connection.execute("PRAGMA busy_timeout").fetchone() == (30_000,)


def test_a_deadline_already_past_writes_nothing(tmp_path: Path) -> None:
    store = SqliteMetricsStore(Database(tmp_path / "m.db"))
    result = store.apply([sale("e1")], deadline=time.monotonic() - 1)
    assert set(result.failed) == {"e1"} and store.is_empty()


def test_dead_lettering_on_a_locked_database_stops_at_the_deadline(locked: Path) -> None:
    stack = bootstrap.build(Settings(db=str(locked)))
    try:
        batch = load_event("sqs-batch.json")
        start = time.monotonic()
        outcome = stack.processor.process(batch, deadline=start + 3)
        elapsed = time.monotonic() - start
    finally:
        stack.close()
    # Neither the events nor the rejected records could be written: all come back.
    assert sorted(outcome.item_failures) == sorted(r["messageId"] for r in batch["Records"])
    assert elapsed < 4.5, elapsed


class Recording(BatchCounter):
    """Records the deadline each batch gets, and when its receive started."""

    def __init__(self, inner: BatchCounter) -> None:
        self.__dict__.update(inner.__dict__)
        self.deadlines: list[float | None] = []

    def process(self, event: Mapping[str, Any], deadline: float | None = None) -> BatchOutcome:
        self.deadlines.append(deadline)
        return super().process(event, deadline)


def test_the_worker_gives_each_batch_a_deadline_below_the_visibility_timeout(
    tmp_path: Path,
) -> None:
    settings = Settings(db=str(tmp_path / "w.db"), visibility_timeout=10)
    stack = bootstrap.build(settings, provision=True)
    try:
        body = json.dumps(load_event("waiting-completion.json"))
        stack.queue.send([OutgoingMessage(body)])
        recording = Recording(stack.processor)
        start = time.monotonic()
        stats = consume(stack.queue, recording, WorkerOptions(drain=True, poll_seconds=0.1))
        (deadline,) = recording.deadlines
    finally:
        stack.close()
    assert stats.counted == 1
    assert deadline is not None and 8 <= deadline - start <= 8.5  # 80 % of 10 s


def test_a_batching_window_that_leaves_no_time_is_refused(tmp_path: Path) -> None:
    stack = bootstrap.build(
        Settings(db=str(tmp_path / "w.db"), visibility_timeout=10), provision=True
    )
    try:
        with pytest.raises(ValueError, match="batching window of 9 s leaves no time"):
            consume(stack.queue, stack.processor, WorkerOptions(batching_window=9, drain=True))
    finally:
        stack.close()
