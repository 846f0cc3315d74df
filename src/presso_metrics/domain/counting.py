"""What an event counts for: the counters it increments, or why it cannot be counted.

Pure functions over :class:`Envelope` and :class:`MetricSet`. The result for one event is a
:class:`CountedEvent` (its dedup marker and its increments), a :class:`Rejection`, or a
:class:`Skipped` (a replay the operator did not opt in to, or an event no metric counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from presso_metrics.domain.buckets import BucketError, bucket_of_local, local_time
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.envelope import Envelope, Rejection
from presso_metrics.domain.metrics import Metric, MetricSet
from presso_metrics.domain.paths import MISSING, walk

REPLAY_MODES = ("skip", "rebuild", "backfill")


@dataclass(frozen=True, slots=True)
class CountedEvent:
    """An event to count once: ``marker`` is its dedup identity."""

    marker: str
    increments: Mapping[CounterKey, int]


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
    if envelope.replay_name is not None:
        if replay.mode == "skip":
            return Skipped("replay")
        if replay.mode == "backfill":
            selected = tuple(m for m in selected if m.name in replay.metrics)
            marker = f"{marker}#backfill:{'+'.join(sorted(replay.metrics))}"
    if not selected:
        return Skipped("unmatched")
    increments: dict[CounterKey, int] = {}
    local = None
    for metric in selected:
        if local is None:
            try:
                local = local_time(envelope.time, metrics.time_zone)
            except BucketError:
                return Rejection(
                    "time_out_of_range",
                    f"time {envelope.time.isoformat()} cannot be placed in a "
                    f"{metric.granularity} in {metrics.time_zone}",
                    "time",
                    metric.name,
                )
        bucket = bucket_of_local(local, metric.granularity)
        if metric.dimension:
            values = dimension_values(event, metric)
            if isinstance(values, Rejection):
                return values
            if values is None:  # the event has no value for the dimension
                if metric.on_missing == "skip":
                    continue
                values = (metric.missing_label,)
            for value in values:
                key = CounterKey(metric.partition, bucket, value)
                increments[key] = increments.get(key, 0) + 1
        if metric.total:
            key = CounterKey(metric.partition, bucket, metric.total)
            increments[key] = increments.get(key, 0) + 1
    if not increments:
        return Skipped("unmatched")
    return CountedEvent(marker, increments)


def dimension_values(
    event: Mapping[str, Any], metric: Metric
) -> tuple[str, ...] | Rejection | None:
    """The metric's dimension values in ``event``: the first present alternative path.

    ``None`` when no path is present (or the value is null, empty or blank) and the metric
    does not reject that; a :class:`Rejection` for a wrong type, an over-long value, or a
    value that would collide with the metric's total.
    """
    found = MISSING
    used = metric.dimension[0]
    for path in metric.dimension:
        value = walk(event, path)
        if value is not MISSING and value is not None:
            found, used = value, path
            break
    if (
        type(found) is str
        and found.strip()
        and len(found) <= metric.max_dimension_length
        and found != metric.total
    ):
        return (found,)  # the common case
    field = ".".join(used)
    if isinstance(found, str):
        values: list[Any] = [found]
    elif isinstance(found, list):
        values = found
    elif found is MISSING:
        values = []
    else:
        return Rejection(
            "dimension_wrong_type",
            f"{field} must be a string (or an array of strings), not {type(found).__name__}",
            field,
            metric.name,
        )
    out = []
    for v in values:
        if not isinstance(v, str):
            return Rejection(
                "dimension_wrong_type",
                f"{field} must hold strings, not {type(v).__name__}",
                field,
                metric.name,
            )
        if not v.strip():
            continue
        if len(v) > metric.max_dimension_length:
            return Rejection(
                "dimension_too_long",
                f"{field} is {len(v)} characters long; metric {metric.name} accepts at most "
                f"{metric.max_dimension_length} (max_dimension_length in the metrics file)",
                field,
                metric.name,
            )
        if v == metric.total:
            return Rejection(
                "dimension_reserved",
                f"{field} is {v!r}, the name of metric {metric.name}'s total",
                field,
                metric.name,
            )
        out.append(v)
    if out:
        return tuple(out)
    if metric.on_missing == "reject":
        paths = " or ".join(".".join(p) for p in metric.dimension)
        return Rejection(
            "dimension_missing",
            f"the event has no {metric.dimension_label} ({paths}) and metric {metric.name} "
            "requires one",
            field,
            metric.name,
        )
    if isinstance(found, list):
        return ()  # an empty (or all-blank) array: no values, so nothing to count
    return None


def sum_increments(events: Iterable[CountedEvent]) -> dict[CounterKey, int]:
    """The summed delta of each counter over ``events``."""
    total: dict[CounterKey, int] = {}
    for e in events:
        for key, n in e.increments.items():
            total[key] = total.get(key, 0) + n
    return total
