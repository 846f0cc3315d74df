"""The worker stops gracefully on SIGTERM: every consumer finishes the batch in hand, deletes
what it counted, and exits; nothing is left in flight and nothing is lost. SIGTERM goes to the
whole process group, as systemd, a container runtime or ``kill -- -PGID`` send it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from presso_metrics.simulation import simulate_days
from tests.e2e.conftest import CLI, Cli
from tests.expected import expected_counts, report_counts


def waiting(db: Path) -> int:
    """Messages still in the queue (visible or in flight)."""
    with sqlite3.connect(db, timeout=5) as conn:
        return int(
            conn.execute("SELECT count(*) FROM messages WHERE queue = 'MetricsQueue'").fetchone()[0]
        )


@pytest.mark.parametrize("concurrency, when", [(1, "counting"), (2, "counting"), (2, "starting")])
def test_sigterm_finishes_the_batches_in_hand_and_loses_nothing(
    cli: Cli, tmp_path: Path, concurrency: int, when: str
) -> None:
    # GIVEN a queue with a few thousand deliveries
    sim = simulate_days(orders=1500, duplicates=0.0, seed=17)
    path = tmp_path / "day.json"
    path.write_text(json.dumps(sim.events))
    cli.run("publish", str(path))
    # WHEN a worker is stopped with SIGTERM to its process group while it counts (or while its
    # consumer processes start)
    worker = subprocess.Popen(
        [CLI, "worker", "--concurrency", str(concurrency), "--batch-size", "100"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while when == "counting" and waiting(cli.db) == len(sim.events) and time.monotonic() < deadline:
        time.sleep(0.02)
    if when == "starting":
        time.sleep(0.5)
    os.killpg(worker.pid, signal.SIGTERM)
    stdout, stderr = worker.communicate(timeout=120)
    # THEN it exits cleanly, having finished and acknowledged every batch it held
    assert worker.returncode == 0, stderr
    stats = json.loads(stdout)
    status = cli.json("status")
    assert status["queue"]["in_flight"] == 0
    assert stats["failed"] == 0
    assert stats["counted"] + status["queue"]["visible"] == len(sim.events)
    assert waiting(cli.db) == status["queue"]["visible"]
    # AND the rest is counted by the next worker, exactly
    cli.run("worker", "--drain", "--batch-size", "100")
    assert report_counts(cli.json("report", "--format", "json")) == expected_counts(sim.events)
