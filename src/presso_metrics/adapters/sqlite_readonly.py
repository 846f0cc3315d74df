"""Opening the embedded database for reading only: nothing is created, migrated or written.

A WAL database is read with ``mode=ro``. SQLite then needs the ``-shm`` file beside the database
(it creates it, and the ``-wal``, when the directory may be written). When it cannot (a directory
the user may only read, and no ``-shm`` left by a writer), the file is opened ``immutable=1``:
SQLite reads it without any lock or shared memory. That is exact while nothing writes the file,
so it is used only when the write-ahead log is absent or empty (nothing in it is missing from the
file), and the connection is reopened normally as soon as the ``-wal`` file appears or changes (a
writer has started; see :func:`wal_state`).

Every failure is a :class:`PressoMetricsError` whose message names the file and the fix: a file
that is not a SQLite database, one that is not presso-metrics', one that needs a migration, a
locked one (:class:`StoreUnavailableError`: try again), one that cannot be read at all.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from presso_metrics.exceptions import ConfigError, PressoMetricsError, StoreUnavailableError

# A reader waits this long at most for a lock. In WAL mode readers never wait for writers; only
# a connection in exclusive locking mode (or a recovery) holds them off, so a longer wait would
# only delay the message saying so.
READ_BUSY_TIMEOUT = 5.0

# SQLite's answers when it cannot create or map the -shm file of a read-only opening.
_NO_SHARED_MEMORY = {
    "SQLITE_READONLY_DIRECTORY",
    "SQLITE_READONLY_CANTINIT",
    "SQLITE_READONLY_CANTLOCK",
    "SQLITE_CANTOPEN",
}


class _NoSharedMemoryError(ConfigError):
    """The -shm file cannot be created: the caller may fall back to an immutable opening."""


def _init_command(path: str) -> str:
    return f"presso-metrics init --db {shlex.quote(path)}"


def read_error(path: str, e: sqlite3.Error) -> PressoMetricsError:
    """What a failed read of ``path`` means, and what to do about it."""
    name = getattr(e, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreUnavailableError(
            f"{path} is locked by another process ({e}); try again when it is done, or stop "
            "the process holding it"
        )
    if name == "SQLITE_NOTADB":
        return ConfigError(
            f"{path} is not a SQLite database ({e}); point --db at the file "
            "`presso-metrics init` or `presso-metrics demo` created"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return ConfigError(
            f"{path} is damaged ({e}); restore it from a backup, or point --db at another file"
        )
    if name in _NO_SHARED_MEMORY:
        return _NoSharedMemoryError(
            f"cannot open {path} for reading ({e}); check that you may read it (and its "
            "directory), or copy it to a directory you can write"
        )
    if name.startswith("SQLITE_IOERR"):
        return StoreUnavailableError(f"reading {path} failed ({e}); check the disk it is on")
    return ConfigError(
        f"{path}: cannot read it as a presso-metrics database ({e}); point --db at the "
        "database file"
    )


class ReadCursor(sqlite3.Cursor):
    """A cursor whose SQLite errors become :func:`read_error`'s."""

    path = ""

    def execute(self, sql: str, parameters: Any = (), /) -> ReadCursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.Error as e:
            raise read_error(self.path, e) from e
        return self

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> ReadCursor:
        try:
            super().executemany(sql, parameters)
        except sqlite3.Error as e:
            raise read_error(self.path, e) from e
        return self

    def fetchone(self) -> Any:
        return self._guard(super().fetchone)

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        rows: list[Any] = self._guard(lambda: super(ReadCursor, self).fetchmany(size))
        return rows

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._guard(super().fetchall)
        return rows

    def __next__(self) -> Any:
        return self._guard(super().__next__)

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except sqlite3.Error as e:
            raise read_error(self.path, e) from e


class ReadConnection(sqlite3.Connection):
    """A read-only connection whose SQLite errors name the file and the fix."""

    path = ""

    def _cursor(self) -> ReadCursor:
        cursor = self.cursor(ReadCursor)
        cursor.path = self.path
        return cursor

    def execute(self, sql: str, parameters: Any = (), /) -> ReadCursor:
        return self._cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> ReadCursor:
        return self._cursor().executemany(sql, parameters)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def wal_state(path: str) -> tuple[int, int, int] | None:
    """The ``-wal`` file's size, modification time and inode (None when there is none). An
    immutable connection reopens when it changes: a writer has started."""
    try:
        st = _wal(Path(path)).stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def open_readonly(
    path: str, *, timeout: float, migrations: Sequence[str]
) -> tuple[ReadConnection, bool]:
    """Open ``path`` for reading only and check it is an up-to-date presso-metrics database.
    Returns the connection and whether it is immutable (see the module's docstring)."""
    file = Path(path)
    try:
        exists = file.is_file()
    except OSError as e:  # a directory on the way that may not be entered
        raise ConfigError(
            f"cannot open {path} ({e.strerror}); check that you may read it and enter its "
            "directory, or point --db at another file"
        ) from None
    if not exists:
        raise ConfigError(
            f"no database at {path}; run `presso-metrics demo` or `presso-metrics init` "
            "first, or point --db at one"
        )
    try:
        return _checked(path, file, "mode=ro", timeout, migrations), False
    except _NoSharedMemoryError:
        if not os.access(file, os.R_OK):
            raise
    wal = _wal(file)
    if wal.exists() and wal.stat().st_size > 0:
        raise ConfigError(
            f"{path} has commits in its write-ahead log ({wal.name}) that cannot be read without "
            f"writing to {file.parent}; run `{_init_command(path)}` once as a user who may "
            "write there (it folds the log into the file), or copy both files to a directory "
            "you can write"
        )
    return _checked(path, file, "mode=ro&immutable=1", timeout, migrations), True


def _checked(
    path: str,
    file: Path,
    mode: str,
    timeout: float,
    migrations: Sequence[str],
) -> ReadConnection:
    try:
        conn = sqlite3.connect(
            f"{file.resolve().as_uri()}?{mode}",
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=ReadConnection,
        )
    except sqlite3.Error as e:
        raise read_error(path, e) from e
    assert isinstance(conn, ReadConnection)
    conn.path = path
    try:
        _check_schema(path, conn, migrations)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_schema(path: str, conn: ReadConnection, migrations: Sequence[str]) -> None:
    """The file holds presso-metrics' tables, with every migration this version knows."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        raise ConfigError(
            f"{path} is an empty database; run `{_init_command(path)}` to create the "
            "presso-metrics tables in it, or point --db at another file"
        )
    done = set()
    if "migrations" in tables:
        done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    if not done & set(migrations):
        raise ConfigError(
            f"{path} is a SQLite database but not a presso-metrics one (it records none of "
            "presso-metrics' migrations); point --db at the file `presso-metrics init` or "
            "`presso-metrics demo` created"
        )
    pending = [name for name in migrations if name not in done]
    if pending:
        raise ConfigError(
            f"{path} was written by an older presso-metrics and needs its schema updated "
            f"({', '.join(pending)}); run `{_init_command(path)}`"
        )
