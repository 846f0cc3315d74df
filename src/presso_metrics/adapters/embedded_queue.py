"""An SQS-like queue in the embedded SQLite file.

SQS semantics, kept across processes and crashes: ``receive`` hides messages for the visibility
timeout and counts receives; ``delete`` acknowledges by receipt handle; a message received more
than ``max_receive_count`` times moves to the dead-letter queue instead of being delivered. A
worker that dies loses nothing: its messages reappear when their visibility timeout ends.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.exceptions import NotFoundError, QueueError
from presso_metrics.ports import OutgoingMessage, QueueDepth, ReceivedMessage

MAX_MESSAGE_BYTES = 1024 * 1024  # SQS's limit on body plus attributes
LOCAL_REGION = "local"
LOCAL_ACCOUNT = "000000000000"

_CANDIDATES = """
    SELECT id, receive_count FROM messages
    WHERE queue = ? AND visible_at <= ?
    ORDER BY visible_at, id LIMIT ?
"""
_RECEIVE = """
    UPDATE messages
    SET visible_at = :visible_at,
        receive_count = receive_count + 1,
        first_received_at = coalesce(first_received_at, :now),
        receipt_handle = id || '-' || lower(hex(randomblob(8)))
    WHERE id IN (SELECT value FROM json_each(:ids))
    RETURNING message_id, receipt_handle, body, attributes, receive_count, sent_at,
              first_received_at
"""
_REDRIVE = """
    UPDATE messages SET queue = :dlq, visible_at = :now, receipt_handle = NULL
    WHERE id IN (SELECT value FROM json_each(:ids))
