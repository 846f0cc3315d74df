"""The embedded database: one SQLite file holds the bus, the queues and the metrics table.

- WAL mode, so the dashboard reads while workers write, and several worker processes can
  share the file (each write is a ``BEGIN IMMEDIATE`` transaction).
- ``synchronous=FULL``: a committed batch survives a power cut. A counted event's message is
  deleted right after, so a lost commit would lose the count.
- Schema changes are named migrations, recorded in the ``migrations`` table.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from presso_metrics.adapters.sqlite_readonly import (
    READ_BUSY_TIMEOUT,
    open_readonly,
    wal_state,
)
from presso_metrics.exceptions import ConfigError, StoreUnavailableError

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_metrics_table",
        """
        CREATE TABLE counters (
            pk  TEXT NOT NULL,
            sk  TEXT NOT NULL,
            val INTEGER NOT NULL,
            PRIMARY KEY (pk, sk)
        ) WITHOUT ROWID;
        CREATE TABLE markers (
            id         TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX markers_by_expiry ON markers (expires_at);
        CREATE TABLE dimension_values (
            pk    TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (pk, value)
        ) WITHOUT ROWID;
        CREATE TABLE settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0002_queues",
        """
        CREATE TABLE queues (
            name               TEXT PRIMARY KEY,
            visibility_timeout INTEGER NOT NULL,
            max_receive_count  INTEGER,
            dead_letter_queue  TEXT REFERENCES queues (name),
            created_at         REAL NOT NULL
        );
        CREATE TABLE messages (
            id                INTEGER PRIMARY KEY,
            queue             TEXT NOT NULL REFERENCES queues (name),
            message_id        TEXT NOT NULL UNIQUE,
            body              TEXT NOT NULL,
            attributes        TEXT,
            sent_at           REAL NOT NULL,
            visible_at        REAL NOT NULL,
            receive_count     INTEGER NOT NULL DEFAULT 0,
            first_received_at REAL,
            receipt_handle    TEXT
        );
        CREATE INDEX messages_by_visibility ON messages (queue, visible_at);
        """,
    ),
    (
        "0003_event_bus",
        """
        CREATE TABLE buses (
            name       TEXT PRIMARY KEY,
            created_at REAL NOT NULL
        );
        CREATE TABLE rules (
            bus     TEXT NOT NULL REFERENCES buses (name),
            name    TEXT NOT NULL,
            pattern TEXT NOT NULL,
            state   TEXT NOT NULL DEFAULT 'ENABLED',
            PRIMARY KEY (bus, name)
        );
        CREATE TABLE targets (
            bus   TEXT NOT NULL,
            rule  TEXT NOT NULL,
            id    TEXT NOT NULL,
            queue TEXT NOT NULL REFERENCES queues (name),
            PRIMARY KEY (bus, rule, id),
            FOREIGN KEY (bus, rule) REFERENCES rules (bus, name) ON DELETE CASCADE
        );
        """,
    ),
    (
        "0004_message_dedup",
        """
        ALTER TABLE messages ADD COLUMN dedup_id TEXT;
        CREATE UNIQUE INDEX messages_dedup ON messages (queue, dedup_id)
            WHERE dedup_id IS NOT NULL;
        """,
    ),
    (
        # Nothing looks messages up by message_id (random 128-bit values), and its unique
        # index cost a random-page write per message enqueued and deleted.
        "0005_messages_without_message_id_index",
        """
        CREATE TABLE messages_new (
            id                INTEGER PRIMARY KEY,
            queue             TEXT NOT NULL REFERENCES queues (name),
            message_id        TEXT NOT NULL,
            body              TEXT NOT NULL,
            attributes        TEXT,
            sent_at           REAL NOT NULL,
            visible_at        REAL NOT NULL,
            receive_count     INTEGER NOT NULL DEFAULT 0,
            first_received_at REAL,
            receipt_handle    TEXT,
            dedup_id          TEXT
        );
        INSERT INTO messages_new SELECT id, queue, message_id, body, attributes, sent_at,
            visible_at, receive_count, first_received_at, receipt_handle, dedup_id FROM messages;
        DROP TABLE messages;
        ALTER TABLE messages_new RENAME TO messages;
        CREATE INDEX messages_by_visibility ON messages (queue, visible_at);
        CREATE UNIQUE INDEX messages_dedup ON messages (queue, dedup_id)
            WHERE dedup_id IS NOT NULL;
        """,
    ),
    (
        # The order lifecycle: counters become attributes of an item (a duration's count, sum
        # and histogram change together), each order keeps the events its metrics need, and a
        # marker remembers what its event looked like (to tell a reused id from a redelivery).
        "0006_order_lifecycle",
        """
        CREATE TABLE counters_v2 (
            pk   TEXT NOT NULL,
            sk   TEXT NOT NULL,
            attr TEXT NOT NULL,
            val  INTEGER NOT NULL,
            PRIMARY KEY (pk, sk, attr)
        ) WITHOUT ROWID;
        INSERT INTO counters_v2 (pk, sk, attr, val) SELECT pk, sk, 'val', val FROM counters;
        DROP TABLE counters;
        ALTER TABLE counters_v2 RENAME TO counters;
        CREATE TABLE orders (
            key        TEXT PRIMARY KEY,
            state      TEXT NOT NULL,
            events     INTEGER NOT NULL,
            version    INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX orders_by_expiry ON orders (expires_at);
        ALTER TABLE markers ADD COLUMN fingerprint TEXT;
        """,
    ),
]


