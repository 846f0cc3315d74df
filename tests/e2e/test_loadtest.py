"""``presso-metrics loadtest``: the burst waits in the queue, the write limit paces the drain,
every order is counted exactly once, and the results and the chart are written."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli

SAMPLE_FIELDS = {"t", "published", "visible", "in_flight", "counted", "transactions"}


def today_total_sales(cli: Cli, *aws: str) -> int:
    today = datetime.now(UTC).date().isoformat()
    rows = cli.json("report", *aws, "--metric", "sales", "--from", today, "--format", "json")
    return sum(r["value"] for r in rows if r["dimension"] == "TotalSales")


def assert_self_contained(html: str) -> None:
    """A page a person can open anywhere: nothing is fetched, nothing runs."""
    lowered = html.lower()
    assert "<svg" in lowered
    for needle in ("<script", " src=", " href=", "@import", "url("):
        assert needle not in lowered, needle
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * 3


def test_burst_waits_in_the_queue_and_drains_at_the_write_limit(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    orders, batch, limit = 500, 10, 20
    result = cli.run(
        "loadtest", "--orders", str(orders), "--write-limit", str(limit), "--out", str(out)
    )
    data: dict[str, Any] = json.loads((out / "loadtest.json").read_text())
    samples, summary = data["samples"], data["summary"]
    assert set(samples[0]) >= SAMPLE_FIELDS
    assert samples[0]["t"] == 0 and samples[0]["published"] == 0
    # A sample as soon as the burst has landed (one transaction on the embedded bus).
    landed = next(s for s in samples if s["published"] == orders)
    assert landed["t"] == summary["publish_seconds"] or landed["t"] < 0.15
    times = [s["t"] for s in samples]
    assert times == sorted(times) and len(samples) >= 20  # about ten a second over >2 s
    # The burst waits in the queue: the consumers cannot keep up with it.
    depths = [s["visible"] + s["in_flight"] for s in samples]
    assert summary["peak_depth"] == max(depths) >= 0.9 * orders
    # The drain is paced by the write limit: at most `limit` batches of `batch` a second, shared
    # by both consumer processes (one limiter each would drain twice as fast).
    assert summary["concurrency"] == 2 and summary["batch_size"] == batch
    assert summary["time_to_drain"] >= orders / (batch * limit) - 0.5
    assert summary["peak_write_rate"] is not None and summary["peak_count_rate"] is not None
    assert summary["drained"] is True and depths[-1] == 0
    # Every order counted once, and the figures agree with each other and with the table.
    assert summary["counted"] == orders and summary["counted_exactly_once"] is True
    assert summary["published"] == orders and summary["dead_lettered"] == 0
    assert samples[-1]["counted"] == orders and samples[-1]["published"] == orders
    assert summary["worker"]["counted"] == orders and summary["worker"]["failed"] == 0
    assert summary["transactions"] == summary["worker"]["batches"] == samples[-1]["transactions"]
    assert today_total_sales(cli) == orders
    counted = [s["counted"] for s in samples]
    assert counted == sorted(counted)
    # The chart, and the summary on the terminal.
    assert_self_contained((out / "loadtest.html").read_text())
    assert "Queue depth" in (out / "loadtest.html").read_text()
    printed = result.stdout
    assert f"{orders} of {orders} orders, each exactly once" in printed
    assert f"peak depth          {summary['peak_depth']} messages" in printed
    assert str(out / "loadtest.json") in printed and str(out / "loadtest.html") in printed


def test_a_second_run_measures_its_own_burst(cli: Cli, tmp_path: Path) -> None:
    """The counters already hold the first run's orders; the second counts only its own."""
    for run in ("one", "two"):
        cli.run("loadtest", "--orders", "40", "--concurrency", "1", "--out", str(tmp_path / run))
        summary = json.loads((tmp_path / run / "loadtest.json").read_text())["summary"]
        assert summary["counted"] == 40 and summary["counted_exactly_once"] is True
    assert today_total_sales(cli) == 80


def test_refuses_a_queue_that_is_not_empty(cli: Cli, tmp_path: Path) -> None:
    cli.run("load", "--burst", "--orders", "5")
    result = cli.run("loadtest", "--out", str(tmp_path), check=False)
    assert result.returncode != 0
    assert "holds 5 messages; drain it first" in result.stderr
    assert not (tmp_path / "loadtest.json").exists()


def test_refuses_options_the_deployed_function_does_not_take(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("loadtest", "--consumers", "lambda", check=False)
    assert result.returncode == 2 and "--consumers lambda needs --aws" in result.stderr
    result = cli.run("loadtest", "--aws", "--write-limit", "5", "--batch-size", "3", check=False)
    assert result.returncode == 2
    assert "--batch-size, --write-limit: the deployed function consumes" in result.stderr
    assert "--consumers local" in result.stderr


def test_an_unusable_out_directory_is_refused_before_the_run(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli.run("loadtest", "--out", str(blocker / "results"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot write the load test's results there" in result.stderr
    assert "pick another --out directory" in result.stderr
    assert not cli.db.exists()  # refused before anything was created or published


def test_on_a_terminal_the_run_is_shown_live(cli: Cli, tmp_path: Path) -> None:
    from tests.e2e.test_status_watch import watching

    args = ["loadtest", "--orders", "100", "--write-limit", "20", "--concurrency", "1"]
    with watching([*args, "--out", str(tmp_path)], cli.env) as screen:
        assert screen.process.wait(timeout=120) == 0
    text = screen.text
    live = re.findall(r"published ([\d,]+) · depth ([\d,]+) \S+ · counted ([\d,]+)", text)
    assert ("100", "0", "100") in live  # the last frame: all published, drained, counted
    assert any(int(depth) > 0 for _, depth, _ in live)  # and the burst waiting before that
    assert "100 of 100 orders, each exactly once" in text