"""


@dataclass(frozen=True)
class QueueConfig:
    name: str
    visibility_timeout: int
    max_receive_count: int | None
    dead_letter_queue: str | None


def create_queue(
    db: Database,
    name: str,
    *,
    visibility_timeout: int = 30,
    dead_letter_queue: str | None = None,
    max_receive_count: int | None = None,
) -> QueueConfig:
    """Create the queue, or update its settings if it exists (idempotent)."""
    if dead_letter_queue is not None and max_receive_count is None:
        raise QueueError("a redrive policy needs max_receive_count")
    with db.write() as conn:
        conn.execute(
            """
            INSERT INTO queues (name, visibility_timeout, max_receive_count, dead_letter_queue,
                                created_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET
                visibility_timeout = excluded.visibility_timeout,
                max_receive_count = excluded.max_receive_count,
                dead_letter_queue = excluded.dead_letter_queue
            """,
            (name, visibility_timeout, max_receive_count, dead_letter_queue, time.time()),
        )
    return QueueConfig(name, visibility_timeout, max_receive_count, dead_letter_queue)


def queue_config(conn: sqlite3.Connection, name: str) -> QueueConfig:
    row = conn.execute(
        "SELECT visibility_timeout, max_receive_count, dead_letter_queue FROM queues "
        "WHERE name = ?",
        (name,),
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"queue {name!r} does not exist in this database; run `presso-metrics init` "
            "(or `presso-metrics demo`) to create the embedded stack"
        )
    return QueueConfig(name, row[0], row[1], row[2])


def insert_messages(
    conn: sqlite3.Connection,
    queue: str,
    rows: Sequence[tuple[str, str | None]] | Sequence[tuple[str, str | None, str | None]],
    now: float,
) -> None:
    """Insert already-encoded messages ``(body, attributes, [dedup id])``; the caller holds the
    write transaction. A message whose dedup id the queue already holds is not added again."""
    # Message ids are random 128-bit values made by SQLite (a uuid4 per message in Python
    # costs as much as the insert itself).
    conn.executemany(
        "INSERT INTO messages (queue, message_id, body, attributes, sent_at, visible_at, "
        "dedup_id) VALUES (?, lower(hex(randomblob(16))), ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(queue, row[0], row[1], now, now, row[2] if len(row) > 2 else None) for row in rows],
    )


class EmbeddedQueue:
    def __init__(self, db: Database, name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.region = LOCAL_REGION
        self.arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"
        self._config: QueueConfig | None = None

    @property
    def config(self) -> QueueConfig:
        if self._config is None:
            self._config = queue_config(self.db.connection, self.name)
        return self._config

    @property
    def visibility_timeout(self) -> int:
        """The queue's default visibility timeout, in seconds."""
        return self.config.visibility_timeout

    def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        self.config  # noqa: B018 - fail early and clearly if the queue does not exist
        errors: list[str] = []
        rows: list[tuple[str, str | None, str | None]] = []
        for m in messages:
            try:
                size = len(m.body.encode("utf-8"))
            except UnicodeEncodeError:
                errors.append("the body is not valid Unicode text (it holds lone surrogates)")
                continue
            attributes = orjson.dumps(dict(m.attributes)).decode() if m.attributes else None
            size += len(attributes or "")
            if size > MAX_MESSAGE_BYTES:
                errors.append(f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
                continue
            errors.append("")
            rows.append((m.body, attributes, m.dedup_id))
        if rows:
            with self.db.write() as conn:
                insert_messages(conn, self.name, rows, self.clock())
        return errors

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        deadline = time.monotonic() + wait_seconds
        while True:
            messages = self._receive_once(max_messages, visibility_timeout)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))

    def _receive_once(self, limit: int, visibility_timeout: int | None) -> list[ReceivedMessage]:
        config = self.config
        vt = config.visibility_timeout if visibility_timeout is None else visibility_timeout
        now = self.clock()
        limit_receives = config.max_receive_count if config.dead_letter_queue else None
        with self.db.write() as conn:
            candidates = conn.execute(_CANDIDATES, (self.name, now, limit)).fetchall()
            if not candidates:
                return []
            # A message received max_receive_count times already goes to the dead-letter
            # queue instead of being delivered again (SQS's redrive policy).
            dead = [i for i, count in candidates if limit_receives and count >= limit_receives]
            if dead:
                conn.execute(
                    _REDRIVE,
                    {"dlq": config.dead_letter_queue, "now": now, "ids": orjson.dumps(dead)},
                )
            take = [
                i for i, count in candidates if not (limit_receives and count >= limit_receives)
            ]
            if not take:
                return []
            rows = conn.execute(
                _RECEIVE, {"now": now, "visible_at": now + vt, "ids": orjson.dumps(take)}
            ).fetchall()
        return [_received(row) for row in rows]

    def delete(self, receipt_handles: Sequence[str]) -> None:
        params = []
        for handle in receipt_handles:
            row_id, _, _ = handle.partition("-")
            if row_id.isdigit():
                params.append((int(row_id), handle))
        if params:
            with self.db.write() as conn:
                conn.executemany("DELETE FROM messages WHERE id = ? AND receipt_handle = ?", params)

    def release(self, receipt_handles: Sequence[str]) -> None:
        """Make received messages visible again at once (SQS: a visibility timeout of 0)."""
        params = []
        for handle in receipt_handles:
            row_id, _, _ = handle.partition("-")
            if row_id.isdigit():
                params.append((self.clock(), int(row_id), handle))
        if params:
            with self.db.write() as conn:
                conn.executemany(
                    "UPDATE messages SET visible_at = ?, receipt_handle = NULL "
                    "WHERE id = ? AND receipt_handle = ?",
                    params,
                )

    def depth(self) -> QueueDepth:
        now = self.clock()
        visible, in_flight = self.db.connection.execute(
            "SELECT coalesce(sum(visible_at <= ?), 0), coalesce(sum(visible_at > ?), 0) "
            "FROM messages WHERE queue = ?",
            (now, now, self.name),
        ).fetchone()
        return QueueDepth(visible, in_flight)

    def peek(self, limit: int) -> list[ReceivedMessage]:
        rows = self.db.connection.execute(
            "SELECT message_id, coalesce(receipt_handle, ''), body, attributes, receive_count, "
            "sent_at, first_received_at FROM messages WHERE queue = ? ORDER BY id LIMIT ?",
            (self.name, limit),
        ).fetchall()
        return [_received(row) for row in rows]


def _received(row: tuple[str, str, str, str | None, int, float, float | None]) -> ReceivedMessage:
    message_id, handle, body, attributes, count, sent_at, first = row
    attrs: Mapping[str, str] = orjson.loads(attributes) if attributes else {}
    return ReceivedMessage(
        message_id=message_id,
        receipt_handle=handle,
        body=body,
        receive_count=count,
        sent_timestamp_ms=int(sent_at * 1000),
        first_receive_timestamp_ms=int((first or sent_at) * 1000),
        attributes=attrs,
    )
