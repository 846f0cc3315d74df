from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from presso_metrics.domain.counting import (
    SKIP_REPLAYS,
    CountedEvent,
    CounterKey,
    ReplayPolicy,
    Skipped,
    count_event,
    sum_increments,
)
from presso_metrics.domain.envelope import Envelope, Rejection, parse_envelope
from presso_metrics.domain.lifecycle import figures
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.metrics_file import load_metrics
from tests.conftest import load_event, recorded_trace
from tests.expected import RECORDED_SALES

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def count(event: dict[str, Any], metrics: MetricSet, replay: ReplayPolicy = SKIP_REPLAYS) -> Any:
    envelope = parse_envelope(json.dumps(event), now=NOW)
    assert isinstance(envelope, Envelope)
    return count_event(envelope, metrics, replay)


def increments(event: dict[str, Any], metrics: MetricSet) -> dict[CounterKey, int]:
    """What the event counts for when it is the only event of its order: its own increments,
    and the figures its order's correlated metrics hold with it alone."""
    result = count(event, metrics)
    assert isinstance(result, CountedEvent), result
    out = dict(result.increments)
    if result.order_event is not None:
        for key, n in figures([result.order_event], metrics).items():
            out[key] = out.get(key, 0) + n
    return out


def trace_figures(events: list[dict[str, Any]], metrics: MetricSet) -> dict[CounterKey, int]:
    """The counters of a stream: every event's own increments, and each order's figures."""
    results = [count(e, metrics) for e in events]
    totals = sum_increments(r for r in results if isinstance(r, CountedEvent))
    orders: dict[str, list[Any]] = {}
    for r in results:
        if isinstance(r, CountedEvent) and r.order_key is not None:
            orders.setdefault(r.order_key, []).append(r.order_event)
    for order in orders.values():
        for key, n in figures(order, metrics).items():
            totals[key] = totals.get(key, 0) + n
    return totals


def test_recorded_trace_gives_the_known_counts(metrics: MetricSet) -> None:
    results = [count(e, metrics) for e in recorded_trace()]
    totals = trace_figures(recorded_trace(), metrics)
    day = "2022-10-14"
    sales = {
        k.dimension: v for k, v in totals.items() if k.partition == "Aggregate" and k.bucket == day
    }
    assert sales == RECORDED_SALES
    assert totals[CounterKey("Completed", day, "TotalCompleted")] == 16
    assert totals[CounterKey("Cancelled", day, "TotalCancelled")] == 2
    # Both cancellations name no drink; their orders' WaitingCompletion events do (issue #13).
    cancelled = {k.dimension: n for k, n in totals.items() if k.partition == "Cancelled"}
    assert cancelled == {"TotalCancelled": 2, "Americano": 1, "James Soda": 1}
    hourly = {k.bucket: v for k, v in totals.items() if k.partition == "hourly_sales#hour"}
    assert sum(hourly.values()) == 29 and set(hourly) == {"2022-10-14T12", "2022-10-14T13"}
    wait = {k.attribute: n for k, n in totals.items() if k.partition == "wait_time#day"}
    assert (wait["count"], wait["sum_ms"]) == (4, 94_000)
    assert not any(isinstance(r, Rejection) for r in results)
    # The other 136 events (NewOrder, WorkflowStarted, ...) are counted by no metric.
    assert Counter(type(r).__name__ for r in results) == {"CountedEvent": 47, "Skipped": 136}


def test_waiting_completion_counts_sale_modifiers_and_hour(metrics: MetricSet) -> None:
    assert increments(load_event("waiting-completion.json"), metrics) == {
        CounterKey("Aggregate", "2024-05-01", "Flat White"): 1,
        CounterKey("Aggregate", "2024-05-01", "TotalSales"): 1,
        # The sample names no shop (detail.eventId): counted under "unknown".
        CounterKey("sales_by_shop#day", "2024-05-01", '["unknown","Flat White"]'): 1,
        CounterKey("sales_by_shop#day", "2024-05-01", "TotalSales"): 1,
        CounterKey("modifiers#day", "2024-05-01", "Oat"): 1,
        CounterKey("hourly_sales#hour", "2024-05-01T13", "HourlyTotal"): 1,
        # A WaitingCompletion alone starts a wait; nothing is measured until its completion.
    }


