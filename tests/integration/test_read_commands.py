"""The commands that read (report, status, dlq list, metrics) change nothing, whatever file they
are pointed at: they run as a user who may only read the database, in a directory that user may
only read, and every byte of every file there is the same afterwards. A file they cannot use gets
one line naming it and the fix, and a non-zero exit: no traceback, no schema written into it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile_databases import (
    HOSTILE,
    Hostile,
    as_reader,
    leave_wal_files,
    make_read_only,
    shared_directory,
    snapshot,
)
from tests.integration.test_web_api import SALES_ROWS, fill

CLI = str(Path(sys.executable).parent / "presso-metrics")
READERS = [["report", "--format", "json"], ["status"], ["dlq", "list", "--format", "json"]]


def run(db: Path, *args: str, reader: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRESSO_METRICS_DB": str(db), "COLUMNS": "200", "HOME": "/tmp"}
    command = as_reader([CLI, *args]) if reader else [CLI, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def outputs(db: Path, *, reader: bool = True) -> dict[str, object]:
    """What each read command prints, parsed (status without its clock)."""
    found: dict[str, object] = {}
    for args in READERS:
        result = run(db, *args, reader=reader)
        assert result.returncode == 0, result.stderr
        value = json.loads(result.stdout)
        if args == ["status"]:
            value.pop("at")
        found[" ".join(args)] = value
    return found


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("read") / "trace.db"
    fill(path)
    assert [p.name for p in path.parent.iterdir()] == ["trace.db"]  # closed: no -wal, no -shm
    return path


@pytest.fixture(scope="module")
def expected(good_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    copy = tmp_path_factory.mktemp("expected") / "trace.db"
    shutil.copy(good_db, copy)
    return outputs(copy, reader=False)


@pytest.fixture
def shared() -> Iterator[Path]:
    with shared_directory() as base:
        yield base


@pytest.mark.parametrize("left_by_writer", [False, True], ids=["file-alone", "with-wal-and-shm"])
def test_read_commands_on_a_database_the_user_may_only_read(
    good_db: Path, expected: dict[str, object], shared: Path, left_by_writer: bool
) -> None:
    # GIVEN the database, 0444 in a directory 0555, alone or with the -wal and -shm a writer left
    folder = shared / "data"
    folder.mkdir()
    db = folder / "trace.db"
    shutil.copy(good_db, db)
    if left_by_writer:
        leave_wal_files(db, commit=False)
        assert {p.name for p in folder.iterdir()} == {"trace.db", "trace.db-wal", "trace.db-shm"}
    make_read_only(folder)
    before = snapshot(folder)
    # WHEN a user who may only read runs every read command
    found = outputs(db)
    metrics = run(db, "metrics", "--format", "json")
    # THEN each answers what it answers on a writable copy, and no byte of the folder changed
    assert found == expected
    assert [r for r in found["report --format json"] if r["metric"] == "sales"] == SALES_ROWS  # type: ignore[attr-defined]
    assert metrics.returncode == 0, metrics.stderr
    assert snapshot(folder) == before


@pytest.mark.parametrize("case", HOSTILE, ids=[h.name for h in HOSTILE])
def test_a_file_the_readers_cannot_use_gets_one_line(
    good_db: Path, shared: Path, case: Hostile
) -> None:
    folder = shared / "data"
    folder.mkdir()
    db = folder / "metrics.db"
    case.make(good_db, db)
    make_read_only(folder)
    before = snapshot(folder)
    for args in READERS:
        result = run(db, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith(f"Error: {db} {case.says}"), (args, lines[0])
        assert case.fix(db) in lines[0], (args, lines[0])
    assert snapshot(folder) == before  # nothing written, no schema created


def test_a_missing_database_is_not_created(shared: Path) -> None:
    db = shared / "typo.db"
    before = snapshot(shared)
    for args in READERS:
        result = run(db, *args)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"Error: no database at {db}; run `presso-metrics demo` or `presso-metrics init` "
            "first, or point --db at one"
        ]
    assert snapshot(shared) == before


def test_a_database_in_a_directory_the_user_may_not_enter(good_db: Path, shared: Path) -> None:
    private = shared / "private"
    private.mkdir()
    db = private / "trace.db"
    shutil.copy(good_db, db)
    private.chmod(0o700 if os.geteuid() == 0 else 0o000)  # root's: nobody may enter
    for args in READERS:
        result = run(db, *args)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"Error: cannot open {db} (Permission denied); check that you may read it and "
            "enter its directory, or point --db at another file"
        ]


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locked_db(good_db: Path, shared: Path) -> Iterator[Path]:
    """The database, held by another process in exclusive locking mode until the test ends."""
    db = shared / "locked.db"
    shutil.copy(good_db, db)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
    try:
        yield db
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(timeout=30)


def test_a_locked_database_gets_one_line(locked_db: Path) -> None:
    started = time.monotonic()
    env = {**os.environ, "PRESSO_METRICS_DB": str(locked_db), "HOME": "/tmp"}
    readers = [
        subprocess.Popen(
            [CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in READERS
    ]
    for process in readers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1 and out == ""
        assert err.splitlines() == [
            f"Error: {locked_db} is locked by another process (database is locked); try again "
            "when it is done, or stop the process holding it"
        ]
    # Readers give up after a few seconds (they never wait for a writer in WAL mode, only for
    # a connection holding the file exclusively), not after the writers' 30.
    assert time.monotonic() - started < 25  # (a bound between the two, not a speed goal)


def test_a_deeply_nested_metrics_file_gets_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("[metrics.sales]\nevents = " + "[" * 10_000 + "]" * 10_000 + "\n")
    result = run(tmp_path / "unused.db", "metrics", "--metrics", str(deep), reader=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: {deep}: tables and arrays are nested more than 32 levels deep; a metrics file "
        "needs only a few (see the packaged metrics.toml)"
    ]
