"""The read-only API as a Lambda function behind an HTTP API, on the emulator's DynamoDB: the
same answers as the local server, GET only, nothing but metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.counting import CountedEvent, count_event
from presso_metrics.domain.envelope import envelope_of
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.entrypoints import api_handler
from tests.aws_emulator import Emulator
from tests.conftest import recorded_trace
from tests.integration.test_web_api import SALES_ROWS
from tests.lambda_http import Context, http_api_event
from tests.sam import table_from_template
from tests.unit.test_metrics_file import DEFAULT_METRICS


@pytest.fixture
def api(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    client = aws.client("dynamodb")
    client.create_table(**table_from_template())
    metrics = load_metrics(default_metrics_text())
    now = datetime.now(UTC)
    events = [count_event(envelope_of(e, now=now), metrics) for e in recorded_trace()]  # type: ignore[arg-type]
    DynamoDBMetricsStore(client, "serverlesspresso-metrics-table", metrics=metrics).apply(
        [e for e in events if isinstance(e, CountedEvent)]
    )
    monkeypatch.setenv("TABLE_NAME", "serverlesspresso-metrics-table")
    monkeypatch.setattr(api_handler, "_adapter", None)
    yield
    monkeypatch.setattr(api_handler, "_adapter", None)


def get(path: str, query: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    result = api_handler.handler(http_api_event(path, query, method), Context())
    result["headers"] = httpx.Headers(result.get("headers") or {})  # names are case-insensitive
    return result


def test_sales_rows(api: None) -> None:
    response = get("/api/metrics/sales", {"from": "2022-10-14", "to": "2022-10-14"})
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == SALES_ROWS


def test_errors_and_methods(api: None) -> None:
    assert get("/api/metrics/nope")["statusCode"] == 404
    bad = get("/api/metrics/sales", {"from": "14/10/2022"})
    assert bad["statusCode"] == 400 and "YYYY-MM-DD" in json.loads(bad["body"])["detail"]
    assert get("/api/metrics/sales", method="POST")["statusCode"] == 405
    assert get("/anything/else")["statusCode"] == 404


def test_definitions_span_and_csv(api: None) -> None:
    names = [m["name"] for m in json.loads(get("/api/metrics")["body"])]
    assert names == DEFAULT_METRICS
    assert json.loads(get("/api/span")["body"])["from"] == "2022-10-14"
    csv = get("/api/metrics/completions", {"format": "csv"})
    assert (
        csv["body"]
        == "metric,bucket,dimension,value,dimensions\ncompletions,2022-10-14,TotalCompleted,16,{}\n"
    )


def test_dashboard_files_and_nothing_else(api: None) -> None:
    page = get("/")
    assert page["statusCode"] == 200 and "<title>Serverlesspresso metrics</title>" in page["body"]
    assert "default-src 'self'" in page["headers"]["Content-Security-Policy"]
    assert get("/static/app.js")["headers"]["Content-Type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    for sneaky in (
        "/static/../metrics.toml",
        "/static/../../bootstrap.py",
        "/static/.hidden",
        "/static/",
    ):
        assert get(sneaky)["statusCode"] == 404, sneaky
