"""`dlq redrive` bounds a redrive by the dedup horizon it is given, not by the horizon the
consumer wrote its markers with: nothing records the latter, so the natural command after
deploying with a shorter DedupHorizonDays (or running the worker with --dedup-horizon-days)
redrives copies whose markers are gone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from presso_metrics.adapters.embedded_queue import EmbeddedQueue, create_queue
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.dead_letters import redrive
from presso_metrics.ports import OutgoingMessage
from presso_metrics.sqs_records import FIRST_SENT
from tests.review.support import DAY, counted, default_metrics, figures, waiting

pytestmark = pytest.mark.integration

T0 = 1_767_225_600.0  # 2026-01-01
DAYS = 86_400


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the consumer's horizon is not recorded with its markers: dlq redrive falls back to "
        "its own default (90 days, 75-day bound) and redrives a 40-day-old copy whose marker "
        "(20-day horizon) has expired; the event is counted twice"
    ),
)
def test_redrive_respects_the_horizon_the_markers_were_written_with(tmp_path: Path) -> None:
    metrics = default_metrics()
    db = Database(tmp_path / "m.db")
    create_queue(db, "dlq")
    create_queue(db, "queue", dead_letter_queue="dlq", max_receive_count=5)
    short = timedelta(days=20)  # the worker ran with --dedup-horizon-days 20
    event = waiting("w1", "o1", "Latte")
    store = SqliteMetricsStore(db, metrics=metrics, marker_ttl=short, clock=lambda: T0)
    assert store.apply([counted(event, metrics)]).counted == {"w1"}
    # A copy of the event (EventBridge delivered it twice) failed until the redrive policy
    # moved it; it keeps its first enqueue.
    EmbeddedQueue(db, "dlq", clock=lambda: T0).send(
        [OutgoingMessage(json.dumps(event), {FIRST_SENT: str(int(T0 * 1000))})]
    )

    later = T0 + 40 * DAYS
    dlq = EmbeddedQueue(db, "dlq", clock=lambda: later)
    source = EmbeddedQueue(db, "queue", clock=lambda: later)
    report = redrive(dlq, source, clock=lambda: later, wait_seconds=0)
    # What the worker then does: prune expired markers, count what arrives.
    store = SqliteMetricsStore(db, metrics=metrics, marker_ttl=short, clock=lambda: later)
    store.prune_markers()
    for m in source.receive(10):
        store.apply([counted(json.loads(m.body), metrics)])
    assert figures(store, metrics)[f"Aggregate|{DAY}#Latte"] == 1
    assert report.refused == 1
