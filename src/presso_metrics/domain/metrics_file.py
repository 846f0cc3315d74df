"""The metrics file: a TOML file that declares the metrics.

Adding a metric is a change to that file, not to code. Each ``[metrics.<name>]`` table says which
events the metric counts (an EventBridge pattern), what it counts them by, in which time buckets,
and under which total. Errors name the file, the line, the key and the fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from presso_metrics.domain.buckets import GRANULARITIES
from presso_metrics.domain.metrics import (
    DEFAULT_DURATION_BOUNDS,
    DEFAULT_EARLIEST_EVENT_TIME,
    DEFAULT_MAX_AHEAD,
    KINDS,
    MAX_DIMENSIONS,
    ON_MISSING,
    RESERVED_PARTITIONS,
    Dimension,
    EventTimeBounds,
    Metric,
    MetricSet,
    zone_named,
)
from presso_metrics.domain.patterns import EventPattern, compile_pattern
from presso_metrics.domain.toml_tables import MAX_NESTING, Locator, Table, nesting, too_deep
from presso_metrics.exceptions import ConfigError, PatternError

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_ -]{0,39}$")
_METRIC_KEYS = {
    "description",
    "events",
    "kind",
    "dimension",
    "dimension_label",
    "dimensions",
    "on_missing",
    "missing_label",
    "granularity",
    "total",
    "partition",
    "max_dimension_values",
    "max_dimension_length",
    "overflow_label",
    "correlate",
    "start",
    "bounds",
}
_DIMENSION_KEYS = {
    "label",
    "path",
    "on_missing",
    "missing_label",
    "max_values",
    "max_length",
    "overflow_label",
    "from_order",
}
# DynamoDB keeps one item per dimension listing its values; an item holds at most 400 KB.
MAX_REGISTRY_BYTES = 300 * 1024


def load_metrics(text: str, origin: str = "<metrics>") -> MetricSet:
    """Parse a metrics file. ``origin`` (the path) is used in error messages."""
    try:
        # Numbers exactly as written: EventBridge reads pattern numbers as text and refuses
        # some a float would silently round (1e-400 is not 0 to it).
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise too_deep(origin) from None
    if nesting(doc) > MAX_NESTING:
        raise too_deep(origin)
    where = Locator(text, origin)
    unknown = set(doc) - {"time_zone", "metrics", "event_time"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"{where.top(key)}: unknown key '{key}'; the top level holds time_zone, "
            "[event_time] and [metrics.<name>] tables"
        )
    zone_name = doc.get("time_zone", "UTC")
    if not isinstance(zone_name, str):
        raise ConfigError(f"{where.top('time_zone')}: time_zone must be a string")
    zone = zone_named(zone_name, where.top("time_zone"))
    tables = doc.get("metrics")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(
            f"{origin}: declares no metrics; add a [metrics.<name>] table with at least 'events'"
        )
    metrics = tuple(_metric(name, spec, where) for name, spec in tables.items())
    _check_unique(metrics, where)
    _check_correlation(metrics, where)
    return MetricSet(metrics, zone, origin, _event_time(doc.get("event_time"), where))


def _metric(name: str, spec: Any, where: Locator) -> Metric:
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
    table = Table(spec, name, f"metrics.{name}", where)
    if "events" not in spec:
        raise ConfigError(
            f"{where.table(name)}: metrics.{name} needs 'events', the EventBridge pattern of the "
            "events it counts"
        )
    pattern = _table_pattern(table, "events")
    kind = table.choice("kind", "count", KINDS, " (count events, or measure a duration)")
    granularity = table.text("granularity", "day") or "day"
    if granularity not in GRANULARITIES:
        raise ConfigError(
            f"{table.at('granularity')}: granularity {granularity!r} is not one of "
            + ", ".join(GRANULARITIES)
        )
    correlate = table.path("correlate") if "correlate" in spec else None
    dimensions = _dimensions(table, correlate is not None)
    total = table.text("total", None)
    partition = table.text("partition", f"{name}#{granularity}") or ""
    if partition.startswith(RESERVED_PARTITIONS):
        raise ConfigError(
            f"{table.at('partition')}: partition {partition!r} is reserved; choose another name"
        )
    start: EventPattern | None = None
    bounds: tuple[int, ...] = ()
    if kind == "duration":
        start, bounds = _duration(table, correlate, total)
    elif not dimensions and not total:
        raise ConfigError(
            f"{where.table(name)}: metrics.{name} has neither a dimension nor a total, "
            "so it would count nothing; add 'total = \"...\"'"
        )
    for key in ("start", "bounds"):
        if key in spec and kind != "duration":
            raise table.fail(key, 'is for duration metrics (kind = "duration")')
    return Metric(
        name=name,
        pattern=pattern,
        granularity=granularity,
        dimensions=dimensions,
        total=total,
        partition=partition,
        description=table.text("description", "", limit=500) or "",
        kind=kind,
        correlate=correlate,
        start=start,
        bounds=bounds,
    )


def _duration(
    table: Table, correlate: tuple[str, ...] | None, total: str | None
) -> tuple[EventPattern, tuple[int, ...]]:
    if correlate is None:
        raise table.fail(
            "kind",
            "is a duration, which needs 'correlate', the path of what the start and end events "
            "share (such as 'detail.orderId')",
        )
    if "start" not in table.spec:
        raise table.fail("kind", "is a duration, which needs 'start', the pattern of its start")
    if total is not None:
        raise table.fail("total", "is for counts: a duration reports its count and sum itself")
    raw = table.spec.get("bounds", list(DEFAULT_DURATION_BOUNDS))
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= 40
        or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in raw)
        or raw != sorted(set(raw))
    ):
        raise table.fail(
            "bounds", "must be 1 to 40 whole numbers of seconds, ascending, such as [60, 120, 300]"
        )
    return _table_pattern(table, "start"), tuple(raw)


def _dimensions(table: Table, correlated: bool) -> tuple[Dimension, ...]:
    spec = table.spec
    if "dimensions" in spec:
        legacy = sorted(
            k
            for k in (
                "dimension",
                "dimension_label",
                "on_missing",
                "missing_label",
                "max_dimension_values",
                "max_dimension_length",
                "overflow_label",
            )
            if k in spec
        )
        if legacy:
            raise table.fail(
                legacy[0], "belongs in the [[...dimensions]] tables when 'dimensions' is given"
            )
        raw = spec["dimensions"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_DIMENSIONS:
            raise table.fail("dimensions", f"must be 1 to {MAX_DIMENSIONS} [[dimensions]] tables")
        tables = []
        for i, item in enumerate(raw):
            title = f"{table.title}.dimensions[{i}]"
            if not isinstance(item, dict):
                raise table.fail("dimensions", "must hold tables")
            unknown = set(item) - _DIMENSION_KEYS
            if unknown:
                raise ConfigError(
                    f"{table.at('dimensions')}: unknown key '{sorted(unknown)[0]}' in {title}; "
                    "known keys: " + ", ".join(sorted(_DIMENSION_KEYS))
                )
            if "label" not in item or "path" not in item:
                raise table.fail("dimensions", f"[{i}] needs a 'label' and a 'path'")
            tables.append(Table(item, table.name, title, table.where))
        dims = tuple(_dimension(t, "label", "path", "max_values", "max_length") for t in tables)
    elif "dimension" in spec:
        dims = (
            _dimension(
                table,
                "dimension_label",
                "dimension",
                "max_dimension_values",
                "max_dimension_length",
            ),
        )
    else:
        # Checked, though without a dimension they have nothing to say.
        for key in ("max_dimension_values", "max_dimension_length"):
            if key in spec:
                table.number(key, 100, 1, 10_000 if key.endswith("values") else 1_000)
        if "on_missing" in spec:
            table.choice("on_missing", "reject", ON_MISSING)
        return ()
    labels = [d.label for d in dims]
    if len(set(labels)) != len(labels):
        raise table.fail("dimensions", f"labels must differ; {labels[0]!r} is used twice")
    for t, d in zip(tables if "dimensions" in spec else [table], dims, strict=True):
        if d.from_order is not None and not correlated:
            raise t.fail("from_order", "needs the metric's 'correlate' path to find the order")
        if d.from_order is not None and d.on_missing == "reject":
            raise t.fail(
                "on_missing",
                "cannot be 'reject' with from_order: the order's event may arrive later; use "
                "'count' (counted under missing_label until it does) or 'skip'",
            )
    return dims


def _dimension(
    t: Table, label_key: str, path_key: str, values_key: str, length_key: str
) -> Dimension:
    max_values = t.number(values_key, 100, 1, 10_000)
    max_length = t.number(length_key, 100, 1, 1_000)
    if max_values * (max_length * 4 + 3) > MAX_REGISTRY_BYTES:
        raise t.fail(
            values_key,
            f"× {length_key} is too large: the {max_values} values of up to {max_length} "
            f"characters a dimension may keep must fit one DynamoDB item "
            f"({MAX_REGISTRY_BYTES // 1024} KB at 4 bytes a character); lower one of them",
        )
    label = t.text(label_key, "dimension") or "dimension"
    if not _LABEL.match(label):
        raise t.fail(label_key, "must be a short name: letters, digits, spaces, _ or -")
    return Dimension(
        label=label,
        paths=t.paths(path_key),
        on_missing=t.choice(
            "on_missing",
            "reject",
            ON_MISSING,
            " (reject the record, skip this metric for it, or count it under missing_label)",
        ),
        missing_label=t.text("missing_label", "unknown") or "unknown",
        max_values=max_values,
        max_length=max_length,
        overflow_label=t.text("overflow_label", "other") or "other",
        from_order=_table_pattern(t, "from_order") if "from_order" in t.spec else None,
    )


def _event_time(raw: Any, where: Locator) -> EventTimeBounds:
    if raw is None:
        return EventTimeBounds()
    at = where.top("event_time")
    if not isinstance(raw, dict) or set(raw) - {"earliest", "max_ahead_hours"}:
        raise ConfigError(
            f"{at}: [event_time] holds 'earliest' (a date such as 2000-01-01) and "
            "'max_ahead_hours' (a whole number)"
        )
    earliest = raw.get("earliest", DEFAULT_EARLIEST_EVENT_TIME)
    if isinstance(earliest, datetime):
        earliest = earliest if earliest.tzinfo else earliest.replace(tzinfo=UTC)
    elif isinstance(earliest, date):
        earliest = datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC)
    else:
        raise ConfigError(f"{at}: event_time.earliest must be a TOML date such as 2000-01-01")
    ahead = raw.get("max_ahead_hours", int(DEFAULT_MAX_AHEAD.total_seconds() // 3600))
    if not isinstance(ahead, int) or isinstance(ahead, bool) or not 0 <= ahead <= 24 * 366:
        raise ConfigError(f"{at}: event_time.max_ahead_hours must be a whole number of hours")
    return EventTimeBounds(earliest, timedelta(hours=ahead))


def _table_pattern(table: Table, key: str) -> EventPattern:
    return _pattern(table.spec[key], table.at(key), table.title, key)


def _pattern(raw: Any, at: str, owner: str, key: str) -> EventPattern:
    if isinstance(raw, str):  # JSON text: the only way to write null, which TOML lacks
        try:
            raw = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{at}: {owner}.{key} is not valid JSON: {e}") from None
        except RecursionError:
            raise too_deep(at) from None
        if nesting(raw) > MAX_NESTING:
            raise too_deep(at)
    try:
        compile_pattern(raw)  # checked with the numbers as written
        return compile_pattern(_floats(raw))  # the rule pattern is JSON: numbers as floats
    except PatternError as e:
        where = f" at {key}.{e.path}" if e.path else ""
        raise ConfigError(f"{at}: {owner}: bad event pattern{where}: {e.message}") from None


def _floats(value: Any) -> Any:
    """``value`` with its exact decimals turned into the floats JSON numbers are read as."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def _check_unique(metrics: tuple[Metric, ...], where: Locator) -> None:
    seen: dict[str, str] = {}
    for m in metrics:
        if m.partition in seen:
            raise ConfigError(
                f"{where.key(m.name, 'partition')}: metrics {seen[m.partition]} and {m.name} "
                f"both use partition {m.partition!r}; give each metric its own"
            )
        seen[m.partition] = m.name


def _check_correlation(metrics: tuple[Metric, ...], where: Locator) -> None:
    """Every metric that follows an order follows it by the same path: an event belongs to one
    order, whose state is kept in one place."""
    paths = {m.correlate for m in metrics if m.correlated and m.correlate is not None}
    if len(paths) > 1:
        first = next(m.correlate for m in metrics if m.correlated)
        m = next(m for m in metrics if m.correlated and m.correlate != first)
        raise ConfigError(
            f"{where.key(m.name, 'correlate')}: metrics.{m.name}.correlate differs from another "
            "metric's; every metric that follows an order must use the same path"
        )
