"""The read-only metrics API, independent of any web framework.

The local server (FastAPI, ``web.py``) and the Lambda function behind API Gateway
(``api_handler.py``) both answer through these functions, so they cannot disagree. Errors are
:class:`ApiError` with an HTTP status and a message that says what to send instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from presso_metrics.domain.buckets import strict_day
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.ports import MetricsStore
from presso_metrics.views import data_span, metric_rows

MAX_RANGE_DAYS = 3660  # ten years of days in one answer, both ends included
ECHO_LIMIT = 40  # an error message quotes at most this many characters of what was sent

# The dashboard loads nothing from elsewhere and runs no inline script.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def echo(value: object) -> str:
    """What was sent, quoted for an error message: at most ``ECHO_LIMIT`` characters of it."""
    text = str(value)
    return repr(text[:ECHO_LIMIT] + ("..." if len(text) > ECHO_LIMIT else ""))


def parse_day(value: str | None, name: str) -> date | None:
    """A day written exactly ``YYYY-MM-DD`` (no week dates, no ``20221014``, no spaces)."""
    if value is None or value == "":
        return None
    try:
        return strict_day(value)
    except ValueError:
        raise ApiError(
            400,
            f"'{name}' must be a date written YYYY-MM-DD, such as 2022-10-14 (got {echo(value)})",
        ) from None


def definitions(metrics: MetricSet) -> list[dict[str, Any]]:
    return [m.describe() for m in metrics]


def span(store: MetricsStore, metrics: MetricSet) -> dict[str, Any]:
    found = data_span(store, metrics)
    return {
        "from": found[0].isoformat() if found else None,
        "to": found[1].isoformat() if found else None,
        "time_zone": str(metrics.time_zone),
        "max_range_days": MAX_RANGE_DAYS,
    }


def rows(
    store: MetricsStore,
    metrics: MetricSet,
    name: str,
    first: str | None,
    last: str | None,
) -> list[dict[str, Any]]:
    """The metric's rows, in the shape of ``report --format json``. A missing bound is the
    first (or last) day with data; the range, so completed, is at most ``MAX_RANGE_DAYS``."""
    if name not in metrics.names():
        raise ApiError(
            404, f"unknown metric {echo(name)}; the metrics are {', '.join(metrics.names())}"
        )
    start, end = parse_day(first, "from"), parse_day(last, "to")
    if start and end and start > end:
        raise ApiError(
            400, f"the range is reversed: from {start} is after to {end}; send from <= to"
        )
    metric = metrics.get(name)
    filled: list[str] = []  # the bounds filled in, for the message
    if start is None or end is None:
        found = data_span(store, [metric])
        if found is None:
            return []
        if start is None:
            start, filled = found[0], [*filled, "'from' is the first day with data"]
        if end is None:
            end, filled = found[1], [*filled, "'to' is the last day with data"]
        if start > end:
            return []  # the range asked for holds no data
    days = (end - start).days + 1  # both ends included
    if days > MAX_RANGE_DAYS:
        raise ApiError(
            400,
            f"the range from {start} to {end} is longer than {MAX_RANGE_DAYS} days ({days} "
            "days, both ends included"
            + (f"; {', '.join(filled)}" if filled else "")
            + "); ask for less",
        )
    return [r.as_dict() for r in metric_rows(store, metric, start, end)]
