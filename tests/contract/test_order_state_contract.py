"""The MetricsStore contract for orders: every adapter keeps an order's state with the counters it
decides, so its correlated figures are those of in-order processing, whatever the order the events
arrive in, however often they arrive (issue #13)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from presso_metrics.domain.counting import CountedEvent, count_event
from presso_metrics.domain.envelope import envelope_of
from presso_metrics.domain.lifecycle import MAX_ORDER_EVENTS
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.metrics_file import load_metrics
from tests.contract.backends import Backend

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHOP_METRICS = """
[metrics.cancellations]
total = "TotalCancelled"
partition = "Cancelled"
correlate = "detail.orderId"
[[metrics.cancellations.dimensions]]
label = "drink"
path = ["detail.drinkOrder.drink", "detail.order.drinkOrder.drink"]
on_missing = "count"
from_order = { detail-type = ["OrderManager.WaitingCompletion"] }
[metrics.cancellations.events]
detail-type = [{ wildcard = "OrderManager.Order*CANCELLED" }]

[metrics.wait_time]
kind = "duration"
correlate = "detail.orderId"
bounds = [30, 60, 300]
[[metrics.wait_time.dimensions]]
label = "shop"
path = "detail.eventId"
on_missing = "count"
[metrics.wait_time.start]
detail-type = ["OrderManager.WaitingCompletion"]
[metrics.wait_time.events]
detail-type = [{ wildcard = "OrderManager.Order*COMPLETED" }]

