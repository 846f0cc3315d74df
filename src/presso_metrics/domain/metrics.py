"""Metric definitions: what each metric counts, by what, in which buckets, under which total.

Metrics are declared in a TOML metrics file (``metrics_file.py`` reads it); this module is the
model the rest of the code uses: :class:`Metric` and :class:`MetricSet`, which routes an event to
the metrics whose pattern it matches.

Two kinds of metric:

- ``count`` counts the events its pattern selects, per time bucket and up to two dimensions (a
  drink, a shop and a drink), plus an all-dimensions total.
- ``duration`` measures, for each event its pattern selects (the end of something), the seconds
  since the order's ``start`` event, as a histogram with an exact count and sum.

A metric that ``correlate``\\ s by a path (``detail.orderId``) follows an order across its events: a
duration needs both ends, and a count may take a dimension from another event of the order
(``from_order``: a cancellation counted by the drink of the order's WaitingCompletion).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from presso_metrics.domain.caps import DimensionCap
from presso_metrics.domain.patterns import EventPattern, route_key, union
from presso_metrics.exceptions import ConfigError

ON_MISSING = ("reject", "skip", "count")
KINDS = ("count", "duration")
RESERVED_PARTITIONS = ("EVENT#", "ORDER#", "DIMENSIONS", "META")
MAX_DIMENSIONS = 2
# An event dated before this, or more than a day ahead of the clock, is implausible: rejected.
DEFAULT_EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_MAX_AHEAD = timedelta(days=1)
# Seconds: the upper bounds of a wait's histogram buckets (the last bucket is open-ended).
DEFAULT_DURATION_BOUNDS = (30, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600)


@dataclass(frozen=True)
class Dimension:
    """What a metric counts an event by: the first of ``paths`` present in the event."""

    label: str
    paths: tuple[tuple[str, ...], ...]
    on_missing: str = "reject"
    missing_label: str = "unknown"
    max_values: int = 100
    max_length: int = 100
    overflow_label: str = "other"
    # When the event has no value, take it from the order's earliest event matching this.
    from_order: EventPattern | None = None

    @property
    def path_names(self) -> list[str]:
        return [".".join(p) for p in self.paths]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "paths": self.path_names,
            "on_missing": self.on_missing,
        }
        if self.from_order is not None:
            out["from_order"] = self.from_order.source
        return out


@dataclass(frozen=True)
class EventTimeBounds:
    """Event times a consumer accepts: from ``earliest`` to ``max_ahead`` past its clock."""

    earliest: datetime = DEFAULT_EARLIEST_EVENT_TIME
    max_ahead: timedelta = DEFAULT_MAX_AHEAD


@dataclass(frozen=True)
class Metric:
    name: str
    pattern: EventPattern
    granularity: str = "day"
    dimensions: tuple[Dimension, ...] = ()
    total: str | None = None
    partition: str = ""
    description: str = ""
    kind: str = "count"
    correlate: tuple[str, ...] | None = None  # the path of the order's identity
    start: EventPattern | None = None  # duration: the order's event it is measured from
    bounds: tuple[int, ...] = ()  # duration: histogram bucket upper bounds, seconds

    # The first dimension, as a metric with one dimension describes it.
    @property
    def dimension(self) -> tuple[tuple[str, ...], ...]:
        return self.dimensions[0].paths if self.dimensions else ()

    @property
    def dimension_paths(self) -> list[str]:
        return self.dimensions[0].path_names if self.dimensions else []

    @property
    def dimension_label(self) -> str:
        return self.dimensions[0].label if self.dimensions else "dimension"

    @property
    def on_missing(self) -> str:
        return self.dimensions[0].on_missing if self.dimensions else "reject"

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(d.label for d in self.dimensions)

    @property
    def correlated(self) -> bool:
        """Whether counting an event needs the other events of its order."""
        return self.correlate is not None and (
            self.kind == "duration" or any(d.from_order is not None for d in self.dimensions)
        )

    def caps(self) -> dict[str, DimensionCap]:
        """The cap of each dimension, by registry name (the partition when there is one)."""
        out = {}
        for d in self.dimensions:
            exempt = {d.missing_label, d.overflow_label}
            if self.total:
                exempt.add(self.total)
            registry = (
                self.partition if len(self.dimensions) == 1 else f"{self.partition}|{d.label}"
            )
            out[registry] = DimensionCap(
                d.max_values,
                d.overflow_label,
                frozenset(exempt),
                partition=self.partition,
                position=self.dimensions.index(d),
                arity=len(self.dimensions),
            )
        return out

    def describe(self) -> dict[str, Any]:
        """The definition as plain data (for the API and ``presso-metrics metrics``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "events": self.pattern.source,
            "dimension": self.dimension_paths or None,
            "dimension_label": self.dimension_label if self.dimensions else None,
            "on_missing": self.on_missing if self.dimensions else None,
            "dimensions": [d.describe() for d in self.dimensions],
            "granularity": self.granularity,
            "total": self.total,
            "partition": self.partition,
        }
        if self.correlate is not None:
            out["correlate"] = ".".join(self.correlate)
        if self.kind == "duration":
            assert self.start is not None
            out["start"] = self.start.source
            out["bounds_seconds"] = list(self.bounds)
        return out


