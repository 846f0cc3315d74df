"""The embedded pipeline, end to end, against the seed's strategy and the SQLite ceiling.

- pipeline: events published on the embedded bus, routed to the queue, drained by the worker
  (the batch processor the Lambda handler uses), counters committed. Durable: WAL with
  synchronous=FULL.
- seed strategy: the seed's consumer over the same SQLite store and settings: per event, one
  transaction with two counter updates (its total and its drink), no dedup markers.
- ceiling: the durable work the pipeline cannot avoid, as plain SQL in large transactions and
  no Python between: the same bodies enqueued, their markers inserted, the messages deleted.
"""

from __future__ import annotations

import gc
import multiprocessing
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.data import realistic_stream
from presso_metrics import bootstrap
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from presso_metrics.ports import ApplyResult

BATCH = 5000  # a Lambda batch reaches 10,000 messages with a batching window
PUBLISH_CHUNK = 1000


def run_pipeline(events: list[dict[str, Any]], workdir: Path) -> dict[str, float]:
    stack = bootstrap.build(Settings(db=str(workdir / "pipeline.db")), provision=True)
    try:
        start = time.perf_counter()
        for i in range(0, len(events), PUBLISH_CHUNK):
            stack.bus.publish(events[i : i + PUBLISH_CHUNK])
        published = time.perf_counter()
        stats = consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=BATCH, drain=True, poll_seconds=0.01),
        )
        done = time.perf_counter()
        assert stats.failed == 0 and stats.received == len(events), stats
    finally:
        stack.close()
    return {
        "seconds": done - start,
        "publish_seconds": published - start,
        "drain_seconds": done - published,
        "events_per_s": len(events) / (done - start),
        "counted": stats.counted,
        "duplicates": stats.duplicates,
    }


def _publish_all(db: str, events: list[dict[str, Any]]) -> None:
    stack = bootstrap.build(Settings(db=db))
    try:
        for i in range(0, len(events), PUBLISH_CHUNK):
            stack.bus.publish(events[i : i + PUBLISH_CHUNK])
    finally:
        stack.close()


def run_pipeline_concurrent(
    events: list[dict[str, Any]], workdir: Path, consumers: int = 2
) -> dict[str, float]:
    """As deployed: the shop publishes while `consumers` worker processes drain the queue
    (the worker's --concurrency), one per core of this machine."""
    db = str(workdir / "concurrent.db")
    bootstrap.build(Settings(db=db), provision=True).close()  # create the embedded stack
    context = multiprocessing.get_context("fork")
    counted = context.Value("i", 0)
    start = time.perf_counter()
    publisher = context.Process(target=_publish_all, args=(db, events))
    publisher.start()
    workers = [
        context.Process(target=_consume_until, args=(db, len(events), counted))
        for _ in range(consumers)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done = time.perf_counter()
    publisher.join()
    assert counted.value >= len(events), counted.value
    return {
        "seconds": done - start,
        "events_per_s": len(events) / (done - start),
        "consumers": consumers,
    }


def _consume_until(db: str, total: int, received: Any) -> None:
    stack = bootstrap.build(Settings(db=db))
    stop = threading.Event()

    def on_batch(outcome: Any) -> None:
        with received.get_lock():
            received.value += outcome.received
            if received.value >= total:
                stop.set()

    def watch() -> None:  # another consumer may take the last batch
        while not stop.is_set():
            if received.value >= total:
                stop.set()
            time.sleep(0.01)

    threading.Thread(target=watch, daemon=True).start()
    try:
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=BATCH, poll_seconds=0.01),
            stop=stop,
            on_batch=on_batch,
        )
    finally:
        stack.close()


def _durable(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE counters (pk TEXT, sk TEXT, val INTEGER, PRIMARY KEY (pk, sk)) WITHOUT ROWID"
    )
    return conn


class SeedStrategyStore(SqliteMetricsStore):
    """The seed's consumer over the same SQLite store: for each event, one transaction with two
    counter updates (its total and its dimension), no dedup markers (so every redelivery counts
    again). Same durability settings: each commit is fsynced."""

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        conn = self.db.connection
        upsert = (
            "INSERT INTO counters (pk, sk, attr, val) VALUES (?, ?, 'val', 1) "
            "ON CONFLICT (pk, sk, attr) DO UPDATE SET val = val + 1"
        )
        for event in events:
            two = list(event.increments)[:2]
            conn.execute("BEGIN IMMEDIATE")
            for key in two:
                conn.execute(upsert, (key.partition, key.sort_key))
            conn.execute("COMMIT")
        return ApplyResult(counted={e.marker for e in events})


