"""Option values and files the command line refuses: one line saying what was wrong and what to
give instead, before anything is done; never a traceback, never a line that says otherwise."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from presso_metrics.adapters.embedded_queue import EmbeddedQueue
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from tests.e2e.conftest import Cli
from tests.review_surface.orders import order

pytestmark = pytest.mark.e2e


def refused(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr[-600:]
    return result.stderr


def test_serve_on_a_port_in_use_says_so_and_never_that_it_serves(cli: Cli) -> None:
    cli.run("init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.run("serve", "--port", str(port), check=False)
    said = refused(result, 1)
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in said
    assert "--port" in said
    assert "dashboard on" not in result.stdout  # it never served


def test_serve_on_port_0_says_the_port_it_took(cli: Cli) -> None:
    cli.run("init")
    process = cli.popen("serve", "--port", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"dashboard on http://127\.0\.0\.1:(\d+)/ .*\n", line)
        assert found is not None, line
        assert int(found[1]) > 0
        answer = httpx.get(f"http://127.0.0.1:{found[1]}/healthz", timeout=10)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "65536"],
        ["serve", "--port", "-1"],
        ["demo", "--serve", "--port", "70000"],
    ],
)
def test_ports_out_of_range_are_refused_before_anything_runs(cli: Cli, command: list[str]) -> None:
    said = refused(cli.run(*command, check=False), 2)
    assert "Invalid value for '--port'" in said and "0<=x<=65535" in said
    assert not cli.db.exists()  # nothing was created


@pytest.mark.parametrize("value", ["0", "-3"])
def test_worker_refuses_a_visibility_timeout_that_leaves_no_time(cli: Cli, value: str) -> None:
    said = refused(cli.run("worker", "--drain", "--visibility-timeout", value, check=False), 2)
    assert f"{value} s leaves no time to process a batch" in said
    assert "give at least 1" in said
    assert "under 0 s" not in said and "under -" not in said


def test_worker_refuses_a_visibility_timeout_longer_than_sqs_allows(cli: Cli) -> None:
    said = refused(cli.run("worker", "--drain", "--visibility-timeout", "43201", check=False), 2)
    assert "longer than SQS allows; give at most 43200" in said
    cli.run("worker", "--drain", "--visibility-timeout", "43200")  # the longest is taken


def test_the_library_refuses_a_visibility_timeout_that_leaves_no_time(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "lib.db")
    cli.run("init")
    db = Database(str(cli.db))
    try:
        queue = EmbeddedQueue(db, "MetricsQueue")
        with pytest.raises(ValueError, match="a visibility timeout of 0 s leaves no time"):
            consume(queue, None, WorkerOptions(visibility_timeout=0, drain=True))  # type: ignore[arg-type]
    finally:
        db.close()


def test_loadtest_refuses_the_first_window_the_worker_refuses(cli: Cli, tmp_path: Path) -> None:
    """The queue's visibility timeout is 30 s, so a batch has 24 s: a window of 24 s leaves
    none, for the worker and the load test alike; nothing is published or written."""
    worker = refused(cli.run("worker", "--drain", "--batching-window", "24", check=False), 1)
    out = tmp_path / "results"
    result = cli.run(
        "loadtest", "--orders", "5", "--batching-window", "24", "--out", str(out), check=False
    )
    said = refused(result, 1)
    assert said.strip() == worker.strip()  # the same one line, nothing shown before it
    assert "a batching window of 24 s leaves no time" in said
    assert json.loads(cli.run("status").stdout)["queue"]["visible"] == 0
    assert list(out.iterdir()) == []  # the results' directory is checked first, then left empty


def dead_letters(cli: Cli, tmp_path: Path, n: int) -> None:
    events = []
    for i in range(n):
        broken = order(f"b{i}", "NYC", "Latte")[0]
        broken["time"] = "not a time"
        events.append(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(events))
    cli.run("publish", str(path))
    cli.run("worker", "--drain")


def test_dlq_list_says_when_it_lists_fewer_than_the_queue_holds(cli: Cli, tmp_path: Path) -> None:
    dead_letters(cli, tmp_path, 3)
    one = cli.run("dlq", "list", "--limit", "1")
    assert "b0-start" in one.stdout and "b1-start" not in one.stdout
    assert (
        "listed the first 1 of the 3 messages in the dead-letter queue; give --limit 3 to "
        "list them all"
    ) in one.stderr
    every = cli.run("dlq", "list", "--limit", "3")
    assert "listed the first" not in every.stderr
    assert len(json.loads(cli.run("dlq", "list", "--format", "json", "--limit", "2").stdout)) == 2
    for value in ("0", "-1"):
        said = refused(cli.run("dlq", "list", "--limit", value, check=False), 2)
        assert "Invalid value for '--limit'" in said and "x>=1" in said


def test_publish_of_a_file_that_is_not_utf8_names_it(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(
        json.dumps(order("l1", "NYC", "Latte")).replace("Latte", "Caf\xe9").encode("latin-1")
    )
    said = refused(cli.run("publish", str(path), check=False), 1)
    assert f"{path}: not UTF-8 text (a byte 0xe9" in said and "save the events as UTF-8" in said
