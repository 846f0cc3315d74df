"""Metric definitions: what each metric counts, by what, in which buckets, under which total.

Metrics are declared in a TOML metrics file (``metrics_file.py`` reads it); this module is the
model the rest of the code uses: :class:`Metric` and :class:`MetricSet`, which routes an event to
the metrics whose pattern it matches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from presso_metrics.domain.caps import DimensionCap
from presso_metrics.domain.patterns import EventPattern, route_key, union
from presso_metrics.exceptions import ConfigError

ON_MISSING = ("reject", "skip", "count")
RESERVED_PARTITIONS = ("EVENT#", "DIMENSIONS", "META")


@dataclass(frozen=True)
class Metric:
    name: str
    pattern: EventPattern
    granularity: str = "day"
    dimension: tuple[tuple[str, ...], ...] = ()
    dimension_label: str = "dimension"
    on_missing: str = "reject"
    missing_label: str = "unknown"
    total: str | None = None
    partition: str = ""
    max_dimension_values: int = 100
    max_dimension_length: int = 100
    overflow_label: str = "other"
    description: str = ""

    @property
    def dimension_paths(self) -> list[str]:
        return [".".join(p) for p in self.dimension]

    @property
    def cap(self) -> DimensionCap:
        exempt = {self.missing_label, self.overflow_label}
        if self.total:
            exempt.add(self.total)
        return DimensionCap(self.max_dimension_values, self.overflow_label, frozenset(exempt))

    def describe(self) -> dict[str, Any]:
        """The definition as plain data (for the API and ``presso-metrics metrics``)."""
        return {
            "name": self.name,
            "description": self.description,
            "events": self.pattern.source,
            "dimension": self.dimension_paths or None,
            "dimension_label": self.dimension_label if self.dimension else None,
            "on_missing": self.on_missing if self.dimension else None,
            "granularity": self.granularity,
            "total": self.total,
            "partition": self.partition,
        }


ROUTE_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class MetricSet:
    metrics: tuple[Metric, ...]
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    origin: str = "<metrics>"
    _routes: dict[tuple[Any, ...], tuple[Metric, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __iter__(self) -> Iterator[Metric]:
        return iter(self.metrics)

    @functools.cached_property
    def _route_keys(self) -> tuple[str, ...] | None:
        """The top-level fields that decide which metrics match, if only such fields do."""
        keys: set[str] = set()
        for m in self.metrics:
            if m.pattern.top_level_keys is None:
                return None
            keys.update(m.pattern.top_level_keys)
        return tuple(sorted(keys))

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
        return {m.partition: m.cap for m in self.metrics if m.dimension}

    def rule_pattern(self) -> dict[str, Any]:
        """One EventBridge pattern routing exactly the events some metric counts."""
        return union([m.pattern.source for m in self.metrics])

    def with_time_zone(self, name: str) -> MetricSet:
        return MetricSet(self.metrics, zone_named(name, f"time zone {name!r}"), self.origin)


def zone_named(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: unknown time zone {name!r}; use an IANA name such as "
            "'UTC', 'Europe/Paris' or 'America/New_York'"
        ) from None
