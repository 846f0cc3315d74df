"""The pipeline end to end through the CLI, as a user runs it."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from presso_metrics.simulation import simulate_days
from tests.conftest import EVENTS, recorded_trace
from tests.e2e.conftest import Cli
from tests.expected import RECORDED_SALES, expected_counts, report_counts

TRACE = str(EVENTS / "recorded-serverlesspresso-trace.json")


def test_recorded_trace_published_twice_counts_once(cli: Cli) -> None:
    cli.run("publish", TRACE)
    cli.run("worker", "--drain")
    first = cli.json("report", "--format", "json")
    sales = {r["dimension"]: r["value"] for r in first if r["metric"] == "sales"}
    assert sales == RECORDED_SALES
    assert all(r["bucket"] == "2022-10-14" for r in first if r["metric"] == "sales")
    others = {(r["metric"], r["dimension"]): r["value"] for r in first if r["metric"] != "sales"}
    assert {
        ("completions", "TotalCompleted"): 16,
        ("cancellations", "TotalCancelled"): 2,
        # The cancellations name no drink; their orders do (issue #13): no "unknown".
        ("cancellations", "Americano"): 1,
        ("cancellations", "James Soda"): 1,
        ("wait_time", "count"): 4,
        ("wait_time", "sum_seconds"): 94,
    }.items() <= others.items()
    assert ("cancellations", "unknown") not in others
    by_shop = [r for r in first if r["metric"] == "sales_by_shop" and r["dimensions"]]
    assert {r["dimensions"]["shop"] for r in by_shop} == {"NYC"}
    assert sum(r["value"] for r in by_shop) == 29
    assert report_counts(first) == expected_counts(recorded_trace())
    # Published again: every event is a duplicate; nothing changes.
    cli.run("publish", TRACE)
    stats = cli.json("worker", "--drain")
    assert stats["counted"] == 0 and stats["duplicates"] == 47
    assert cli.json("report", "--format", "json") == first
    assert cli.json("dlq", "list", "--format", "json") == []


def test_report_selects_metric_range_and_format(cli: Cli) -> None:
    cli.run("publish", TRACE)
    cli.run("worker", "--drain")
    rows = cli.json(
        "report",
        "--metric",
        "sales",
        "--from",
        "2022-10-14",
        "--to",
        "2022-10-14",
        "--format",
        "json",
    )
    assert rows[0] == {
        "metric": "sales",
        "bucket": "2022-10-14",
        "dimension": "TotalSales",
        "value": 29,
        "dimensions": {},
    }
    assert cli.json("report", "--from", "2022-10-15", "--format", "json") == []
    csv = cli.run("report", "--metric", "completions", "--format", "csv").stdout
    assert csv == (
        "metric,bucket,dimension,value,dimensions\ncompletions,2022-10-14,TotalCompleted,16,{}\n"
    )
    table = cli.run("report", "--metric", "sales").stdout
    assert "TotalSales" in table and "Caffe Latte" in table and "29" in table
    bad = cli.run("report", "--metric", "nope", check=False)
    assert bad.returncode != 0 and "unknown metric 'nope'; the metrics are sales" in bad.stderr
    reversed_ = cli.run("report", "--from", "2022-10-15", "--to", "2022-10-14", check=False)
    assert reversed_.returncode != 0 and "reversed" in reversed_.stderr


def test_publish_reads_json_lines_and_stdin(cli: Cli) -> None:
    lines = "\n".join(json.dumps(e) for e in recorded_trace()[:40])
    cli.run("publish", "-", input=lines)
    stats = cli.json("worker", "--drain")
    assert stats["received"] == sum(
        1
        for e in recorded_trace()[:40]
        if e["detail-type"] == "OrderManager.WaitingCompletion"
        or e["detail-type"].startswith("OrderManager.Order")
    )


def test_publish_reports_bad_input(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "x", "detail-type": "y", "detail": {}}\n{oops\n')
    result = cli.run("publish", str(bad), check=False)
    assert result.returncode != 0 and "bad.jsonl:2: not valid JSON" in result.stderr
    bad.write_text('[{"source": "x", "detail-type": "y", "detail": {}}, {"detail": {}}]')
    result = cli.run("publish", str(bad), check=False)
    assert result.returncode == 1
    assert "published 1 of 2 events" in result.stderr and "event 1: not published" in result.stderr


def test_broken_events_are_dead_lettered_with_reasons_and_redriven(
    cli: Cli, tmp_path: Path
) -> None:
    events = [
        {
            "id": "no-drink",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": "2024-05-01T10:00:00Z",
            "detail": {"drinkOrder": {}},
        },
        {
            "id": "bad-time",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": "not a time",
            "detail": {"drinkOrder": {"drink": "Latte"}},
        },
    ]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(events))
    cli.run("publish", str(path))
    stats = cli.json("worker", "--drain")
    assert stats["rejected"] == 2 and stats["failed"] == 0
    letters = cli.json("dlq", "list", "--format", "json")
    assert sorted((d["reason"], d["field"]) for d in letters) == [
        ("bad_time", "time"),
        ("dimension_missing", "detail.drinkOrder.drink"),
    ]
    assert "dimension_missing" in cli.run("dlq", "list").stdout
    # The fix: a metrics file where a missing drink counts as "unknown". Redrive, count once.
    fixed = tmp_path / "fixed.toml"
    from presso_metrics.bootstrap import default_metrics_text

    # (Every metric that needs a drink: sales, and sales_by_shop's drink dimension.)
    fixed.write_text(
        default_metrics_text().replace('on_missing = "reject"', 'on_missing = "count"')
    )
    cli.run("dlq", "redrive")
    assert cli.json("status")["queue"]["visible"] == 2
    cli.run("worker", "--drain", "--metrics", str(fixed))
    cli.run("dlq", "redrive")
    cli.run("worker", "--drain", "--metrics", str(fixed))
    rows = cli.json("report", "--metric", "sales", "--format", "json", "--metrics", str(fixed))
    assert {(r["dimension"], r["value"]) for r in rows} == {("unknown", 1), ("TotalSales", 1)}
    assert [d["reason"] for d in cli.json("dlq", "list", "--format", "json")] == ["bad_time"]


def test_concurrent_worker_processes_share_the_queue(cli: Cli, tmp_path: Path) -> None:
    sim = simulate_days(orders=800, days=2, duplicates=0.1, seed=5)
    path = tmp_path / "days.json"
    path.write_text(json.dumps(sim.events))
    cli.run("publish", str(path))
    # Two separate worker commands, one of them with three consumer processes.
    other = cli.popen("worker", "--drain", "--batch-size", "20")
    stats = cli.json("worker", "--drain", "--concurrency", "3", "--batch-size", "20")
    out, _ = other.communicate(timeout=120)
    assert other.returncode == 0
    # Which worker gets how much is a race; together they count each event exactly once.
    other_stats = json.loads(out)
    distinct = len({e["id"] for e in sim.events})
    assert stats["counted"] + other_stats["counted"] == distinct
    assert stats["failed"] == other_stats["failed"] == 0
    assert report_counts(cli.json("report", "--format", "json")) == expected_counts(sim.events)


def test_demo_runs_and_is_idempotent(cli: Cli) -> None:
    first = cli.run("demo", "--orders", "200")
    assert "sales: Drinks ordered per day" in first.stdout
    assert "TotalSales" in first.stdout and "dead-letter queue: 1 message" in first.stdout
    rows = cli.json("report", "--format", "json")
    sales = [r for r in rows if r["metric"] == "sales" and r["dimension"] == "TotalSales"]
    assert sum(r["value"] for r in sales) == 200
    cli.run("demo", "--orders", "200")
    assert cli.json("report", "--format", "json") == rows


def test_time_zone_of_a_database_cannot_change(cli: Cli) -> None:
    cli.run("init")
    result = cli.run("report", "--time-zone", "Europe/Paris", check=False)
    assert result.returncode != 0
    assert "counts days in UTC, but the metrics ask for Europe/Paris" in result.stderr


def test_configuration_errors_stop_at_start(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'time_zone = "Nowhere/Land"\n[metrics.x]\ntotal = "T"\nevents = {source = ["s"]}\n'
    )
    result = cli.run("worker", "--drain", "--metrics", str(bad), check=False)
    assert result.returncode != 0
    assert f"{bad}:1: unknown time zone 'Nowhere/Land'" in result.stderr
    result = cli.run("report", "--metrics", str(tmp_path / "missing.toml"), check=False)
    assert "cannot read the metrics file" in result.stderr or "no database" in result.stderr


def test_demo_serve_leaves_the_dashboard_running(cli: Cli) -> None:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = cli.popen("demo", "--orders", "120", "--serve", "--port", str(port))
    try:
        for _ in range(300):
            try:
                body = urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/metrics/sales", timeout=1
                ).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the dashboard did not come up")
        rows = json.loads(body)
        assert sum(r["value"] for r in rows if r["dimension"] == "TotalSales") == 120
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "Serverlesspresso" in page
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_worker_deletes_expired_markers(cli: Cli) -> None:
    cli.run("publish", str(EVENTS / "recorded-serverlesspresso-trace.json"))
    cli.run("worker", "--drain")
    # Every counted event of the trace belongs to an order: its marker is in its order's state
    # (one row per order, expiring with the dedup horizon like a marker).
    with sqlite3.connect(cli.db) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM markers").fetchone()[0] == 0
        assert orders == len(
            {
                e["detail"]["orderId"]
                for e in recorded_trace()
                if e["detail-type"].startswith("OrderM")
            }
        )
        conn.execute(
            "UPDATE orders SET expires_at = 0 WHERE key IN (SELECT key FROM orders LIMIT 10)"
        )
    cli.run("worker", "--drain")  # a worker starting deletes what has expired
    with sqlite3.connect(cli.db) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == orders - 10