def run_seed_pipeline(events: list[dict[str, Any]], workdir: Path) -> dict[str, float]:
    """The same pipeline (bus, queue, worker, batch processor) with the seed's store."""
    stack = bootstrap.build(Settings(db=str(workdir / "seed-pipeline.db")), provision=True)
    stack.processor.store = SeedStrategyStore(stack.store.db)  # type: ignore[attr-defined]
    try:
        start = time.perf_counter()
        for i in range(0, len(events), PUBLISH_CHUNK):
            stack.bus.publish(events[i : i + PUBLISH_CHUNK])
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=BATCH, drain=True, poll_seconds=0.01),
        )
        seconds = time.perf_counter() - start
    finally:
        stack.close()
    return {"seconds": seconds, "events_per_s": len(events) / seconds}


def run_seed_strategy(events: list[dict[str, Any]], workdir: Path) -> dict[str, float]:
    """The seed's counter writes alone, on parsed events (no bus, no queue): for each event,
    one transaction of two counter updates."""
    bodies = [orjson.dumps(e) for e in events]
    conn = _durable(workdir / "seed.db")
    upsert = (
        "INSERT INTO counters (pk, sk, val) VALUES ('Aggregate', ?, 1) "
        "ON CONFLICT (pk, sk) DO UPDATE SET val = val + 1"
    )
    start = time.perf_counter()
    for body in bodies:
        event = orjson.loads(body)
        day = event["time"][:10]
        order = event["detail"].get("drinkOrder") or (event["detail"].get("order") or {}).get(
            "drinkOrder", {}
        )
        drink = order.get("drink", "unknown")
        conn.execute("BEGIN")
        conn.execute(upsert, (f"{day}#TotalSales",))
        conn.execute(upsert, (f"{day}#{drink}",))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return {"seconds": seconds, "events_per_s": len(events) / seconds}


def run_ceiling(events: list[dict[str, Any]], workdir: Path) -> dict[str, float]:
    """Enqueue, mark and dequeue the same events as plain SQL in large transactions, on the
    product's own schema (its tables and indexes) and durability settings."""
    rows = [(orjson.dumps(e).decode(), e["id"]) for e in events]
    db = Database(workdir / "ceiling.db")
    conn = db.connection  # migrated, WAL, synchronous=FULL, same cache settings
    conn.execute("INSERT INTO queues (name, visibility_timeout, created_at) VALUES ('Q', 30, 0)")
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO messages (queue, message_id, body, sent_at, visible_at) "
            "VALUES ('Q', lower(hex(randomblob(16))), ?, 0, 0)",
            [(body,) for body, _ in rows[i : i + BATCH]],
        )
        conn.execute("COMMIT")
    for i in range(0, len(rows), BATCH):
        part = rows[i : i + BATCH]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO markers (id, expires_at) VALUES (?, 0) ON CONFLICT DO NOTHING",
            [(event_id,) for _, event_id in part],
        )
        conn.execute(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?)",
            (len(part),),
        )
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    db.close()
    return {"seconds": seconds, "events_per_s": len(events) / seconds}


def run(deliveries: int = 100_000) -> dict[str, Any]:
    events = realistic_stream(deliveries)
    # The data set stays alive for the whole run; a worker holds only its batch. Keep the
    # cyclic garbage collector from rescanning the data set on every collection.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        workdir = Path(tmp)
        pipeline = run_pipeline(events, workdir)
        concurrent = run_pipeline_concurrent(events, workdir)
        seed_pipeline = run_seed_pipeline(events, workdir)
        seed_consumer = run_seed_strategy(events, workdir)
        ceiling = run_ceiling(events, workdir)
    p, c = pipeline["events_per_s"], concurrent["events_per_s"]
    seed, ceil = seed_pipeline["events_per_s"], ceiling["events_per_s"]
    return {
        "events": len(events),
        "pipeline": pipeline,
        "pipeline_concurrent": concurrent,
        "seed_strategy": seed_pipeline,
        "seed_consumer_only": seed_consumer,
        "sqlite_ceiling": ceiling,
        "pipeline_events_per_s": round(p),
        "seed_strategy_events_per_s": round(seed),
        "seed_consumer_only_events_per_s": round(seed_consumer["events_per_s"]),
        "sqlite_ceiling_events_per_s": round(ceil),
        "pipeline_over_seed": round(p / seed, 2),
        "pipeline_over_seed_consumer_only": round(p / seed_consumer["events_per_s"], 2),
        "pipeline_over_ceiling": round(p / ceil, 3),
        "pipeline_concurrent_events_per_s": round(c),
        "pipeline_concurrent_over_seed": round(c / seed, 2),
        "pipeline_concurrent_over_ceiling": round(c / ceil, 3),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2))
