"""Faults through the real CLI: workers killed with SIGKILL at random points, a duplicate storm,
events out of order and days late, replays from an archive. Each run ends with counts equal to
an independent computation from the input and only the truly bad records dead-lettered.
Short in `make test`; `make chaos` runs long versions."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.simulation import simulate_days, with_duplicates
from tests.chaos import scale
from tests.conftest import EVENTS, recorded_trace
from tests.e2e.conftest import Cli
from tests.expected import expected_counts, report_counts

pytestmark = pytest.mark.chaos


def broken_events(n: int, time_: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"broken-{i}",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": time_,
            "detail": {"drinkOrder": {"drink": 42}},
        }
        for i in range(n)
    ]


def in_flight(db: Path) -> int:
    """Messages of the queue received and not yet acknowledged (hidden by their visibility)."""
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM messages WHERE queue = 'MetricsQueue' AND visible_at > ?",
            (time.time(),),
        ).fetchone()
    return int(n)


def test_workers_killed_with_sigkill_at_random_points(cli: Cli, tmp_path: Path) -> None:
    """Whole orders at several shops, shuffled (SQS keeps no order: completions often arrive
    before their WaitingCompletion), with duplicates and broken events, drained by workers
    SIGKILLed while a batch is in flight (in its transaction, or committed and not yet
    acknowledged), then a last worker: the figures are those of in-order processing."""
    trials = scale(3, 25)
    rng = random.Random(7)
    sim = simulate_days(orders=scale(1200, 4000), duplicates=0.1, seed=11, shops=3)
    stream = sim.events + broken_events(5, sim.events[0]["time"])
    rng.shuffle(stream)
    path = tmp_path / "day.json"
    path.write_text(json.dumps(stream))
    cli.run("publish", str(path))
    mid_batch = 0
    for _ in range(trials):
        while in_flight(cli.db):  # the last victim's batch comes back first
            time.sleep(0.05)
        worker = cli.popen(
            "worker", "--batch-size", str(rng.choice([1, 10, 25, 100])), "--visibility-timeout", "1"
        )
        deadline = time.monotonic() + 30
        while not in_flight(cli.db) and time.monotonic() < deadline:
            time.sleep(0.002)  # until this worker has a batch in hand
        time.sleep(rng.uniform(0, 0.05))  # somewhere in its processing of batches
        while not in_flight(cli.db) and time.monotonic() < deadline:
            time.sleep(0.001)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        # Nobody else consumes: what is in flight now was in the dead worker's hands.
        mid_batch += in_flight(cli.db) > 0
    time.sleep(1.1)  # the killed workers' in-flight messages become visible again
    cli.run("worker", "--drain", "--batch-size", "25", "--visibility-timeout", "1")
    assert mid_batch == trials  # every kill landed with a batch in flight
    assert report_counts(cli.json("report", "--format", "json")) == expected_counts(sim.events)
    letters = cli.json("dlq", "list", "--format", "json")
    assert sorted(d["reason"] for d in letters) == ["dimension_wrong_type"] * 5


def test_duplicate_storm_out_of_order_and_days_late(cli: Cli, tmp_path: Path) -> None:
    # GIVEN a week of orders where half the deliveries are duplicates, shuffled, and the first
    # day's events arrive last (days late)
    sim = simulate_days(orders=scale(1500, 6000), days=7, seed=3)
    rng = random.Random(5)
    first_day = sim.start.isoformat()
    late = [e for e in sim.events if e["time"].startswith(first_day)]
    rest = [e for e in sim.events if not e["time"].startswith(first_day)]
    rng.shuffle(rest)
    storm, repeats = with_duplicates(rest + late, 0.5, rng)
    assert repeats >= len(sim.events) * 0.9
    path = tmp_path / "storm.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in storm))
    cli.run("publish", str(path))
    # WHEN two worker commands drain it, one with three consumer processes
    other = cli.popen("worker", "--drain", "--batch-size", "50")
    stats = cli.json("worker", "--drain", "--concurrency", "3", "--batch-size", "50")
    other.communicate(timeout=300)  # read its output, so a full pipe cannot block it
    assert other.returncode == 0 and stats["failed"] == 0
    # THEN every day has exactly its distinct events, the late day included
    rows = cli.json("report", "--format", "json")
    assert report_counts(rows) == expected_counts(sim.events)
    assert {r["bucket"] for r in rows if r["metric"] == "sales"} >= {first_day}


def test_replays_from_an_archive(cli: Cli, tmp_path: Path) -> None:
    trace = recorded_trace()
    replayed = [e | {"replay-name": "archive-replay-1"} for e in trace]
    path = tmp_path / "replay.json"
    path.write_text(json.dumps(replayed))
    # Skipped by default: their markers may have expired, so they could count twice.
    cli.run("publish", str(path))
    stats = cli.json("worker", "--drain")
    assert stats["replays_skipped"] == 47 and stats["counted"] == 0
    assert cli.json("report", "--format", "json") == []
    # Counted normally, then a rebuild is refused: the table is not empty.
    cli.run("publish", str(EVENTS / "recorded-serverlesspresso-trace.json"))
    cli.run("worker", "--drain")
    before = cli.json("report", "--format", "json")
    refused = cli.run("worker", "--drain", "--replays", "rebuild", check=False)
    assert refused.returncode != 0 and "needs an empty table" in refused.stderr
    # A backfill of one metric counts the replay for that metric only, once.
    for _ in range(2):
        cli.run("publish", str(path))
        cli.run("worker", "--drain", "--replays", "backfill", "--backfill-metric", "completions")
    after = cli.json("report", "--format", "json")
    assert [r for r in after if r["metric"] != "completions"] == [
        r for r in before if r["metric"] != "completions"
    ]
    completed = {r["dimension"]: r["value"] for r in after if r["metric"] == "completions"}
    assert completed == {"TotalCompleted": 32}  # 16 counted, then 16 backfilled once
    # A rebuild into an empty table counts the replay exactly.
    fresh = Cli(tmp_path / "rebuild.db")
    fresh.run("publish", str(path))
    fresh.run("worker", "--drain", "--replays", "rebuild")
    assert report_counts(fresh.json("report", "--format", "json")) == expected_counts(trace)
