"""The metrics file: a TOML file that declares the metrics.

Adding a metric is a change to that file, not to code. Each ``[metrics.<name>]`` table says which
events the metric counts (an EventBridge pattern), what it counts them by, in which time buckets,
and under which total. Errors name the file, the line, the key and the fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from presso_metrics.domain.buckets import GRANULARITIES
from presso_metrics.domain.metrics import (
    ON_MISSING,
    RESERVED_PARTITIONS,
    Metric,
    MetricSet,
    zone_named,
)
from presso_metrics.domain.patterns import EventPattern, compile_pattern
from presso_metrics.exceptions import ConfigError, PatternError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_METRIC_KEYS = {
    "description",
    "events",
    "dimension",
    "dimension_label",
    "on_missing",
    "missing_label",
    "granularity",
    "total",
    "partition",
    "max_dimension_values",
    "max_dimension_length",
    "overflow_label",
}


# Tables and arrays within one another, at most: the default metrics need 6, and a file nested
# far deeper would only exhaust the parser's (and the pattern compiler's) recursion.
MAX_NESTING = 32


def load_metrics(text: str, origin: str = "<metrics>") -> MetricSet:
    """Parse a metrics file. ``origin`` (the path) is used in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise _too_deep(origin) from None
    if _nesting(doc) > MAX_NESTING:
        raise _too_deep(origin)
    where = _Locator(text, origin)
    unknown = set(doc) - {"time_zone", "metrics"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"{where.key(None, key)}: unknown key '{key}'; "
            "the top level holds time_zone and [metrics.<name>] tables"
        )
    zone_name = doc.get("time_zone", "UTC")
    if not isinstance(zone_name, str):
        raise ConfigError(f"{where.key(None, 'time_zone')}: time_zone must be a string")
    zone = zone_named(zone_name, where.key(None, "time_zone"))
    tables = doc.get("metrics")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(
            f"{origin}: declares no metrics; add a [metrics.<name>] table with at least 'events'"
        )
    metrics = tuple(_metric(name, spec, where) for name, spec in tables.items())
    _check_unique(metrics, where)
    return MetricSet(metrics, zone, origin)


def _too_deep(where: str) -> ConfigError:
    return ConfigError(
        f"{where}: tables and arrays are nested more than {MAX_NESTING} levels deep; a metrics "
        "file needs only a few (see the packaged metrics.toml)"
    )


