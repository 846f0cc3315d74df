"""The read-only metrics API as a Lambda function behind an API Gateway HTTP API (payload 2.0).

Same answers as ``presso-metrics serve`` (both go through ``http_api``), plus the dashboard's
static files. Only GET; the function's role may only read the table.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from aws_lambda_powertools import Logger

from presso_metrics import bootstrap
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import http_api
from presso_metrics.ports import MetricsStore
from presso_metrics.views import Row, rows_csv

logger = Logger(service="presso-metrics-api")
_reader: tuple[MetricSet, MetricsStore] | None = None
STATIC = "entrypoints/static"


def reader() -> tuple[MetricSet, MetricsStore]:
    global _reader
    if _reader is None:
        _reader = bootstrap.build_reader(bootstrap.env_settings())
    return _reader


def _json(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"},
        "body": json.dumps(body),
    }


def _static(path: str) -> dict[str, Any]:
    from importlib import resources

    root = resources.files("presso_metrics").joinpath(STATIC)
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
        return _json(404, {"detail": "not found"})
    target = root.joinpath(*parts)
    if not target.is_file():
        return _json(404, {"detail": "not found"})
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": media,
            "Content-Security-Policy": http_api.DASHBOARD_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "max-age=300",
        },
        "body": target.read_text("utf-8"),
    }


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath", "/")
    query = event.get("queryStringParameters") or {}
    if method != "GET":
        return _json(405, {"detail": "this API is read-only: use GET"})
    try:
        metrics, store = reader()
        if path == "/api/metrics":
            return _json(200, http_api.definitions(metrics))
        if path == "/api/span":
            return _json(200, http_api.span(store, metrics))
        if path.startswith("/api/metrics/"):
            name = path.removeprefix("/api/metrics/")
            found = http_api.rows(store, metrics, name, query.get("from"), query.get("to"))
            if query.get("format") == "csv":
                return {
                    "statusCode": 200,
                    "headers": {"Content-Type": "text/csv"},
                    "body": rows_csv(Row(**r) for r in found),
                }
            return _json(200, found)
        if path == "/healthz":
            return _json(200, {"status": "ok"})
        if path == "/":
            return _static("index.html")
        if path.startswith("/static/"):
            return _static(path.removeprefix("/static/"))
    except http_api.ApiError as e:
        return _json(e.status, {"detail": e.message})
    return _json(404, {"detail": f"no such path: {path[:100]}"})