ROUTE_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class MetricSet:
    metrics: tuple[Metric, ...]
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    origin: str = "<metrics>"
    event_time: EventTimeBounds = field(default_factory=EventTimeBounds)
    _routes: dict[tuple[Any, ...], tuple[Metric, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    @functools.cached_property
    def _route_keys(self) -> tuple[str, ...] | None:
        """The top-level fields that decide which metrics match, if only such fields do."""
        keys: set[str] = set()
        for pattern in self.patterns:
            if pattern.top_level_keys is None:
                return None
            keys.update(pattern.top_level_keys)
        return tuple(sorted(keys))

    @functools.cached_property
    def patterns(self) -> tuple[EventPattern, ...]:
        """Every pattern an event is routed by: the metrics', their start events', and the
        events a dimension is taken from."""
        out = []
        for m in self.metrics:
            out.append(m.pattern)
            if m.start is not None:
                out.append(m.start)
            out.extend(d.from_order for d in m.dimensions if d.from_order is not None)
        return tuple(out)

    def matching(self, event: dict[str, Any]) -> tuple[Metric, ...]:
        """The metrics whose pattern matches ``event``. When every pattern reads only
        top-level fields (the default metrics read source and detail-type), the answer is
        cached by those fields' values: one lookup per event instead of one match per metric."""
        keys = self._route_keys
        if keys is None:
            return tuple(m for m in self.metrics if m.pattern.matches(event))
        key = route_key(event, keys)
        if key is None:  # an unhashable value (an array)
            return tuple(m for m in self.metrics if m.pattern.matches(event))
        try:
            return self._routes[key]
        except KeyError:
            found = tuple(m for m in self.metrics if m.pattern.matches(event))
            if len(self._routes) >= ROUTE_CACHE_LIMIT:
                self._routes.clear()
            self._routes[key] = found
            return found

    @functools.cached_property
    def correlated(self) -> tuple[Metric, ...]:
        return tuple(m for m in self.metrics if m.correlated)

    @functools.cached_property
    def order_key(self) -> tuple[str, ...] | None:
        """The path that identifies an order (every correlated metric uses the same one)."""
        return self.correlated[0].correlate if self.correlated else None

    def __len__(self) -> int:
        return len(self.metrics)

    def names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def get(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def caps(self) -> dict[str, DimensionCap]:
        out: dict[str, DimensionCap] = {}
        for m in self.metrics:
            out.update(m.caps())
        return out

    def rule_pattern(self) -> dict[str, Any]:
        """One EventBridge pattern routing exactly the events some metric needs."""
        return union([p.source for p in self.patterns])

    def with_time_zone(self, name: str) -> MetricSet:
        zone = zone_named(name, f"time zone {name!r}")
        return MetricSet(self.metrics, zone, self.origin, self.event_time)


def zone_named(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: unknown time zone {name!r}; use an IANA name such as "
            "'UTC', 'Europe/Paris' or 'America/New_York'"
        ) from None
