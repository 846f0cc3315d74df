"""Database files a reader may be pointed at, and the one line each must get: what the file is,
and what to do. Shared by the command-line and the HTTP tests of the read paths."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from presso_metrics.adapters.sqlite_db import MIGRATIONS


def as_reader(command: list[str]) -> list[str]:
    """``command`` run as a user who may only read what others may: root ignores file modes, so
    tests run as root run it as ``nobody`` (with util-linux's setpriv)."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "tests run as root need setpriv (util-linux) to run a command as nobody"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A directory the reader can reach (pytest's tmp_path is private to its owner). Whatever
    is made read-only inside is made writable again to be removed."""
    base = Path(tempfile.mkdtemp(prefix="presso-read-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base)


def make_read_only(directory: Path) -> None:
    """Files 0444 in a directory 0555: nothing in it may be created, changed or removed."""
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)


def snapshot(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file of ``directory``: its mode and a hash of its bytes."""
    return {
        path.name: (path.stat().st_mode, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(directory.iterdir())
    }


def leave_wal_files(db: Path, *, commit: bool) -> None:
    """A process that opens ``db`` as a writer and dies without closing it, as a crash or a
    running worker leaves it: ``-wal`` and ``-shm`` beside the file; with ``commit``, a commit
    still in the ``-wal`` (not yet folded into the file)."""
    code = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL')\n"
        "c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute('SELECT count(*) FROM counters').fetchone()\n"
        "if sys.argv[2] == '1':\n"
        "    c.execute(\"INSERT INTO counters VALUES ('Aggregate', '2022-10-15#TotalSales', "
        "'val', 1)\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db), "1" if commit else "0"], check=True)


@dataclass(frozen=True)
class Hostile:
    """A bad database file: how to make it from a good one, and what the reader must be told."""

    name: str
    make: Callable[[Path, Path], None]  # (a good database, where to put the bad one)
    says: str  # what the file is
    fix: Callable[[Path], str]  # what to do, for a file at that path


def _not_sqlite(good: Path, db: Path) -> None:
    db.write_bytes(b"order_id,drink\n1,Americano\n" * 200)


# The last migration undone: the database as the previous version left it. (When a migration is
# added, this becomes the undoing of the new one.)
UNDO_LAST_MIGRATION = """
    CREATE TABLE counters_old (
        pk TEXT NOT NULL, sk TEXT NOT NULL, val INTEGER NOT NULL, PRIMARY KEY (pk, sk)
    ) WITHOUT ROWID;
    INSERT INTO counters_old SELECT pk, sk, val FROM counters WHERE attr = 'val';
    DROP TABLE counters;
    ALTER TABLE counters_old RENAME TO counters;
    DROP TABLE orders;
    ALTER TABLE markers DROP COLUMN fingerprint
"""


def _needs_migration(good: Path, db: Path) -> None:
    shutil.copy(good, db)
    conn = sqlite3.connect(db, isolation_level=None)
    assert MIGRATIONS[-1][0] == "0006_order_lifecycle", "update UNDO_LAST_MIGRATION"
    for statement in UNDO_LAST_MIGRATION.split(";"):
        conn.execute(statement)
    conn.execute("DELETE FROM migrations WHERE name = ?", (MIGRATIONS[-1][0],))
    conn.close()


def _foreign(good: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, drink TEXT)")
    conn.execute("INSERT INTO orders (drink) VALUES ('Americano')")
    conn.commit()
    conn.close()


def _empty(good: Path, db: Path) -> None:
    db.write_bytes(b"")


def _unmerged_wal(good: Path, db: Path) -> None:
    shutil.copy(good, db)
    leave_wal_files(db, commit=True)
    db.with_name(db.name + "-shm").unlink()


def _init(db: Path) -> str:
    return f"presso-metrics init --db {db}"


HOSTILE = [
    Hostile(
        "not-sqlite",
        _not_sqlite,
        "is not a SQLite database",
        lambda db: "point --db at the file `presso-metrics init`",
    ),
    Hostile(
        "needs-migration",
        _needs_migration,
        "was written by an older presso-metrics and needs its schema updated",
        _init,
    ),
    Hostile(
        "another-applications-database",
        _foreign,
        "is a SQLite database but not a presso-metrics one",
        lambda db: "point --db at the file `presso-metrics init`",
    ),
    Hostile("empty-file", _empty, "is an empty database", _init),
    Hostile(
        "commits-in-an-unreadable-wal",
        _unmerged_wal,
        "has commits in its write-ahead log",
        lambda db: f"run `{_init(db)}` once as a user who may write there",
    ),
]
