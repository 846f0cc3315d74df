"""The read-only metrics API, independent of any web framework.

The local server (FastAPI, ``web.py``) and the Lambda function behind API Gateway
(``api_handler.py``) both answer through these functions, so they cannot disagree. Errors are
:class:`ApiError` with an HTTP status and a message that says what to send instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from presso_metrics.domain.metrics import MetricSet
from presso_metrics.ports import MetricsStore
from presso_metrics.views import RangeError, data_span, metric_rows

MAX_RANGE_DAYS = 3660  # ten years of days in one answer

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


def parse_day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            400,
            f"'{name}' must be a date written YYYY-MM-DD, such as 2022-10-14 (got {value[:40]!r})",
        ) from None


def definitions(metrics: MetricSet) -> list[dict[str, Any]]:
    return [m.describe() for m in metrics]


def span(store: MetricsStore, metrics: MetricSet) -> dict[str, Any]:
    found = data_span(store, metrics)
    return {
        "from": found[0].isoformat() if found else None,
        "to": found[1].isoformat() if found else None,
        "time_zone": str(metrics.time_zone),
    }


def rows(
    store: MetricsStore,
    metrics: MetricSet,
    name: str,
    first: str | None,
    last: str | None,
) -> list[dict[str, Any]]:
    """The metric's rows, in the shape of ``report --format json``."""
    if name not in metrics.names():
        raise ApiError(
            404, f"unknown metric {name!r}; the metrics are {', '.join(metrics.names())}"
        )
    start, end = parse_day(first, "from"), parse_day(last, "to")
    if start and end and (end - start).days > MAX_RANGE_DAYS:
        raise ApiError(400, f"the range is longer than {MAX_RANGE_DAYS} days; ask for less")
    try:
        found = metric_rows(store, metrics.get(name), start, end)
    except RangeError as e:
        raise ApiError(400, f"{e}; send from <= to") from None
    return [r.as_dict() for r in found]
