"""The pipeline's status over time: queue depth, in flight, dead letters and the counting rate.

``presso-metrics status`` prints one :class:`Snapshot` as JSON; ``status --watch`` follows them
(:func:`follow`) and shows the depth as a sparkline and the events counted per second between
consecutive snapshots.

What "counted" is depends on the backend, because only the embedded one can count every event
cheaply (see :func:`event_tally`).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from presso_metrics.bootstrap import Stack
from presso_metrics.domain.metrics import Metric
from presso_metrics.views import metric_rows

SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Snapshot:
    at: datetime  # wall clock, local time zone
    monotonic: float
    visible: int
    in_flight: int
    dead_letters: int
    counted: int | None  # cumulative, as defined by the tally (None: not known)

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight


@dataclass(frozen=True)
class EventTally:
    """How many events the consumers have counted so far, and what that figure covers."""

    count: Callable[[], int]
    covers: str


def event_tally(stack: Stack) -> EventTally:
    """Embedded: the dedup markers, one per event ever counted (until it expires): exact, any
    event time. AWS: markers cannot be counted without scanning the table, so the figure is the
    sum of today's totals (in the shop's time zone) of the metrics that have one, one metric
    per event pattern (the hourly total counts the same events as the daily one): exact for
    events dated today, blind to a backlog of older events, and it restarts at midnight."""
    if not stack.settings.aws:
        from presso_metrics.adapters.sqlite_stats import counted_events

        db = stack.resources
        return EventTally(lambda: counted_events(db), "events counted (dedup markers)")
    chosen: dict[str, Metric] = {}
    for metric in stack.metrics:
        if metric.total:
            chosen.setdefault(json.dumps(metric.pattern.source, sort_keys=True), metric)
    metrics = list(chosen.values())
    zone = stack.metrics.time_zone

    def today_totals() -> int:
        today = datetime.now(zone).date()
        return int(
            sum(
                row.value
                for metric in metrics
                for row in metric_rows(stack.store, metric, today, today)
                if row.dimension == metric.total
            )
        )

    names = ", ".join(str(m.total) for m in metrics)
    return EventTally(today_totals, f"events of today counted ({names})")


def snapshot(stack: Stack, tally: EventTally | None = None) -> Snapshot:
    depth = stack.queue.depth()
    dead = stack.dead_letters.depth().total
    return Snapshot(
        at=datetime.now().astimezone(),
        monotonic=time.monotonic(),
        visible=depth.visible,
        in_flight=depth.in_flight,
        dead_letters=dead,
        counted=tally.count() if tally is not None else None,
    )


def status_json(s: Snapshot, queue: str, dead_letter_queue: str) -> dict[str, object]:
    """What ``presso-metrics status`` prints."""
    return {
        "queue": {"name": queue, "visible": s.visible, "in_flight": s.in_flight},
        "dead_letter_queue": {"name": dead_letter_queue, "messages": s.dead_letters},
        "at": s.at.isoformat(timespec="seconds"),
    }


class History:
    """The last ``size`` snapshots."""

    def __init__(self, size: int = 60, covers: str = "") -> None:
        self.snapshots: deque[Snapshot] = deque(maxlen=size)
        self.covers = covers

    def add(self, s: Snapshot) -> None:
        self.snapshots.append(s)

    @property
    def latest(self) -> Snapshot:
        return self.snapshots[-1]

    @property
    def rate(self) -> float | None:
        """Events counted per second between the last two snapshots (None before the second
        one). A figure that fell (markers expired, a new day began) reads as 0, not negative."""
        if len(self.snapshots) < 2:
            return None
        before, now = self.snapshots[-2], self.snapshots[-1]
        if before.counted is None or now.counted is None:
            return None
        seconds = now.monotonic - before.monotonic
        if seconds <= 0:
            return None
        return max(0, now.counted - before.counted) / seconds

    @property
    def depths(self) -> list[int]:
        return [s.depth for s in self.snapshots]

    @property
    def seconds(self) -> float:
        return self.latest.monotonic - self.snapshots[0].monotonic

    def as_json(self, queue: str, dead_letter_queue: str) -> dict[str, object]:
        """One line of ``status --watch`` when its output is not a terminal."""
        rate = self.rate
        return {
            **status_json(self.latest, queue, dead_letter_queue),
            "counted": {
                "events": self.latest.counted,
                "per_second": None if rate is None else round(rate, 2),
                "covers": self.covers,
            },
        }


def sparkline(values: Sequence[int], width: int | None = None) -> str:
    """``values`` as block characters scaled to their maximum: empty is the lowest block, any
    message at all at least the second, the maximum the full block."""
    if width is not None:
        values = values[-width:]
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    levels = len(SPARKS) - 1
    return "".join(SPARKS[0 if v <= 0 else max(1, -(-v * levels // top))] for v in values)


def follow(
    stack: Stack,
    interval: float = 1.0,
    *,
    size: int = 60,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[History]:
    """Take a snapshot every ``interval`` seconds, forever; yields the history after each."""
    if interval <= 0:
        raise ValueError("the interval is a number of seconds above 0")
    tally = event_tally(stack)
    history = History(size, tally.covers)
    due = time.monotonic()
    while True:
        history.add(snapshot(stack, tally))
        yield history
        due += interval
        wait = due - time.monotonic()
        if wait < 0:  # fell behind (a slow read): keep the pace from now on
            due, wait = time.monotonic(), 0.0
        sleep(wait)