def test_load_test_shape_has_no_modifiers_to_count(metrics: MetricSet) -> None:
    keys = increments(load_event("waiting-completion-loadtest-shape.json"), metrics)
    assert CounterKey("Aggregate", "2024-05-01", "Latte") in keys
    assert not any(k.partition == "modifiers#day" for k in keys)


def test_cancellation_shapes(metrics: MetricSet) -> None:
    assert increments(load_event("order-cancelled-detailed.json"), metrics) == {
        CounterKey("Cancelled", "2024-05-02", "Espresso"): 1,
        CounterKey("Cancelled", "2024-05-02", "TotalCancelled"): 1,
        CounterKey("cancellations_by_shop#day", "2024-05-02", '["unknown","Espresso"]'): 1,
    }
    assert increments(load_event("order-cancelled-state-machine.json"), metrics) == {
        CounterKey("Cancelled", "2024-05-02", "unknown"): 1,
        CounterKey("Cancelled", "2024-05-02", "TotalCancelled"): 1,
        CounterKey("cancellations_by_shop#day", "2024-05-02", '["NYC","unknown"]'): 1,
    }


def test_missing_drink_is_rejected_for_sales(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    del event["detail"]["drinkOrder"]["drink"]
    rejection = count(event, metrics)
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.metric, rejection.field) == (
        "dimension_missing",
        "sales",
        "detail.drinkOrder.drink",
    )


@pytest.mark.parametrize("drink", [42, {"name": "x"}, True, [1]])
def test_wrong_type_is_rejected(metrics: MetricSet, drink: Any) -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["drink"] = drink
    rejection = count(event, metrics)
    assert isinstance(rejection, Rejection) and rejection.reason == "dimension_wrong_type"


