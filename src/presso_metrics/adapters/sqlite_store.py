"""The embedded metrics table: exactly-once counting in one SQL transaction per batch.

Markers go in with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, which tells which events are
new; the events of an order are merged into the order's stored events (its markers are there),
which gives the change of its correlated figures; the summed increments of the new events and
those changes are then upserted (``ON CONFLICT DO UPDATE SET val = val + excluded.val``). All of
it commits together or not at all.

A deadline bounds the wait for the write lock: the batch is reported failed rather than waiting
past it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta

import orjson

from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.domain.caps import DimensionCap, apply_caps
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent, sum_increments
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, marker_expiry
from presso_metrics.domain.lifecycle import decode_state, encode_state, merge, order_too_large
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.exceptions import StoreUnavailableError
from presso_metrics.ports import ApplyResult, Counter

log = logging.getLogger("presso_metrics.sqlite_store")

# Database.write sleeps between its attempts to take the write lock: at most this much in all.
_LOCK_RETRY_SLEEPS = 1.0


@contextlib.contextmanager
def lock_wait_until(db: Database, deadline: float | None) -> Iterator[None]:
    """Bound the waits for the write lock in this block (this thread) by ``deadline``: the
    database's attempts to take it share the time left (SQLite's busy timeout is per
    attempt). An inner block can only shorten the wait."""
    if deadline is None:
        yield
        return
    conn = db.connection
    (before,) = conn.execute("PRAGMA busy_timeout").fetchone()
    left = max(deadline - time.monotonic(), 0.0)
    per_attempt = max(left - _LOCK_RETRY_SLEEPS, left / 2) / max(db.write_attempts, 1)
    conn.execute(f"PRAGMA busy_timeout = {min(int(per_attempt * 1000), int(before))}")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA busy_timeout = {int(before)}")


_INSERT_MARKERS = """
    INSERT INTO markers (id, expires_at, fingerprint)
    SELECT value ->> 0, ?, value ->> 1 FROM json_each(?) WHERE true
    ON CONFLICT (id) DO NOTHING
    RETURNING id
"""
_UPSERT_COUNTERS = """
    INSERT INTO counters (pk, sk, attr, val)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3
    FROM json_each(?) WHERE true
    ON CONFLICT (pk, sk, attr) DO UPDATE SET val = val + excluded.val
"""
_UPSERT_ORDERS = """
    INSERT INTO orders (key, state, events, version, expires_at)
    SELECT value ->> 0, value ->> 1, value ->> 2, 1, ? FROM json_each(?) WHERE true
    ON CONFLICT (key) DO UPDATE SET
        state = excluded.state, events = excluded.events, version = version + 1,
        expires_at = excluded.expires_at
