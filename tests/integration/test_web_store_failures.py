"""The web API when its store cannot be read: 503 with a JSON body naming the file and the fix,
on /healthz and on the API, through both front ends (the local server and Lambda); and it serves
again, without a restart, once the store can be read."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from presso_metrics import bootstrap
from presso_metrics.adapters.sqlite_db import MIGRATIONS
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.web import create_app
from tests.hostile_databases import HOSTILE, Hostile, snapshot
from tests.integration.test_web_api import SALES_ROWS, fill
from tests.lambda_http import front_end

ROUTES = ["/healthz", "/api/span", "/api/metrics/sales", "/api/metrics/sales?format=csv"]
# Readable by root in a writable directory (the other cases need a reader who may not write).
CASES = [h for h in HOSTILE if h.name != "commits-in-an-unreadable-wal"]


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-failures") / "trace.db"
    fill(path)
    return path


@pytest.fixture(params=["local", "lambda"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_on(db: Path, kind: str) -> Any:
    metrics, store = bootstrap.build_reader(Settings(db=str(db), busy_timeout=0.2))
    return front_end(create_app(metrics, store), kind)


def get(client: Any, route: str) -> Any:
    path, _, query = route.partition("?")
    return client.get(path, params=dict([query.split("=")]) if query else None)


def assert_unavailable(response: Any, *words: str) -> str:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    detail: str = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    for word in words:
        assert word in detail, detail
    return detail


@pytest.mark.parametrize("case", CASES, ids=[h.name for h in CASES])
def test_a_file_that_cannot_be_read_is_a_503(
    good_db: Path, tmp_path: Path, kind: str, case: Hostile
) -> None:
    db = tmp_path / "metrics.db"
    case.make(good_db, db)
    before = db.read_bytes()
    with client_on(db, kind) as client:
        for route in ROUTES:
            assert_unavailable(get(client, route), str(db), case.says, case.fix(db))
    assert db.read_bytes() == before


def test_a_missing_database_is_a_503_until_it_exists(
    good_db: Path, tmp_path: Path, kind: str
) -> None:
    db = tmp_path / "later.db"
    with client_on(db, kind) as client:
        for route in ROUTES:
            assert_unavailable(get(client, route), f"no database at {db}", "presso-metrics init")
        assert not db.exists()  # the reader created nothing
        shutil.copy(good_db, db)  # the worker creates it, say
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/api/metrics/sales").json() == SALES_ROWS


def test_a_database_needing_a_migration_serves_once_migrated(
    good_db: Path, tmp_path: Path, kind: str
) -> None:
    db = tmp_path / "old.db"
    next(h for h in HOSTILE if h.name == "needs-migration").make(good_db, db)
    with client_on(db, kind) as client:
        assert_unavailable(client.get("/api/metrics/sales"), "needs its schema updated")
        bootstrap.provision_stack(Settings(db=str(db)))  # what `presso-metrics init` does
        assert client.get("/api/metrics/sales").json() == SALES_ROWS


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locker(good_db: Path, tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    db = tmp_path / "locked.db"
    shutil.copy(good_db, db)
    process = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "locked\n"
    yield db, process
    if process.poll() is None:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


def test_a_locked_database_is_a_503_to_retry_then_serves(
    locker: tuple[Path, subprocess.Popen[str]], kind: str
) -> None:
    db, process = locker
    with client_on(db, kind) as client:
        for route in ROUTES:
            response = get(client, route)
            assert_unavailable(response, f"{db} is locked by another process", "try again")
            assert response.headers["retry-after"] == "5"
        assert process.stdin is not None
        process.stdin.close()  # the other process lets go
        process.wait(timeout=30)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/api/metrics/sales").json() == SALES_ROWS


def test_a_lock_taken_while_serving_is_a_503(good_db: Path, tmp_path: Path, kind: str) -> None:
    """A read that fails after its connection was opened: the query's own error is the 503, not a
    500 with a traceback. (In WAL mode an open reader keeps others from taking the file
    exclusively, so the file here is in rollback-journal mode, where a writer's exclusive lock
    stops readers.)"""
    db = tmp_path / "served.db"
    shutil.copy(good_db, db)
    sqlite3.connect(db).execute("PRAGMA journal_mode=DELETE").fetchone()
    with client_on(db, kind) as client:
        assert client.get("/api/metrics/sales").json() == SALES_ROWS
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO settings (key, value) VALUES ('held', 'yes')")
        try:
            assert_unavailable(client.get("/api/metrics/sales"), "is locked by another process")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.get("/api/metrics/sales").json() == SALES_ROWS


def test_nothing_is_written_while_failing(good_db: Path, tmp_path: Path, kind: str) -> None:
    db = tmp_path / "old.db"
    next(h for h in HOSTILE if h.name == "needs-migration").make(good_db, db)
    before = snapshot(tmp_path)
    with client_on(db, kind) as client:
        for route in ROUTES:
            assert get(client, route).status_code == 503
    after = snapshot(tmp_path)
    # SQLite's own -shm and -wal may appear beside a WAL database in a writable directory
    # (test_read_commands reads in a directory that cannot be written); the file is untouched.
    assert after["old.db"] == before["old.db"]
    recorded = sqlite3.connect(db).execute("SELECT count(*) FROM migrations").fetchone()[0]
    assert recorded == len(MIGRATIONS) - 1  # still needing its migration: none was run
