"""`presso-metrics serve` as a process, run by a user who may only read the database: it writes
nothing, answers only for its own host names, and answers 503 (not a crash) for a file it cannot
read."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.hostile_databases import (
    HOSTILE,
    as_reader,
    make_read_only,
    shared_directory,
    snapshot,
)
from tests.integration.test_web_api import SALES_ROWS, fill

CLI = str(Path(sys.executable).parent / "presso-metrics")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(db: Path, *options: str) -> Iterator[tuple[str, int, subprocess.Popen[str]]]:
    port = free_port()
    command = as_reader([CLI, "serve", "--db", str(db), "--port", str(port), *options])
    env = {**os.environ, "HOME": "/tmp"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                time.sleep(0.05)
        yield url, port, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "trace.db"
    fill(path)
    return path


@pytest.fixture
def folder(good_db: Path) -> Iterator[Path]:
    with shared_directory() as base:
        yield base / "data"


def test_serve_on_a_database_the_user_may_only_read(good_db: Path, folder: Path) -> None:
    folder.mkdir()
    db = folder / "trace.db"
    shutil.copy(good_db, db)
    make_read_only(folder)
    before = snapshot(folder)
    with serving(db) as (url, _, process):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/api/metrics/sales").json() == SALES_ROWS
        head = httpx.head(f"{url}/api/metrics/sales")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(
            httpx.get(f"{url}/api/metrics/sales").content
        )
    assert process.returncode is not None
    assert snapshot(folder) == before


def test_serve_answers_only_its_own_host_names(good_db: Path, folder: Path) -> None:
    folder.mkdir()
    db = folder / "trace.db"
    shutil.copy(good_db, db)
    make_read_only(folder)
    with serving(db, "--allow-host", "metrics.lan", "--allow-host", "*.corp.example") as (
        url,
        port,
        _,
    ):
        for host in ("127.0.0.1", "localhost", "metrics.lan", "dash.corp.example"):
            response = httpx.get(f"{url}/api/span", headers={"Host": f"{host}:{port}"})
            assert response.status_code == 200, host
        for host in ("evil.example", "metrics.lan.evil.example", "corp.example"):
            response = httpx.get(f"{url}/api/span", headers={"Host": f"{host}:{port}"})
            assert response.status_code == 421, host
            assert "does not answer for the host" in response.json()["detail"]


def test_serve_on_a_file_it_cannot_read_answers_503(good_db: Path, folder: Path) -> None:
    folder.mkdir()
    db = folder / "metrics.db"
    not_sqlite = next(h for h in HOSTILE if h.name == "not-sqlite")
    not_sqlite.make(good_db, db)
    make_read_only(folder)
    before = snapshot(folder)
    with serving(db) as (url, _, process):
        for path in ("/healthz", "/api/span", "/api/metrics/sales"):
            response = httpx.get(f"{url}{path}")
            assert response.status_code == 503
            assert f"{db} is not a SQLite database" in response.json()["detail"]
        assert httpx.get(f"{url}/api/metrics").status_code == 200  # the definitions need no store
    _, err = process.communicate(timeout=30)
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warning == [
        f"warning: {db} is not a SQLite database (file is not a database); point --db at the "
        "file `presso-metrics init` or `presso-metrics demo` created; answering 503 until it "
        "can be read"
    ]
    assert "Traceback" not in err
    assert snapshot(folder) == before


def test_serve_sees_a_writer_that_starts_after_it(good_db: Path, folder: Path) -> None:
    # GIVEN serve reading a database alone in a directory it may not write (opened immutable)
    folder.mkdir()
    db = folder / "trace.db"
    shutil.copy(good_db, db)
    make_read_only(folder)
    with serving(db) as (url, _, _):
        assert httpx.get(f"{url}/api/metrics/sales").json() == SALES_ROWS
        # WHEN a writer (who may write there) starts and commits, its commit still in the -wal
        writer = sqlite3.connect(db, isolation_level=None)
        try:
            writer.execute("PRAGMA wal_autocheckpoint=0")
            writer.execute(
                "INSERT INTO counters (pk, sk, attr, val) "
                "VALUES ('Aggregate', '2022-10-14#New Brew', 'val', 50)"
            )
            assert (folder / "trace.db-wal").stat().st_size > 0
            # THEN the next answers include it: the reader noticed the -wal and reopened
            for _ in range(3):
                rows = httpx.get(f"{url}/api/metrics/sales").json()
                assert {
                    "metric": "sales",
                    "bucket": "2022-10-14",
                    "dimension": "New Brew",
                    "value": 50,
                    "dimensions": {"drink": "New Brew"},
                } in rows
        finally:
            writer.close()