def _is_busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


class Database:
    """A SQLite file shared by the embedded adapters; one connection per thread."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        write_attempts: int = 5,
        readonly: bool = False,
        on_open: Callable[[Database], None] | None = None,
    ) -> None:
        """``readonly`` opens the file for reading only (it must exist and be up to date);
        ``on_open`` runs on each new connection (a check that may refuse it by raising)."""
        self.path = str(path)
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self.write_attempts = write_attempts
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrated = False
        self._on_open = on_open

    @property
    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        wal = getattr(self._local, "immutable_wal", False)
        if conn is not None and wal is not False and wal_state(self.path) != wal:
            # A writer has started: an immutable connection would miss its commits.
            self._discard(conn)
            conn = None
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
            if self._on_open is not None:
                try:
                    self._on_open(self)
                except BaseException:
                    self._discard(conn)
                    raise
        return conn

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        self._local.conn = None

    def _open(self) -> sqlite3.Connection:
        if self.readonly:
            return self._open_readonly()
        if self.path != ":memory:":
            parent = Path(self.path).resolve().parent
            if not parent.is_dir():
                raise ConfigError(
                    f"{self.path}: directory {parent} does not exist; create it or pick "
                    "another --db path"
                )
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            # A 64 MB page cache and checkpoints every ~40 MB of WAL: bulk batches stay in
            # memory between commits. Durability is unchanged (every commit is fsynced).
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            conn.execute("PRAGMA journal_size_limit=67108864")
        except sqlite3.DatabaseError as e:
            raise ConfigError(
                f"{self.path}: cannot open as a presso-metrics database ({e}); "
                "is it a SQLite file? pick another --db path"
            ) from None
        if not self._migrated:
            migrate(conn)
            self._migrated = True
        return conn

    def _open_readonly(self) -> sqlite3.Connection:
        """Open for reading only: nothing is created, migrated or written (see
        :mod:`presso_metrics.adapters.sqlite_readonly`)."""
        conn, immutable = open_readonly(
            self.path,
            timeout=min(self.busy_timeout, READ_BUSY_TIMEOUT),
            migrations=[name for name, _ in MIGRATIONS],
        )
        # Immutable: remember the -wal file as it was, to notice a writer (see `connection`).
        self._local.immutable_wal = wal_state(self.path) if immutable else False
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction; committed on success, rolled back on error.

        Waiting for the write lock is retried; if the database stays locked, raises
        :class:`StoreUnavailableError` (a transient failure: the batch is retried later).
        """
        if self.readonly:
            raise RuntimeError(f"{self.path} is open for reading only")
        conn = self.connection
        if conn.in_transaction:  # left open by an earlier failure: start clean
            self._rollback(conn)
            conn = self.connection
        attempts = self.write_attempts
        for attempt in range(attempts):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as e:
                self._rollback(conn)
                if not _is_busy(e) or attempt == attempts - 1:
                    raise StoreUnavailableError(f"{self.path}: database is busy ({e})") from e
                conn = self.connection
                time.sleep(min(0.05 * 2**attempt, 1.0))
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            self._rollback(conn)
            if isinstance(e, sqlite3.OperationalError) and _is_busy(e):
                raise StoreUnavailableError(f"{self.path}: database is busy ({e})") from e
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            # Cannot roll back (the connection is broken): discard it; closing a connection
            # rolls back its transaction, and this thread opens a fresh one next time.
            with contextlib.suppress(sqlite3.Error):
                conn.close()
            self._local.conn = None

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    """The migrations the database lacks (all of them if it has no ``migrations`` table)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
    ).fetchone()
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")} if has_table else set()
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded in the database; return their names."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    if all(name in done for name, _ in MIGRATIONS):
        return []
    applied = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, datetime('now'))", (name,)
            )
            applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied
