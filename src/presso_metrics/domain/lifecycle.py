"""The order lifecycle: figures that need more than one event of an order.

An order is the set of its events that correlated metrics care about (its WaitingCompletion, its
completion, its cancellation), each kept as an :class:`OrderEvent`: its marker, its time, the roles
it plays, and the dimension values it carries. The figures of an order are a pure function of that
set (:func:`figures`), the same whatever order the events arrive in. Counting an arriving event is
adding it to the set and applying the difference of the figures (:func:`merge`): a cancellation
first counted under ``unknown`` moves to its drink when the order's WaitingCompletion arrives, a
duration is counted once both ends are known. At rest the counters hold the in-order figures,
whatever the delivery order, duplicates or crashes, because the order's state and the counters
it decides are written together, in one transaction, by the stores.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from presso_metrics.domain.buckets import bucket_of_local, local_time
from presso_metrics.domain.counters import CounterKey, dimension_text
from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.histogram import COUNT, SUM_MS, bucket_of
from presso_metrics.domain.metrics import Metric, MetricSet

MAX_ORDER_EVENTS = 32  # an order with more events than this is not an order: refused
NO_DIMENSION = "all"  # the dimension text of a duration metric without dimensions


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """What the correlated metrics need of one event of an order."""

    marker: str
    time_ms: int  # epoch milliseconds of the event's time
    roles: frozenset[str]  # "<metric>", "<metric>.start", "<metric>.<label>@" (a value's source)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "<metric>.<label>"
    fingerprint: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"m": self.marker, "t": self.time_ms, "r": sorted(self.roles)}
        if self.values:
            out["v"] = {k: list(v) for k, v in self.values.items()}
        if self.fingerprint:
            out["f"] = self.fingerprint
        return out

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> OrderEvent:
        return cls(
            data["m"],
            int(data["t"]),
            frozenset(data["r"]),
            {k: tuple(v) for k, v in data.get("v", {}).items()},
            data.get("f", ""),
        )


def _order(events: Iterable[OrderEvent]) -> list[OrderEvent]:
    """Events in the order they happened (ties broken by marker: deterministic)."""
    return sorted(events, key=lambda e: (e.time_ms, e.marker))


def figures(events: Iterable[OrderEvent], metrics: MetricSet) -> dict[CounterKey, int]:
    """The counters the correlated metrics hold for one order made of ``events``."""
    ordered = _order(events)
    out: dict[CounterKey, int] = {}
    for metric in metrics.correlated:
        for event in ordered:
            if metric.name in event.roles:
                _count(metric, event, ordered, metrics, out)
    return {k: n for k, n in out.items() if n}


def _count(
    metric: Metric,
    event: OrderEvent,
    ordered: list[OrderEvent],
    metrics: MetricSet,
    out: dict[CounterKey, int],
) -> None:
    per_dimension: list[tuple[str, ...]] = []
    for d in metric.dimensions:
        key = f"{metric.name}.{d.label}"
        values = event.values.get(key)
        if values is None and d.from_order is not None:
            source = next((e for e in ordered if f"{key}@" in e.roles and key in e.values), None)
            values = source.values[key] if source is not None else None
        if values is None:
            if d.on_missing == "skip":
                return
            values = (d.missing_label,)
        per_dimension.append(values)
    moment = datetime.fromtimestamp(event.time_ms / 1000, UTC)
    bucket = bucket_of_local(local_time(moment, metrics.time_zone), metric.granularity)
    combos = [dimension_text(c) for c in itertools.product(*per_dimension)] if per_dimension else []

    def add(key: CounterKey, n: int) -> None:
        out[key] = out.get(key, 0) + n

    if metric.kind == "count":
        for text in combos:
            add(CounterKey(metric.partition, bucket, text), 1)
        if metric.total:
            add(CounterKey(metric.partition, bucket, metric.total), 1)
        return
    start = next((e for e in ordered if f"{metric.name}.start" in e.roles), None)
    if start is None:
        return  # counted once the start arrives
    ms = max(0, event.time_ms - start.time_ms)  # a clock running backwards counts as 0
    for text in combos or [NO_DIMENSION]:
        add(CounterKey(metric.partition, bucket, text, COUNT), 1)
        add(CounterKey(metric.partition, bucket, text, SUM_MS), ms)
        add(CounterKey(metric.partition, bucket, text, bucket_of(ms, metric.bounds)), 1)


@dataclass
class Merge:
    """The outcome of adding arriving events to an order."""

    events: list[OrderEvent]  # the order's events now
    delta: dict[CounterKey, int]  # what the counters must change by
    counted: list[OrderEvent]
    duplicates: dict[str, str]  # marker -> the fingerprint it was counted with
    refused: list[OrderEvent]  # beyond MAX_ORDER_EVENTS


def merge(known: Sequence[OrderEvent], arriving: Iterable[OrderEvent], metrics: MetricSet) -> Merge:
    """Add ``arriving`` to an order whose stored events are ``known``."""
    by_marker = {e.marker: e for e in known}
    counted: list[OrderEvent] = []
    duplicates: dict[str, str] = {}
    refused: list[OrderEvent] = []
    for event in arriving:
        if event.marker in by_marker:
            duplicates[event.marker] = by_marker[event.marker].fingerprint
        elif len(by_marker) >= MAX_ORDER_EVENTS:
            refused.append(event)
        else:
            by_marker[event.marker] = event
            counted.append(event)
    if not counted:
        return Merge(list(known), {}, [], duplicates, refused)
    after = list(by_marker.values())
    before = figures(known, metrics)
    delta = figures(after, metrics)
    for key, n in before.items():
        delta[key] = delta.get(key, 0) - n
    return Merge(after, {k: n for k, n in delta.items() if n}, counted, duplicates, refused)


def order_too_large(key: str) -> Rejection:
    return Rejection(
        "order_too_large",
        f"order {key[:80]!r} already holds {MAX_ORDER_EVENTS} events; an order with more is not "
        "an order (a producer reusing its id?), so this event is refused rather than counted",
        "detail.orderId",
    )


def encode_state(events: Sequence[OrderEvent]) -> str:
    """An order's events as stored (compact JSON)."""
    return orjson.dumps([e.as_json() for e in events]).decode()


def decode_state(text: str | bytes | None) -> list[OrderEvent]:
    if not text:
        return []
    return [OrderEvent.of_json(item) for item in orjson.loads(text)]
