"""What an event counts for: the counters it increments, or why it cannot be counted.

Pure functions over :class:`Envelope` and :class:`MetricSet`. The result for one event is a
:class:`CountedEvent` (its dedup marker, its increments, and what the order it belongs to needs of
it), a :class:`Rejection`, or a :class:`Skipped` (a replay the operator did not opt in to, or an
event no metric counts).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from presso_metrics.domain.buckets import BucketError, bucket_of_local, local_time
from presso_metrics.domain.counters import CounterKey, dimension_text
from presso_metrics.domain.dimensions import (
    MAX_PARTITION_KEY_BYTES,
    control_character,
    find_values,
    key_too_long,
    missing,
)
from presso_metrics.domain.envelope import Envelope, Rejection
from presso_metrics.domain.lifecycle import OrderEvent, figures
from presso_metrics.domain.metrics import Metric, MetricSet
from presso_metrics.domain.paths import walk

REPLAY_MODES = ("skip", "rebuild", "backfill")


@dataclass(frozen=True, slots=True)
class CountedEvent:
    """An event to count once: ``marker`` is its dedup identity."""

    marker: str
    increments: Mapping[CounterKey, int]
    # The order this event belongs to (correlated metrics), and what they need of the event.
    order_key: str | None = None
    order_event: OrderEvent | None = None
    fingerprint: str = ""  # per-field hashes: tells a reused id from a redelivery


@dataclass(frozen=True, slots=True)
class Skipped:
    reason: str  # "replay" or "unmatched"


@dataclass(frozen=True)
class ReplayPolicy:
    """What to do with events replayed from an archive (they carry ``replay-name``).

    ``skip`` (default): acknowledge without counting; their markers may have expired, so
    counting them could count twice. ``rebuild``: count them, for rebuilding into an empty
    store. ``backfill``: count them for the named metrics only, under a separate marker so a
    backfill does not collide with the original counting.
    """

    mode: str = "skip"
    metrics: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.mode not in REPLAY_MODES:
            raise ValueError(f"replay mode must be one of {', '.join(REPLAY_MODES)}")
        if self.mode == "backfill" and not self.metrics:
            raise ValueError("backfill needs the names of the metrics to backfill")


SKIP_REPLAYS = ReplayPolicy()


def count_event(
    envelope: Envelope, metrics: MetricSet, replay: ReplayPolicy = SKIP_REPLAYS
) -> CountedEvent | Rejection | Skipped:
    marker = envelope.identity
    event = envelope.raw
    selected = metrics.matching(event)
    correlated = metrics.correlated
    if envelope.replay_name is not None:
        if replay.mode == "skip":
            return Skipped("replay")
        if replay.mode == "backfill":
            # Backfilled under a marker of their own, plain metrics only (an order's state
            # belongs to its original events).
            selected = tuple(m for m in selected if m.name in replay.metrics)
            marker = f"{marker}#backfill:{'+'.join(sorted(replay.metrics))}"
            correlated = ()
    try:
        local = local_time(envelope.time, metrics.time_zone)
    except BucketError:
        return Rejection(
            "time_out_of_range",
            f"time {envelope.time.isoformat()} cannot be placed in a day in {metrics.time_zone}",
            "time",
        )
    increments: dict[CounterKey, int] = {}
    for metric in selected:
        if metric.correlated:
            continue  # counted through its order
        problem = _count_plain(
            event, metric, bucket_of_local(local, metric.granularity), increments
        )
        if problem is not None:
            return problem
    order = _order_event(envelope, marker, correlated) if correlated else None
    if isinstance(order, Rejection):
        return order
    if order is None and not increments:
        return Skipped("unmatched")
    fingerprint = _fingerprint(event)
    if order is None:
        return CountedEvent(marker, increments, fingerprint=fingerprint)
    order_event = OrderEvent(marker, order[1].time_ms, order[1].roles, order[1].values, fingerprint)
    if order[0] is None:
        # No order to follow (no order id): its correlated figures are its own alone.
        for key, n in figures([order_event], metrics).items():
            increments[key] = increments.get(key, 0) + n
        return CountedEvent(marker, increments, fingerprint=fingerprint)
    return CountedEvent(marker, increments, order[0], order_event, fingerprint)


def _count_plain(
    event: Mapping[str, Any], metric: Metric, bucket: str, increments: dict[CounterKey, int]
) -> Rejection | None:
    per_dimension: list[tuple[str, ...]] = []
    for dim in metric.dimensions:
        values = find_values(event, dim, metric.name, metric.total)
        if isinstance(values, Rejection):
            return values
        if not values and dim.on_missing == "reject":
            return missing(dim, metric.name)
        if values is None:
            if dim.on_missing == "skip":
                return None
            values = (dim.missing_label,)
        per_dimension.append(values)
    if per_dimension:
        for combo in itertools.product(*per_dimension):
            key = CounterKey(metric.partition, bucket, dimension_text(combo))
            problem = key_too_long(key.sort_key, metric.dimensions, metric.name)
            if problem is not None:
                return problem
            increments[key] = increments.get(key, 0) + 1
    if metric.total:
        key = CounterKey(metric.partition, bucket, metric.total)
        increments[key] = increments.get(key, 0) + 1
    return None


def _order_event(
    envelope: Envelope, marker: str, correlated: tuple[Metric, ...]
) -> tuple[str | None, OrderEvent] | Rejection | None:
    """The order ``envelope`` belongs to and what its correlated metrics need of it; None when
    it plays no part in any order."""
    event = envelope.raw
    roles: set[str] = set()
    values: dict[str, tuple[str, ...]] = {}
    for metric in correlated:
        main = metric.pattern.matches(event)
        if main:
            roles.add(metric.name)
        if metric.start is not None and metric.start.matches(event):
            roles.add(f"{metric.name}.start")
        for dim in metric.dimensions:
            source = dim.from_order is not None and dim.from_order.matches(event)
            if not (main or source):
                continue
            found = find_values(event, dim, metric.name, metric.total)
            if isinstance(found, Rejection):
                return found
            if main and not found and dim.on_missing == "reject" and dim.from_order is None:
                return missing(dim, metric.name)
            key = f"{metric.name}.{dim.label}"
            if found:
                values[key] = found
            if source:
                roles.add(f"{key}@")
    if not roles:
        return None
    order = _order_id(event, correlated[0])
    if isinstance(order, Rejection):
        return order
    time_ms = int(envelope.time.timestamp() * 1000)
    return order, OrderEvent(marker, time_ms, frozenset(roles), values)


def _order_id(event: Mapping[str, Any], metric: Metric) -> str | Rejection | None:
    assert metric.correlate is not None
    value = walk(event, metric.correlate)
    if not isinstance(value, str) or not value.strip():
        return None  # not part of an order we can follow
    field = ".".join(metric.correlate)
    if control_character(value) is not None or len(value) > 512:
        return Rejection(
            "order_id_invalid",
            f"{field} must be text of at most 512 characters without control characters",
            field,
            metric.name,
        )
    if len(("ORDER#" + value).encode("utf-8", "surrogatepass")) > MAX_PARTITION_KEY_BYTES:
        return Rejection(
            "order_id_invalid",
            f"{field} is longer than the store's keys allow ({MAX_PARTITION_KEY_BYTES} bytes)",
            field,
            metric.name,
        )
    return value


FINGERPRINT_FIELDS = ("source", "detail-type", "time", "detail")


def _fingerprint(event: Mapping[str, Any]) -> str:
    """A short hash of each field that makes an event what it is, to tell a redelivery (same
    content) from a reused id (different content) and say which fields differ."""
    parts = []
    for name in FINGERPRINT_FIELDS:
        digest = hashlib.blake2b(
            orjson.dumps(event.get(name), option=orjson.OPT_SORT_KEYS), digest_size=4
        )
        parts.append(f"{name}={digest.hexdigest()}")
    return ",".join(parts)


def differing_fields(first: str, second: str) -> list[str]:
    """The fields whose hashes differ between two fingerprints."""
    a = dict(p.split("=", 1) for p in first.split(",") if "=" in p)
    b = dict(p.split("=", 1) for p in second.split(",") if "=" in p)
    return [name for name in FINGERPRINT_FIELDS if a.get(name) != b.get(name)]


def sum_increments(events: Iterable[CountedEvent]) -> dict[CounterKey, int]:
    """The summed delta of each counter over ``events``."""
    total: dict[CounterKey, int] = {}
    for e in events:
        for key, n in e.increments.items():
            total[key] = total.get(key, 0) + n
    return total