def _nesting(doc: Any) -> int:
    """How deep tables and arrays (or JSON objects and arrays) go in ``doc``, counted without
    recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _metric(name: str, spec: Any, where: _Locator) -> Metric:
    if not _NAME.match(name):
        raise ConfigError(
            f"{where.table(name)}: metric name {name!r} must be lower case letters, digits and "
            "underscores, starting with a letter"
        )
    if not isinstance(spec, dict):
        raise ConfigError(f"{where.table(name)}: metrics.{name} must be a table")
    unknown = set(spec) - _METRIC_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"{where.key(name, key)}: unknown key '{key}' in metrics.{name}; "
            "known keys: " + ", ".join(sorted(_METRIC_KEYS))
        )

    def text(key: str, default: str | None) -> str | None:
        if key not in spec:
            return default
        value = spec[key]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where.key(name, key)}: metrics.{name}.{key} must be a string")
        return value

    def number(key: str, default: int, low: int, high: int) -> int:
        value = spec.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(
                f"{where.key(name, key)}: metrics.{name}.{key} must be a whole number "
                f"from {low} to {high}"
            )
        return value

    if "events" not in spec:
        raise ConfigError(
            f"{where.table(name)}: metrics.{name} needs 'events', the EventBridge pattern of the "
            "events it counts"
        )
    pattern = _pattern(name, spec["events"], where)
    granularity = text("granularity", "day")
    if granularity not in GRANULARITIES:
        raise ConfigError(
            f"{where.key(name, 'granularity')}: granularity {granularity!r} is not one of "
            + ", ".join(GRANULARITIES)
        )
    dimension = _dimension(name, spec.get("dimension"), where)
    on_missing = text("on_missing", "reject")
    if on_missing not in ON_MISSING:
        raise ConfigError(
            f"{where.key(name, 'on_missing')}: on_missing must be one of "
            + ", ".join(ON_MISSING)
            + " (reject the record, skip this metric for it, or count it under missing_label)"
        )
    total = text("total", None)
    if not dimension and not total:
        raise ConfigError(
            f"{where.table(name)}: metrics.{name} has neither a dimension nor a total, "
            "so it would count nothing; add 'total = \"...\"'"
        )
    partition = text("partition", f"{name}#{granularity}")
    assert partition is not None and granularity is not None and on_missing is not None
    if partition.startswith(RESERVED_PARTITIONS):
        raise ConfigError(
            f"{where.key(name, 'partition')}: partition {partition!r} is reserved; "
            "choose another name"
        )
    for key in ("total", "missing_label", "overflow_label"):
        value = spec.get(key)
        if isinstance(value, str) and len(value) > 100:
            raise ConfigError(f"{where.key(name, key)}: {key} is longer than 100 characters")
    return Metric(
        name=name,
        pattern=pattern,
        granularity=granularity,
        dimension=dimension,
        dimension_label=text("dimension_label", "dimension") or "dimension",
        on_missing=on_missing,
        missing_label=text("missing_label", "unknown") or "unknown",
        total=total,
        partition=partition,
        max_dimension_values=number("max_dimension_values", 100, 1, 10_000),
        max_dimension_length=number("max_dimension_length", 100, 1, 1_000),
        overflow_label=text("overflow_label", "other") or "other",
        description=text("description", "") or "",
    )


def _pattern(name: str, raw: Any, where: _Locator) -> EventPattern:
    location = where.key(name, "events")
    if isinstance(raw, str):  # JSON text: the only way to write null, which TOML lacks
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{location}: metrics.{name}.events is not valid JSON: {e}") from None
        except RecursionError:
            raise _too_deep(location) from None
        if _nesting(raw) > MAX_NESTING:
            raise _too_deep(location)
    try:
        return compile_pattern(raw)
    except PatternError as e:
        at = f" at events.{e.path}" if e.path else ""
        raise ConfigError(
            f"{location}: metrics.{name}: bad event pattern{at}: {e.message}"
        ) from None


def _dimension(name: str, raw: Any, where: _Locator) -> tuple[tuple[str, ...], ...]:
    if raw is None:
        return ()
    paths = [raw] if isinstance(raw, str) else raw
    location = where.key(name, "dimension")
    if not isinstance(paths, list) or not paths:
        raise ConfigError(
            f"{location}: metrics.{name}.dimension must be a path such as "
            "'detail.drinkOrder.drink' or a list of alternative paths"
        )
    out = []
    for p in paths:
        if not isinstance(p, str) or not all(part for part in p.split(".")):
            raise ConfigError(
                f"{location}: metrics.{name}.dimension: {p!r} is not a dotted path "
                "such as 'detail.drinkOrder.drink'"
            )
        out.append(tuple(p.split(".")))
    return tuple(out)


def _check_unique(metrics: tuple[Metric, ...], where: _Locator) -> None:
    seen: dict[str, str] = {}
    for m in metrics:
        if m.partition in seen:
            raise ConfigError(
                f"{where.key(m.name, 'partition')}: metrics {seen[m.partition]} and {m.name} "
                f"both use partition {m.partition!r}; give each metric its own"
            )
        seen[m.partition] = m.name


class _Locator:
    """Finds the line of a table or key in the metrics file, for error messages."""

    def __init__(self, text: str, origin: str) -> None:
        self.lines = text.splitlines()
        self.origin = origin

    def _header(self, name: str, suffix: str = "") -> int | None:
        rx = re.compile(
            r"^\s*\[\s*metrics\s*\.\s*[\"']?" + re.escape(name) + r"[\"']?" + suffix + r"\s*\]"
        )
        for i, line in enumerate(self.lines):
            if rx.match(line):
                return i
        return None

    def table(self, name: str) -> str:
        i = self._header(name)
        return f"{self.origin}:{i + 1}" if i is not None else self.origin

    def key(self, name: str | None, key: str) -> str:
        start = 0
        if name is not None:
            sub = self._header(name, r"\s*\.\s*" + re.escape(key))
            if sub is not None:
                return f"{self.origin}:{sub + 1}"
            header = self._header(name)
            if header is None:
                return self.origin
            start = header + 1
        rx = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for i in range(start, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if rx.match(self.lines[i]):
                return f"{self.origin}:{i + 1}"
        return self.table(name) if name is not None else self.origin
