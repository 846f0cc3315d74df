"""Property: any stream with duplicates, redeliveries and crashes at any point gives exactly the
counts of its distinct valid events, and exactly its broken deliveries in the dead-letter queue.

Real SQLite files, the real embedded bus, queue, store and batch processor. Faults:
- ``interrupt``: the store's transaction is aborted at a random SQLite VM step (a crash at any
  point inside ``apply``; the rollback must leave neither markers nor counters behind);
- ``fail``: the store is unavailable for the whole batch;
- ``crash``: the batch commits, then the worker dies before deleting its messages (they are
  delivered again);
- ``ok``: the batch goes through.
Expected counts are computed independently, from the generated orders themselves.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presso_metrics import bootstrap
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.adapters.sqlite_store import SqliteMetricsStore
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counting import CountedEvent, CounterKey
from presso_metrics.entrypoints.worker import lambda_event
from presso_metrics.ports import ApplyResult, OutgoingMessage
from tests.chaos import scale

DRINKS = ["Latte", "Espresso", "Flat White"]
DAYS = ["2024-05-01", "2024-05-02", "2024-05-03"]
MODIFIERS = ["Oat", "Double", "Decaf"]


@st.composite
def orders(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["sale", "sale", "sale", "completed", "cancelled", "broken"]))
    return {
        "kind": kind,
        "drink": draw(st.sampled_from(DRINKS)),
        "day": draw(st.sampled_from(DAYS)),
        "hour": draw(st.integers(0, 23)),
        "modifiers": draw(st.lists(st.sampled_from(MODIFIERS), max_size=2)),
        "with_drink": draw(st.booleans()),
    }


def envelope(event_id: str, order: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any]
    if order["kind"] in ("sale", "broken"):
        detail_type = "OrderManager.WaitingCompletion"
        drink_order: dict[str, Any] = {"modifiers": order["modifiers"]}
        if order["kind"] == "sale":
            drink_order["drink"] = order["drink"]
        detail = {"drinkOrder": drink_order}
    elif order["kind"] == "completed":
        detail_type, detail = "OrderManager.OrderNYC-COMPLETED", {"ORDERSTATE": "NYC-COMPLETED"}
    else:
        detail_type = "OrderManager.OrderCancelled"
        detail = {"order": {"drinkOrder": {"drink": order["drink"]}}} if order["with_drink"] else {}
    return {
        "id": event_id,
        "source": "awsserverlessda.serverlesspresso",
        "detail-type": detail_type,
        "time": f"{order['day']}T{order['hour']:02d}:15:00Z",
        "detail": detail,
    }


def expected_counts(events: dict[str, dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """Independent of the product: what each kind of order adds, written out by hand."""
    want: Counter[tuple[str, str, str]] = Counter()
    for order in events.values():
        day = order["day"]
        # These events name no shop (counted under "unknown") and no order (each stands
        # alone: no wait is measured, a cancellation's drink is its own or "unknown").
        if order["kind"] == "sale":
            want["Aggregate", day, order["drink"]] += 1
            want["Aggregate", day, "TotalSales"] += 1
            want["sales_by_shop#day", day, f'["unknown","{order["drink"]}"]'] += 1
            want["sales_by_shop#day", day, "TotalSales"] += 1
            want["hourly_sales#hour", f"{day}T{order['hour']:02d}", "HourlyTotal"] += 1
            for m in set(order["modifiers"]):  # each distinct modifier once
                want["modifiers#day", day, m] += 1
        elif order["kind"] == "completed":
            want["Completed", day, "TotalCompleted"] += 1
            want["completions_by_shop#day", day, "unknown"] += 1
        elif order["kind"] == "cancelled":
            drink = order["drink"] if order["with_drink"] else "unknown"
            want["Cancelled", day, drink] += 1
            want["Cancelled", day, "TotalCancelled"] += 1
            want["cancellations_by_shop#day", day, f'["unknown","{drink}"]'] += 1
    return want


class InterruptibleStore(SqliteMetricsStore):
    """Aborts the next apply's transaction after ``interrupt_after`` SQLite VM steps."""

    interrupt_after: int | None = None

    def apply(self, events: Any) -> ApplyResult:
        steps, self.interrupt_after = self.interrupt_after, None
        if steps is None:
            return super().apply(events)
        conn = self.db.connection
        conn.set_progress_handler(lambda: 1, steps)
        try:
            return super().apply(events)
        finally:
            conn.set_progress_handler(None, 0)


faults = st.lists(
    st.one_of(
        st.just(("ok", 0)),
        st.just(("fail", 0)),
        st.just(("crash", 0)),
        st.tuples(st.just("interrupt"), st.integers(1, 400)),
    ),
    max_size=12,
)