[metrics.sales]
dimension = "detail.drinkOrder.drink"
total = "TotalSales"
partition = "Aggregate"
[metrics.sales.events]
detail-type = ["OrderManager.WaitingCompletion"]
"""


@pytest.fixture(scope="module")
def metrics() -> MetricSet:
    return load_metrics(SHOP_METRICS, "shop.toml")


def event(
    event_id: str, order: str, kind: str, time: str, day: str = "2022-10-14", **detail: Any
) -> dict[str, Any]:
    types = {
        "waiting": "OrderManager.WaitingCompletion",
        "completed": "OrderManager.OrderNYC-COMPLETED",
        "cancelled": "OrderManager.OrderNYC-CANCELLED",
    }
    return {
        "id": event_id,
        "source": "s",
        "detail-type": types[kind],
        "time": f"{day}T{time}Z",
        "detail": {"orderId": order, "eventId": "NYC", **detail},
    }


def counted(e: dict[str, Any], metrics: MetricSet) -> CountedEvent:
    envelope = envelope_of(e, now=NOW)
    assert not isinstance(envelope, type(None))
    result = count_event(envelope, metrics)  # type: ignore[arg-type]
    assert isinstance(result, CountedEvent), result
    return result


def figures(store: Any) -> dict[str, int]:
    out = {}
    for partition in ("Cancelled", "wait_time#day", "Aggregate"):
        for c in store.read(partition, "0000", "9999"):
            name = f"{partition}|{c.key.sort_key}"
            out[name if c.key.attribute == "val" else f"{name}|{c.key.attribute}"] = c.value
    return out


def latte_order(metrics: MetricSet, n: int = 1, day: str = "2022-10-14") -> list[CountedEvent]:
    return [
        counted(
            event(f"w{n}", f"o{n}", "waiting", "12:00:00", day, drinkOrder={"drink": "Latte"}),
            metrics,
        ),
        counted(event(f"c{n}", f"o{n}", "completed", "12:01:35", day), metrics),
    ]


def latte_figures(day: str = "2022-10-14") -> dict[str, int]:
    return {
        f"Aggregate|{day}#Latte": 1,
        f"Aggregate|{day}#TotalSales": 1,
        f"wait_time#day|{day}#NYC|count": 1,
        f"wait_time#day|{day}#NYC|sum_ms": 95_000,
        f"wait_time#day|{day}#NYC|seconds_60_300": 1,
    }


LATTE_FIGURES = latte_figures()


def test_a_wait_is_counted_once_both_ends_are_known(backend: Backend, metrics: MetricSet) -> None:
    store = backend.store(metrics=metrics)
    start, end = latte_order(metrics)
    assert store.apply([end]).counted == {"c1"}
    assert figures(store) == {}  # the end alone measures nothing
    assert store.apply([start]).counted == {"w1"}
    assert figures(store) == LATTE_FIGURES


@pytest.mark.parametrize("split", [0, 1, 2])
def test_both_ends_in_any_order_and_batching_give_the_same_figures(
    backend: Backend, metrics: MetricSet, split: int
) -> None:
    """Each arrangement of the order's two events, in one batch or two, on an order and a day of
    its own (one store for the whole test)."""
    store = backend.store(metrics=metrics)
    for arrangement in range(2):
        day = f"2022-11-0{arrangement + 1}"
        events = latte_order(metrics, 10 + arrangement, day)
        if arrangement:
            events.reverse()
        for batch in (events[:split], events[split:]):
            if batch:
                store.apply(batch)
        assert {k: v for k, v in figures(store).items() if day in k} == latte_figures(day)


def test_a_cancellation_moves_to_its_drink_when_the_order_arrives(
    backend: Backend, metrics: MetricSet
) -> None:
    store = backend.store(metrics=metrics)
    cancel = counted(event("x1", "o2", "cancelled", "09:00:00"), metrics)
    store.apply([cancel])
    assert figures(store) == {
        "Cancelled|2022-10-14#unknown": 1,
        "Cancelled|2022-10-14#TotalCancelled": 1,
    }
    start = counted(
        event("w2", "o2", "waiting", "08:59:00", drinkOrder={"drink": "Mocha"}), metrics
    )
    store.apply([start])
    assert figures(store) == {
        "Cancelled|2022-10-14#unknown": 0,
        "Cancelled|2022-10-14#Mocha": 1,
        "Cancelled|2022-10-14#TotalCancelled": 1,
        "Aggregate|2022-10-14#Mocha": 1,
        "Aggregate|2022-10-14#TotalSales": 1,
    }


def test_redeliveries_of_an_orders_events_count_nothing(
    backend: Backend, metrics: MetricSet
) -> None:
    store = backend.store(metrics=metrics)
    events = latte_order(metrics)
    store.apply(events)
    again = store.apply([*events, events[0]])
    assert again.counted == set() and again.duplicates == {"w1", "c1"}
    assert figures(store) == LATTE_FIGURES


def test_a_reused_id_is_a_duplicate_and_reports_what_was_counted_first(
    backend: Backend, metrics: MetricSet
) -> None:
    store = backend.store(metrics=metrics)
    start, end = latte_order(metrics)
    store.apply([start, end])
    other = counted(
        event("w1", "o1", "waiting", "12:00:00", drinkOrder={"drink": "Espresso"}), metrics
    )
    result = store.apply([other])
    assert result.duplicates == {"w1"} and result.previous == {"w1": start.fingerprint}
    assert other.fingerprint != start.fingerprint
    assert figures(store) == LATTE_FIGURES


def test_orders_and_plain_events_in_one_batch(backend: Backend, metrics: MetricSet) -> None:
    store = backend.store(metrics=metrics)
    plain = counted(
        {
            "id": "p1",
            "source": "s",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": "2022-10-14T10:00:00Z",
            "detail": {"drinkOrder": {"drink": "Tea"}},  # no order id: counted alone
        },
        metrics,
    )
    assert plain.order_key is None
    result = store.apply([plain, *latte_order(metrics)])
    assert result.counted == {"p1", "w1", "c1"}
    assert figures(store) == {
        **LATTE_FIGURES,
        "Aggregate|2022-10-14#Tea": 1,
        "Aggregate|2022-10-14#TotalSales": 2,
    }


def test_an_order_with_too_many_events_refuses_the_rest(
    backend: Backend, metrics: MetricSet
) -> None:
    store = backend.store(metrics=metrics)
    flood = [
        counted(event(f"x{i}", "o9", "cancelled", f"09:{i // 60:02d}:{i % 60:02d}"), metrics)
        for i in range(MAX_ORDER_EVENTS + 3)
    ]
    result = store.apply(flood)
    assert len(result.counted) == MAX_ORDER_EVENTS
    assert sorted(result.rejected) == sorted(e.marker for e in flood[MAX_ORDER_EVENTS:])
    assert {r.reason for r in result.rejected.values()} == {"order_too_large"}
    assert figures(store)["Cancelled|2022-10-14#TotalCancelled"] == MAX_ORDER_EVENTS
    assert json.dumps(figures(store))  # readable


def test_a_reused_id_of_a_plain_event_reports_what_was_counted_first(
    backend: Backend, metrics: MetricSet
) -> None:
    store = backend.store(metrics=metrics)

    def tea(drink: str) -> CountedEvent:
        return counted(
            {
                "id": "p7",
                "source": "s",
                "detail-type": "OrderManager.WaitingCompletion",
                "time": "2022-10-14T10:00:00Z",
                "detail": {"drinkOrder": {"drink": drink}},  # no order id: a plain event
            },
            metrics,
        )

    first, other = tea("Tea"), tea("Coffee")
    assert first.order_key is None and first.fingerprint != other.fingerprint
    store.apply([first])
    result = store.apply([other])
    assert result.duplicates == {"p7"} and result.previous == {"p7": first.fingerprint}
    assert figures(store)["Aggregate|2022-10-14#Tea"] == 1
    assert "Aggregate|2022-10-14#Coffee" not in figures(store)
