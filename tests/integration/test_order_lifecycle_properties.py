"""Property: whole orders delivered in any interleaving, with duplicates, under crashes, a locked
database and transactions aborted at any point, give the figures of in-order processing (issue
#13). The expected figures come from tests/expected.py, which reads the distinct events by hand.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.worker import lambda_event
from presso_metrics.views import report_rows
from tests.chaos import scale
from tests.expected import expected_counts, report_counts
from tests.integration.test_exactly_once_properties import InterruptibleStore, faults

DRINKS = ["Latte", "Mocha", "Espresso"]
SHOPS = ["NYC", "BOS"]
SOURCE = "awsserverlessda.serverlesspresso"


@st.composite
def whole_order(draw: Any, number: int) -> list[dict[str, Any]]:
    """An order's events as the shop emits them: its WaitingCompletion (sometimes none, as when a
    recording starts late), then its completion or cancellation, or nothing."""
    order, shop = f"order-{number}", draw(st.sampled_from(SHOPS))
    start = draw(st.integers(7 * 3600, 17 * 3600))
    drink = draw(st.sampled_from(DRINKS))

    def at(seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        return f"2024-05-0{1 + day}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z"

    events = []
    if draw(st.integers(0, 9)):  # one order in ten lost its WaitingCompletion
        events.append(
            {
                "detail-type": "OrderManager.WaitingCompletion",
                "time": at(start),
                "detail": {"orderId": order, "eventId": shop, "drinkOrder": {"drink": drink}},
            }
        )
    end = start + draw(st.integers(-30, 4000))  # clocks differ: an end may precede its start
    fate = draw(
        st.sampled_from(["completed", "completed", "cancelled", "cancelled_detailed", "open"])
    )
    if fate == "completed":
        detail_type, detail = f"OrderManager.Order{shop}-COMPLETED", {"eventId": shop}
    elif fate == "cancelled":
        detail_type, detail = f"OrderManager.Order{shop}-CANCELLED", {"eventId": shop}
    elif fate == "cancelled_detailed":
        detail_type = "OrderManager.OrderCancelled"
        detail = {"order": {"drinkOrder": {"drink": drink}}}
    else:
        return events
    events.append(
        {"detail-type": detail_type, "time": at(end), "detail": {"orderId": order, **detail}}
    )
    return events


@st.composite
def streams(draw: Any) -> list[dict[str, Any]]:
    orders = [draw(whole_order(n)) for n in range(draw(st.integers(1, 6)))]
    events = [
        {"id": f"evt-{n}-{i}", "source": SOURCE, **e}
        for n, order in enumerate(orders)
        for i, e in enumerate(order)
    ]
    if not events:
        return []
    repeats = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return draw(st.permutations(events + repeats))


@pytest.mark.chaos
@settings(
    max_examples=scale(40, 1000),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=streams(), schedule=faults, batch_size=st.integers(1, 6))
def test_any_interleaving_duplication_and_crash_gives_the_in_order_figures(
    tmp_path_factory: Any,
    stream: list[dict[str, Any]],
    schedule: list[tuple[str, int]],
    batch_size: int,
) -> None:
    path: Path = tmp_path_factory.mktemp("orders") / "m.db"
    stack = bootstrap.build(
        Settings(db=str(path), max_receive_count=10_000, busy_timeout=0.01, write_attempts=1),
        provision=True,
    )
    store = InterruptibleStore(
        stack.store.db,  # type: ignore[attr-defined]
        caps=stack.metrics.caps(),
        metrics=stack.metrics,
    )
    stack.processor.store = store
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        stack.bus.publish(stream)
        for round_ in range(300):
            messages = stack.queue.receive(batch_size, visibility_timeout=0)
            if not messages:
                break
            fault, steps = schedule[round_] if round_ < len(schedule) else ("ok", 0)
            if fault == "fail":
                locker.execute("BEGIN EXCLUSIVE")
            if fault == "interrupt":
                store.interrupt_after = steps
            outcome = stack.processor.process(lambda_event(messages, stack.queue))
            if fault == "fail":
                locker.execute("ROLLBACK")
            if fault != "crash":  # a crash loses the acknowledgement: all come back
                failed = set(outcome.item_failures)
                stack.queue.delete(
                    [m.receipt_handle for m in messages if m.message_id not in failed]
                )
            store.db.close()  # a fresh connection after an interrupted statement
        assert stack.queue.depth().total == 0
        got = report_counts(r.as_dict() for r in report_rows(store, stack.metrics))
        assert got == expected_counts(stream)
        assert stack.dead_letters.depth().total == 0
    finally:
        locker.close()
        stack.close()