def test_blank_drink_counts_as_missing(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["drink"] = "   "
    assert count(event, metrics).reason == "dimension_missing"


def test_overlong_dimension_is_rejected(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["drink"] = "x" * 10_000
    rejection = count(event, metrics)
    assert isinstance(rejection, Rejection) and rejection.reason == "dimension_too_long"
    assert "max_dimension_length" in rejection.message or "max_length" in rejection.message


def test_dimension_named_like_the_total_is_rejected(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["drink"] = "TotalSales"
    assert count(event, metrics).reason == "dimension_reserved"


def test_first_present_alternative_path_is_used(metrics: MetricSet) -> None:
    event = load_event("order-cancelled-detailed.json")
    event["detail"]["drinkOrder"] = {"drink": None}  # present but null: the next path is used
    keys = increments(event, metrics)
    assert CounterKey("Cancelled", "2024-05-02", "Espresso") in keys


def test_each_distinct_array_element_is_counted_once(metrics: MetricSet) -> None:
    """An array dimension counts each distinct value once per event: an order of oat milk is
    one oat milk however often the array repeats it (issue #11: it used to count each copy)."""
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["modifiers"] = ["Oat", "Double", "Oat", " "]
    keys = increments(event, metrics)
    assert keys[CounterKey("modifiers#day", "2024-05-01", "Oat")] == 1
    assert keys[CounterKey("modifiers#day", "2024-05-01", "Double")] == 1


def test_a_repeated_value_cannot_outweigh_the_total() -> None:
    """Issue #11: `["Mocha"] * 30` in one event added 30 to Mocha but 1 to TotalSales."""
    metrics = load_metrics(
        """
[metrics.sales]
dimension = "detail.drinks"
total = "TotalSales"
[metrics.sales.events]
detail-type = ["Sale"]
"""
    )
    event = {**load_event("waiting-completion.json"), "detail-type": "Sale"}
    event["detail"] = {"drinks": ["Mocha"] * 30}
    keys = increments(event, metrics)
    assert keys == {
        CounterKey("sales#day", "2024-05-01", "Mocha"): 1,
        CounterKey("sales#day", "2024-05-01", "TotalSales"): 1,
    }


def test_modifier_of_wrong_type_rejects_the_record(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["drinkOrder"]["modifiers"] = ["Oat", 3]
    rejection = count(event, metrics)
    assert isinstance(rejection, Rejection) and rejection.metric == "modifiers"


def test_day_is_event_time_in_the_shop_time_zone(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["time"] = "2024-05-02T02:30:00Z"  # 22:30 the evening before in New York
    ny = metrics.with_time_zone("America/New_York")
    keys = increments(event, ny)
    assert CounterKey("Aggregate", "2024-05-01", "TotalSales") in keys
    assert CounterKey("hourly_sales#hour", "2024-05-01T22", "HourlyTotal") in keys
    assert CounterKey("Aggregate", "2024-05-02", "TotalSales") in increments(event, metrics)


def test_time_offsets_are_honoured(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["time"] = "2024-05-01T23:30:00-02:00"  # 01:30 UTC on May 2nd
    assert CounterKey("Aggregate", "2024-05-02", "TotalSales") in increments(event, metrics)


def test_dst_fall_back_hour_is_one_bucket(metrics: MetricSet) -> None:
    paris = metrics.with_time_zone("Europe/Paris")
    buckets = set()
    for t in ("2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"):  # 02:30 CEST, then 02:30 CET
        event = load_event("waiting-completion.json")
        event["time"] = t
        buckets |= {
            k.bucket for k in increments(event, paris) if k.partition == "hourly_sales#hour"
        }
    assert buckets == {"2024-10-27T02"}


class TestReplays:
    def test_skipped_by_default(self, metrics: MetricSet) -> None:
        assert count(load_event("replayed-event.json"), metrics) == Skipped("replay")

    def test_rebuild_counts_them_under_their_own_identity(self, metrics: MetricSet) -> None:
        result = count(load_event("replayed-event.json"), metrics, ReplayPolicy("rebuild"))
        assert isinstance(result, CountedEvent)
        assert result.marker == "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f5a"

    def test_backfill_counts_only_the_named_metrics_under_a_separate_marker(
        self, metrics: MetricSet
    ) -> None:
        policy = ReplayPolicy("backfill", frozenset({"modifiers"}))
        result = count(load_event("replayed-event.json"), metrics, policy)
        assert isinstance(result, CountedEvent)
        assert {k.partition for k in result.increments} == {"modifiers#day"}
        assert result.marker.endswith("#backfill:modifiers")

    def test_backfill_needs_metrics(self) -> None:
        with pytest.raises(ValueError, match="names of the metrics"):
            ReplayPolicy("backfill")


def test_custom_metric_file_counts_by_configuration() -> None:
    # GIVEN a metric added by configuration only: orders per user-agent robot flag
    text = """
    time_zone = "Asia/Tokyo"
    [metrics.robots]
    dimension = "detail.userId"
    total = "All"
    granularity = "month"
    [metrics.robots.events]
    detail-type = [{ prefix = "OrderManager.Waiting" }]
    detail = { robot = [false] }
    """
    m = load_metrics(text)
    event = copy.deepcopy(load_event("waiting-completion.json"))
    # WHEN an order arrives at 23:45 UTC on April 30th (08:45 on May 1st in Tokyo)
    event["time"] = "2024-04-30T23:45:00Z"
    # THEN it counts in May, under its user and the total
    assert increments(event, m) == {
        CounterKey("robots#month", "2024-05", "5f1c0d2e-7a43-4b8e-9f35-0c2d6e8a1b77"): 1,
        CounterKey("robots#month", "2024-05", "All"): 1,
    }
    event["detail"]["robot"] = True
    assert count(event, m) == Skipped("unmatched")
