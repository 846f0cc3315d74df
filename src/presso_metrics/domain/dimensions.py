"""A dimension's values in an event: found, checked, or refused with the reason.

Values come from outside, so they are checked before anything is counted under them: a string (or
an array of strings, each distinct value counted once), no control characters (a NUL would cut the
value short in some stores, an escape sequence would drive a terminal), not longer than the metric
allows, not the total's name. Blank values count as missing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.metrics import Dimension
from presso_metrics.domain.paths import MISSING, walk

# DynamoDB's limit on a sort key ("<bucket>#<dimension>"), and a partition key.
MAX_SORT_KEY_BYTES = 1024
MAX_PARTITION_KEY_BYTES = 2048


def control_character(text: str) -> str | None:
    """The first control character (Unicode category Cc) in ``text``, if any."""
    for ch in text:
        if ch < " " or "\x7f" <= ch <= "\x9f":  # exactly the category Cc
            return ch
    return None


def find_values(
    event: Mapping[str, Any], dim: Dimension, metric: str, total: str | None
) -> tuple[str, ...] | Rejection | None:
    """The distinct values of ``dim`` in ``event`` (the first present alternative path), in the
    order they come: ``()`` for an empty (or all-blank) array, nothing to count; ``None`` when
    no path holds a value (or only null or a blank string); a :class:`Rejection` when a value
    is of the wrong type, holds a control character, is too long or is the total's name."""
    found = MISSING
    used = dim.paths[0]
    for path in dim.paths:
        value = walk(event, path)
        if value is not MISSING and value is not None:
            found, used = value, path
            break
    if (
        type(found) is str
        and len(found) <= dim.max_length
        and found != total
        and found.strip()
        and control_character(found) is None
    ):
        return (found,)  # the common case
    field = ".".join(used)
    if isinstance(found, str):
        values: list[Any] = [found]
    elif isinstance(found, list):
        values = found
    elif found is MISSING:
        return None
    else:
        return Rejection(
            "dimension_wrong_type",
            f"{field} must be a string (or an array of strings), not {type(found).__name__}",
            field,
            metric,
        )
    out: list[str] = []
    for v in values:
        problem = _check(v, dim, metric, total, field)
        if problem is not None:
            return problem
        if v.strip() and v not in out:
            out.append(v)
    if not out and isinstance(found, str):
        return None  # a blank string: missing
    return tuple(out)


def _check(
    value: Any, dim: Dimension, metric: str, total: str | None, field: str
) -> Rejection | None:
    if not isinstance(value, str):
        return Rejection(
            "dimension_wrong_type",
            f"{field} must hold strings, not {type(value).__name__}",
            field,
            metric,
        )
    bad = control_character(value)
    if bad is not None:
        return Rejection(
            "dimension_control_character",
            f"{field} holds the control character U+{ord(bad):04X} "
            f"({unicodedata.name(bad, 'control')}); names are text without control characters",
            field,
            metric,
        )
    if len(value) > dim.max_length:
        return Rejection(
            "dimension_too_long",
            f"{field} is {len(value)} characters long; metric {metric} accepts at most "
            f"{dim.max_length} (max_length in the metrics file)",
            field,
            metric,
        )
    if value == total:
        return Rejection(
            "dimension_reserved",
            f"{field} is {value!r}, the name of metric {metric}'s total",
            field,
            metric,
        )
    return None


def missing(dim: Dimension, metric: str) -> Rejection:
    paths = " or ".join(dim.path_names)
    return Rejection(
        "dimension_missing",
        f"the event has no {dim.label} ({paths}) and metric {metric} requires one",
        dim.path_names[0],
        metric,
    )


def key_too_long(sort_key: str, dims: tuple[Dimension, ...], metric: str) -> Rejection | None:
    """A rejection when a counter's sort key would exceed what DynamoDB stores (on every
    backend alike, so a record counted on a laptop is counted on AWS too)."""
    size = len(sort_key.encode("utf-8", "surrogatepass"))
    if size <= MAX_SORT_KEY_BYTES:
        return None
    field = dims[-1].path_names[0] if dims else "time"
    return Rejection(
        "dimension_too_long",
        f"{' and '.join(d.label for d in dims)} make a key of {size} bytes in UTF-8; "
        f"the store's keys hold at most {MAX_SORT_KEY_BYTES} (shorten the names, or lower "
        "max_length so such values are refused one by one)",
        field,
        metric,
    )