@pytest.mark.chaos
@settings(
    max_examples=scale(60, 1500),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pool=st.lists(orders(), min_size=1, max_size=25),
    picks=st.lists(st.integers(0, 24), min_size=1, max_size=60),
    raw_garbage=st.lists(st.sampled_from(["{not json", "[]", '{"id": 1}']), max_size=3),
    schedule=faults,
    batch_size=st.integers(1, 12),
)
def test_exact_counts_under_any_schedule_of_faults(
    tmp_path_factory: Any,
    pool: list[dict[str, Any]],
    picks: list[int],
    raw_garbage: list[str],
    schedule: list[tuple[str, int]],
    batch_size: int,
) -> None:
    path: Path = tmp_path_factory.mktemp("prop") / "m.db"
    # max_receive_count is high: here no failure is permanent, so nothing may reach the DLQ
    # through the redrive policy; only rejected records go there. One write attempt with a
    # short busy timeout makes a locked database fail fast.
    stack = bootstrap.build(
        Settings(db=str(path), max_receive_count=10_000, busy_timeout=0.01, write_attempts=1),
        provision=True,
    )
    store = InterruptibleStore(stack.store.db, caps=stack.metrics.caps())  # type: ignore[attr-defined]
    stack.processor.store = store
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        # GIVEN a delivery stream: events picked from a pool (so repeated), plus garbage bodies
        deliveries = [pool[i % len(pool)] | {"id": f"evt-{i % len(pool)}"} for i in picks]
        stack.bus.publish([envelope(d["id"], d) for d in deliveries])
        stack.queue.send([OutgoingMessage(body) for body in raw_garbage])
        # WHEN batches are processed under the fault schedule, then without faults
        for round_ in range(200):
            messages = stack.queue.receive(batch_size, visibility_timeout=0)
            if not messages:
                break
            fault, steps = schedule[round_] if round_ < len(schedule) else ("ok", 0)
            if fault == "fail":
                locker.execute("BEGIN EXCLUSIVE")  # another process holds the database
            if fault == "interrupt":
                store.interrupt_after = steps
            outcome = stack.processor.process(lambda_event(messages, stack.queue))
            if fault == "fail":
                locker.execute("ROLLBACK")
                # Neither the store nor the dead-letter queue could be written: all retried.
                assert sorted(outcome.item_failures) == sorted(m.message_id for m in messages)
            if fault != "crash":
                failed = set(outcome.item_failures)
                stack.queue.delete(
                    [m.receipt_handle for m in messages if m.message_id not in failed]
                )
        assert stack.queue.depth().total == 0
        # THEN the counts are those of the distinct valid events
        distinct = {d["id"]: d for d in deliveries}
        got = Counter(
            {
                (c.key.partition, c.key.bucket, c.key.dimension): c.value
                for m in stack.metrics
                for c in store.read(m.partition, "0000", "9999")
            }
        )
        assert got == expected_counts(distinct)
        # AND the dead-letter queue holds exactly the broken deliveries
        broken = sum(1 for d in deliveries if d["kind"] == "broken") + len(raw_garbage)
        assert stack.dead_letters.depth().total == broken
    finally:
        locker.close()
        stack.close()


def test_interrupted_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    """The unit of the property above: an abort anywhere inside apply rolls back both the
    markers and the counters, and is reported as a failure rather than raised."""
    stack = bootstrap.build(Settings(db=str(tmp_path / "m.db")), provision=True)
    store = InterruptibleStore(Database(tmp_path / "m.db"))
    event = CountedEvent("e1", {CounterKey("Aggregate", "2024-05-01", "Latte"): 1})
    processor = stack.processor
    processor.store = store
    try:
        for steps in range(1, 200, 7):
            store.interrupt_after = steps
            try:
                result = store.apply([event])
            except sqlite3.OperationalError:
                result = None  # the service turns this into a failure of the batch
            conn = store.db.connection
            markers = conn.execute("SELECT count(*) FROM markers").fetchone()[0]
            counters = conn.execute("SELECT coalesce(sum(val), 0) FROM counters").fetchone()[0]
            if result is not None and result.counted:
                assert (markers, counters) == (1, 1)
                break
            assert (markers, counters) == (0, 0), f"partial write after {steps} steps"
            # Python's sqlite3 can raise an interrupted statement's error again when it reuses
            # the cached statement: start each try on a fresh connection.
            store.db.close()
        else:
            raise AssertionError("apply never completed")
    finally:
        stack.close()
