"""The embedded metrics table: exactly-once counting in one SQL transaction per batch.

Markers go in with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, which tells which events are
new; the summed increments of the new ones are then upserted
(``ON CONFLICT DO UPDATE SET val = val + excluded.val``). Both commit together or not at all.

SQLite refuses nothing DynamoDB would (``rejected`` stays empty). A deadline bounds the wait
for the write lock: the batch is reported failed rather than waiting past it.
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
    INSERT INTO markers (id, expires_at)
    SELECT value, ? FROM json_each(?) WHERE true
    ON CONFLICT (id) DO NOTHING
    RETURNING id
"""
_UPSERT_COUNTERS = """
    INSERT INTO counters (pk, sk, val)
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
    FROM json_each(?) WHERE true
    ON CONFLICT (pk, sk) DO UPDATE SET val = val + excluded.val
"""


class SqliteMetricsStore:
    def __init__(
        self,
        db: Database,
        *,
        caps: Mapping[str, DimensionCap] | None = None,
        marker_ttl: timedelta = DEFAULT_DEDUP_HORIZON,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.caps = dict(caps or {})
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
        try:
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreUnavailableError("the deadline was reached before it was written")
            with lock_wait_until(self.db, deadline), self.db.write() as conn:
                new = {
                    row[0]
                    for row in conn.execute(
                        _INSERT_MARKERS, (expires, orjson.dumps(list(by_marker)))
                    )
                }
                # In arrival order, so a cap admits the first new values it meets.
                sums = sum_increments(e for e in by_marker.values() if e.marker in new)
                if self.caps:
                    sums = self._capped(conn, sums)
                if sums:
                    rows = [(k.partition, k.sort_key, n) for k, n in sums.items()]
                    conn.execute(_UPSERT_COUNTERS, (orjson.dumps(rows),))
        except StoreUnavailableError as e:
            result.failed = {m: str(e) for m in by_marker}
            return result
        result.counted = new
        result.duplicates = set(by_marker) - new
        return result

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
            "SELECT sk, val FROM counters WHERE pk = ? AND sk >= ? AND sk < ? ORDER BY sk",
            (partition, first_bucket, last_bucket + "~"),
        )
        return [Counter(CounterKey.parse(partition, sk), val) for sk, val in rows]

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
        with self.db.write() as conn:
            cur = conn.execute("DELETE FROM markers WHERE expires_at < ?", (int(self.clock()),))
            pruned: int = cur.rowcount
        if pruned:
            log.info("deleted %d expired dedup markers", pruned)
        return pruned