"""


class SqliteMetricsStore:
    def __init__(
        self,
        db: Database,
        *,
        caps: Mapping[str, DimensionCap] | None = None,
        metrics: MetricSet | None = None,
        marker_ttl: timedelta = DEFAULT_DEDUP_HORIZON,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.caps = dict(caps or {})
        self.metrics = metrics  # needed to count the events of orders
        self.marker_ttl = marker_ttl
        self.clock = clock

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        result = ApplyResult()
        if not events:
            return result
        expires = marker_expiry(self.clock(), self.marker_ttl)
        by_marker = {e.marker: e for e in events}
        plain = [e for e in by_marker.values() if e.order_key is None]
        orders: dict[str, list[CountedEvent]] = {}
        for e in by_marker.values():
            if e.order_key is not None:
                orders.setdefault(e.order_key, []).append(e)
        try:
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreUnavailableError("the deadline was reached before it was written")
            with lock_wait_until(self.db, deadline), self.db.write() as conn:
                new = self._insert_markers(conn, plain, expires, result)
                # In arrival order, so a cap admits the first new values it meets.
                sums = sum_increments(e for e in plain if e.marker in new)
                if orders:
                    self._merge_orders(conn, orders, expires, sums, result)
                if self.caps:
                    sums = self._capped(conn, sums)
                if sums:
                    rows = [(k.partition, k.sort_key, k.attribute, n) for k, n in sums.items()]
                    conn.execute(_UPSERT_COUNTERS, (orjson.dumps(rows),))
        except StoreUnavailableError as e:
            return ApplyResult(failed={m: str(e) for m in by_marker})
        result.counted |= new
        return result

    def _insert_markers(
        self,
        conn: sqlite3.Connection,
        events: list[CountedEvent],
        expires: int,
        result: ApplyResult,
    ) -> set[str]:
        if not events:
            return set()
        rows = orjson.dumps([(e.marker, e.fingerprint or None) for e in events])
        new = {row[0] for row in conn.execute(_INSERT_MARKERS, (expires, rows))}
        duplicates = [e.marker for e in events if e.marker not in new]
        if duplicates:
            result.duplicates.update(duplicates)
            for marker, fingerprint in conn.execute(
                "SELECT id, fingerprint FROM markers WHERE id IN (SELECT value FROM json_each(?))",
                (orjson.dumps(duplicates),),
            ):
                if fingerprint:
                    result.previous[marker] = fingerprint
        return new

    def _merge_orders(
        self,
        conn: sqlite3.Connection,
        orders: dict[str, list[CountedEvent]],
        expires: int,
        sums: dict[CounterKey, int],
        result: ApplyResult,
    ) -> None:
        """Add the events of each order to its stored events; the change of its figures and
        the plain increments of its new events go into ``sums``."""
        if self.metrics is None:
            raise RuntimeError("counting the events of orders needs the store's metrics")
        stored = dict(
            conn.execute(
                "SELECT key, state FROM orders WHERE key IN (SELECT value FROM json_each(?))",
                (orjson.dumps(list(orders)),),
            ).fetchall()
        )
        writes = []
        for key, events in orders.items():
            arriving = [e.order_event for e in events if e.order_event is not None]
            merged = merge(decode_state(stored.get(key)), arriving, self.metrics)
            counted = {e.marker for e in merged.counted}
            for e in events:
                if e.marker in counted:
                    for k, n in e.increments.items():
                        sums[k] = sums.get(k, 0) + n
            for k, n in merged.delta.items():
                sums[k] = sums.get(k, 0) + n
            result.counted |= counted
            result.duplicates.update(merged.duplicates)
            result.previous.update({m: f for m, f in merged.duplicates.items() if f})
            for refused in merged.refused:
                result.rejected[refused.marker] = order_too_large(key)
            if counted:
                writes.append((key, encode_state(merged.events), len(merged.events)))
        if writes:
            conn.execute(_UPSERT_ORDERS, (expires, orjson.dumps(writes)))

    def _capped(self, db: sqlite3.Connection, sums: dict[CounterKey, int]) -> dict[CounterKey, int]:
        """Apply the metrics' caps on distinct values, registering the values admitted. Runs
        inside the apply transaction, so the registry and the counts commit together."""

        def registry(partition: str, values: list[str]) -> tuple[set[str], int]:
            known = {
                row[0]
                for row in db.execute(
                    "SELECT value FROM dimension_values WHERE pk = ? AND value IN "
                    "(SELECT value FROM json_each(?))",
                    (partition, orjson.dumps(values)),
                )
            }
            (count,) = db.execute(
                "SELECT count(*) FROM dimension_values WHERE pk = ?", (partition,)
            ).fetchone()
            return known, count

        capped = apply_caps(sums, self.caps, registry)
        for partition, admitted in capped.admitted.items():
            db.executemany(
                "INSERT INTO dimension_values (pk, value) VALUES (?, ?)",
                [(partition, v) for v in admitted],
            )
        for partition, refused in capped.refused.items():
            log.warning(
                "partition %s holds %d distinct values, its cap: %d new values counted as %r",
                partition,
                self.caps[partition].max_values,
                len(refused),
                self.caps[partition].overflow_label,
            )
        return capped.sums

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        rows = self.db.connection.execute(
            "SELECT sk, attr, val FROM counters WHERE pk = ? AND sk >= ? AND sk < ? "
            "ORDER BY sk, attr",
            (partition, first_bucket, last_bucket + "~"),
        )
        return [Counter(CounterKey.parse(partition, sk, attr), val) for sk, attr, val in rows]

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        row = self.db.connection.execute(
            "SELECT min(sk), max(sk) FROM counters WHERE pk = ?", (partition,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return row[0].partition("#")[0], row[1].partition("#")[0]

    def is_empty(self) -> bool:
        return self.db.connection.execute("SELECT 1 FROM counters LIMIT 1").fetchone() is None

    def claim_rebuild(self) -> bool:
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM settings WHERE key = 'rebuild'").fetchone():
                return True
            if conn.execute("SELECT 1 FROM counters LIMIT 1").fetchone():
                return False
            conn.execute("INSERT INTO settings (key, value) VALUES ('rebuild', datetime('now'))")
            return True

    def prune_markers(self) -> int:
        """Delete expired markers (DynamoDB's TTL does this on AWS); returns how many."""
        now = int(self.clock())
        with self.db.write() as conn:
            pruned: int = conn.execute("DELETE FROM markers WHERE expires_at < ?", (now,)).rowcount
            pruned += conn.execute("DELETE FROM orders WHERE expires_at < ?", (now,)).rowcount
        if pruned:
            log.info("deleted %d expired dedup markers", pruned)
        return pruned
