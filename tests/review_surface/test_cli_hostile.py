"""Review of the command line with hostile files and option values: each must end in one line
saying what was wrong (README: "Errors say what was wrong, where and what to do, on stderr, in
one line"), and `publish` must list the events it cannot publish and publish the rest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import free_port
from tests.e2e.conftest import CLI, Cli
from tests.review_surface.orders import order

pytestmark = pytest.mark.e2e


def one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-600:]


def publish_with(cli: Cli, tmp_path: Path, hostile: dict[str, Any]) -> None:
    good = order("g1", "NYC", "Latte") + order("g2", "NYC", "Mocha")
    path = tmp_path / "events.json"
    path.write_text(json.dumps([good[0], hostile, *good[1:]]))  # ensure_ascii: \ud800 stays
    result = cli.run("publish", str(path), check=False)
    one_line_error(result)
    assert "published 4 of 5 events" in result.stderr
    assert "event 1: not published" in result.stderr


def test_publish_lists_an_event_with_a_lone_surrogate_and_publishes_the_rest(
    cli: Cli, tmp_path: Path
) -> None:
    """Was: embedded_bus.publish (line 113) calls orjson.dumps on each envelope without catching
    its TypeError: an event holding a lone surrogate (\\ud800 is valid JSON text) stops
    publish with a traceback and none of the file's events is published"""
    hostile = order("s1", "NYC", "Bad\ud800drink")[0]
    publish_with(cli, tmp_path, hostile)


def test_publish_lists_an_event_nested_too_deep_and_publishes_the_rest(
    cli: Cli, tmp_path: Path
) -> None:
    """Was: orjson.dumps refuses more than 254 levels of nesting; embedded_bus.publish does not
    catch it: an event nested 300 deep stops publish with a traceback, nothing published"""
    hostile = order("d1", "NYC", "Latte")[0]
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(300):
        node["x"] = {}
        node = node["x"]
    hostile["detail"]["deep"] = deep
    publish_with(cli, tmp_path, hostile)


def test_publish_of_a_file_nested_too_deep_to_read_is_one_line(cli: Cli, tmp_path: Path) -> None:
    """Was: publisher.read_events lets json's RecursionError through: a file nested deeper than
    Python's recursion limit ends in a traceback instead of one line naming the file"""
    path = tmp_path / "deep.json"
    path.write_text("[" * 5000 + "]" * 5000)
    result = cli.run("publish", str(path), check=False)
    one_line_error(result)
    assert str(path) in result.stderr


def test_dlq_list_with_limit_zero_does_not_say_the_queue_is_empty(cli: Cli, tmp_path: Path) -> None:
    """Was: dlq list --limit has no range (cli_reading.py): 0 lists nothing and
    terminal.print_dead_letters then says 'the dead-letter queue is empty' although it holds
    messages (a negative limit lists them all)"""
    broken = order("b1", "NYC", "Latte")[0]
    broken["time"] = "not a time"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([broken]))
    cli.run("publish", str(path))
    cli.run("worker", "--drain")
    assert json.loads(cli.run("status").stdout)["dead_letter_queue"]["messages"] == 1
    result = cli.run("dlq", "list", "--limit", "0", check=False)
    assert "the dead-letter queue is empty" not in result.stdout
    negative = cli.run("dlq", "list", "--limit", "-1", check=False)
    assert negative.returncode == 2  # refused as a bad option value


def test_serve_with_a_port_out_of_range_is_one_line(cli: Cli) -> None:
    """Was: serve --port is a plain int (cli_reading.py): 99999 reaches socket.bind and ends in an
    OverflowError traceback"""
    cli.run("init")
    result = subprocess.run(
        [CLI, "serve", "--port", "99999"],
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=60,
    )
    one_line_error(result)
    assert "--port" in result.stderr


def test_loadtest_refuses_a_batching_window_the_worker_refuses(cli: Cli, tmp_path: Path) -> None:
    """Was: loadtest takes --batching-window up to 300 but never checks it against the queue's
    visibility timeout (as `worker` does): its consumer processes die with tracebacks, it
    raises RuntimeError (not caught by handle_errors), and the burst it published stays in
    the queue, so the next loadtest refuses to start"""
    refused = cli.run("worker", "--drain", "--batching-window", "300", check=False)
    assert refused.returncode == 1 and "leaves no time" in refused.stderr  # the worker's line
    result = cli.run(
        "loadtest",
        "--orders",
        "5",
        "--batching-window",
        "300",
        "--timeout",
        "20",
        "--out",
        str(tmp_path),
        check=False,
    )
    one_line_error(result)
    status = json.loads(cli.run("status").stdout)
    assert status["queue"]["visible"] == 0  # nothing published for a run that cannot consume


def test_serve_on_a_port_in_use_exits_non_zero(cli: Cli) -> None:
    """Held: the failure is said and the status is not 0 (though the "dashboard on" line that
    precedes it names the other process's address)."""
    cli.run("init")
    port = free_port()
    first = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert first.stdout is not None
        first.stdout.readline()  # "dashboard on ...": listening
        second = subprocess.run(
            [CLI, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            env=cli.env,
            timeout=60,
        )
        assert second.returncode != 0
        assert "address already in use" in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_metrics_table_shows_both_dimensions_and_the_kind(cli: Cli) -> None:
    cli.env["COLUMNS"] = "400"
    lines = cli.run("metrics").stdout.splitlines()

    def row(name: str) -> str:
        (found,) = (line for line in lines if line.startswith(f"│ {name} "))
        return found

    assert "detail.eventId" in row("sales_by_shop")
    assert "drinkOrder.drink" in row("sales_by_shop")
    assert "duration" in row("wait_time")
