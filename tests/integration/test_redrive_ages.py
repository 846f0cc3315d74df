"""How old a dead letter may be to be redriven, on the embedded queue with a clock: the first
enqueue of a record travels with it (SentTimestamp, then the ``presso.first-sent`` stamp) across
dead-lettering and redrives, the redrive refuses what the dedup horizon no longer covers, and
markers are kept for the whole horizon."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from presso_metrics import bootstrap
from presso_metrics.adapters.embedded_queue import EmbeddedQueue
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import Settings
from presso_metrics.dead_letters import list_dead_letters, redrive
from presso_metrics.domain.counting import CountedEvent, CounterKey
from presso_metrics.entrypoints.worker import lambda_event
from presso_metrics.ports import OutgoingMessage
from presso_metrics.sqs_records import FIRST_SENT
from tests.conftest import load_event, recorded_trace

DAY = 24 * 3600.0
T0 = 1_790_000_000.0  # the first enqueue, in 2026


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stack(tmp_path: Path) -> bootstrap.Stack:
    settings = Settings(db=str(tmp_path / "ages.db"))
    built = bootstrap.build(settings, provision=True)
    yield built
    built.close()


def queues(stack: bootstrap.Stack, clock: Clock) -> tuple[EmbeddedQueue, EmbeddedQueue]:
    db: Database = stack.resources
    names = stack.settings.names
    return EmbeddedQueue(db, names.queue, clock=clock), EmbeddedQueue(
        db, names.dead_letter_queue, clock=clock
    )


def broken_sale(event_id: str) -> str:
    event = load_event("waiting-completion.json")
    event["id"] = event_id
    del event["detail"]["drinkOrder"]["drink"]  # a sale without a drink is rejected
    return json.dumps(event)


def consume_once(stack: bootstrap.Stack, queue: EmbeddedQueue) -> None:
    messages = queue.receive(10)
    outcome = stack.processor.process(lambda_event(messages, queue))
    failed = set(outcome.item_failures)
    queue.delete([m.receipt_handle for m in messages if m.message_id not in failed])


def test_the_first_enqueue_travels_with_a_record_and_bounds_its_redrives(
    stack: bootstrap.Stack,
) -> None:
    clock = Clock()
    source, dlq = queues(stack, clock)
    # GIVEN a record enqueued at T0, rejected by the consumer an hour later
    assert source.send([OutgoingMessage(broken_sale("e1"))]) == [""]
    clock.now += 3600
    consume_once(stack, source)
    (letter,) = dlq.peek(10)
    assert letter.attributes[FIRST_SENT] == str(int(T0 * 1000))
    # WHEN it is redriven 70 days later, rejected again, and redriven 6 days after that
    clock.now = T0 + 70 * DAY
    assert redrive(dlq, source, clock=clock, wait_seconds=0).moved == 1
    (back,) = source.peek(10)
    assert back.sent_timestamp_ms == int(clock.now * 1000)  # a new message ...
    assert back.attributes[FIRST_SENT] == str(int(T0 * 1000))  # ... that knows its age
    consume_once(stack, source)
    clock.now = T0 + 76 * DAY
    report = redrive(dlq, source, clock=clock, wait_seconds=0)
    # THEN the second redrive is refused (76 days > 75): the message stays, visible at once
    assert (report.moved, report.refused) == (0, 1)
    assert report.oldest_refused == "2026-09-21T14:13:20+00:00"
    (kept,) = list_dead_letters(dlq)
    assert kept.reason == "dimension_missing" and kept.first_sent == report.oldest_refused
    assert dlq.depth().visible == 1 and source.depth().total == 0
    # AND --force moves it anyway, counted as forced
    forced = redrive(dlq, source, clock=clock, wait_seconds=0, force=True)
    assert (forced.moved, forced.forced, forced.refused) == (1, 1, 0)


def test_a_record_moved_by_the_redrive_policy_keeps_its_original_enqueue(
    stack: bootstrap.Stack,
) -> None:
    clock = Clock()
    source, dlq = queues(stack, clock)
    source.send([OutgoingMessage(broken_sale("e1"))])
    for _ in range(6):  # received maxReceiveCount (5) times, never deleted: then moved
        source.receive(10, visibility_timeout=0)
    (moved,) = dlq.peek(10)
    assert moved.sent_timestamp_ms == int(T0 * 1000) and FIRST_SENT not in moved.attributes
    assert list_dead_letters(dlq)[0].reason == "max_receives"
    clock.now = T0 + 80 * DAY
    assert redrive(dlq, source, clock=clock, wait_seconds=0).refused == 1
    # Markers kept 100 days: redriven up to 85 days after the first enqueue.
    longer = redrive(dlq, source, clock=clock, wait_seconds=0, horizon=timedelta(days=100))
    assert (longer.moved, longer.refused) == (1, 0)


def test_old_data_published_for_the_first_time_counts_and_redrives(
    stack: bootstrap.Stack,
) -> None:
    # The recorded 2022 trace, published today: counted, and a rejected 2022 event redriven
    # today is not refused (age is the first enqueue's, not the event's time).
    trace = recorded_trace()
    sale = next(e for e in trace if e["detail-type"] == "OrderManager.WaitingCompletion")
    broken = dict(sale, id="broken-2022", detail={"drinkOrder": {}})
    stack.bus.publish([*trace, broken])
    for _ in range(30):
        consume_once(stack, stack.queue)
    got = stack.store.read("Aggregate", "2022-10-14", "2022-10-14")
    assert {c.key.dimension: c.value for c in got}["TotalSales"] == 29
    (letter,) = list_dead_letters(stack.dead_letters)
    assert letter.reason == "dimension_missing"
    report = redrive(stack.dead_letters, stack.queue, wait_seconds=0)
    assert (report.moved, report.refused) == (1, 0)


def test_markers_outlive_the_horizon(tmp_path: Path) -> None:
    clock = Clock()
    db = Database(tmp_path / "markers.db")
    store = SqliteMetricsStore(db, clock=clock)
    event = CountedEvent("e1", {CounterKey("Aggregate", "2026-09-21", "TotalSales"): 1})
    assert store.apply([event]).counted == {"e1"}
    # A copy arriving 89 days later (a redrive at 75 days, 14 in the queue) is a duplicate.
    clock.now = T0 + 89 * DAY
    assert store.prune_markers() == 0
    assert store.apply([event]).duplicates == {"e1"}
    clock.now = T0 + 91 * DAY
    assert store.prune_markers() == 1
    db.close()


def test_a_message_dead_lettered_again_during_its_redrive_waits_for_the_next(
    stack: bootstrap.Stack,
) -> None:
    # GIVEN a consumer that rejects again, at once, what the redrive sends back (all on the real
    # clock, as the stack's own queues are)
    source, dlq = stack.queue, stack.dead_letters
    source.send([OutgoingMessage(broken_sale("e1"))])
    consume_once(stack, source)

    class RejectingAtOnce:
        def __init__(self) -> None:
            self.name, self.sent = source.name, 0

        def send(self, messages: list[OutgoingMessage]) -> list[str]:
            errors = source.send(messages)
            self.sent += len(messages)
            consume_once(stack, source)
            return errors

    again = RejectingAtOnce()
    # WHEN it is redriven
    report = redrive(dlq, again, wait_seconds=0)  # type: ignore[arg-type]
    # THEN the redrive moves it once and leaves the copy dead-lettered again for the next one
    assert (report.moved, report.deferred, again.sent) == (1, 1, 1)
    assert dlq.depth().visible == 1
    assert "dead-lettered again while it ran" in report.lines("MetricsQueue", timedelta(90))[-1]
    assert redrive(dlq, again, wait_seconds=0).moved == 1  # type: ignore[arg-type]
