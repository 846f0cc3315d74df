"""The HTTP API on a real SQLite file filled from the recorded trace, through both front ends of
the one application: FastAPI's test client (``presso-metrics serve``) and Lambda's HTTP API events
through Mangum (the ReadMetrics function)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mangum import Mangum

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.web import create_app
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from tests.conftest import recorded_trace
from tests.lambda_http import LambdaHttpClient
from tests.unit.test_metrics_file import DEFAULT_METRICS

SALES_ROWS = [
    {
        "metric": "sales",
        "bucket": "2022-10-14",
        "dimension": d,
        "value": v,
        "dimensions": {} if d == "TotalSales" else {"drink": d},
    }
    for d, v in [
        ("TotalSales", 29),
        ("Americano", 7),
        ("Espresso", 7),
        ("Caffe Latte", 6),
        ("Flat White", 4),
        ("Bens Brew", 3),
        ("James Soda", 2),
    ]
]


def fill(path: Path) -> None:
    stack = bootstrap.build(Settings(db=str(path)), provision=True)
    try:
        stack.bus.publish(recorded_trace())
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=50, drain=True, poll_seconds=0.05),
        )
    finally:
        stack.close()


@pytest.fixture(scope="module")
def trace_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "trace.db"
    fill(path)
    return path


@pytest.fixture(scope="module", params=["local", "lambda"])
def client(request: pytest.FixtureRequest, trace_db: Path) -> Iterator[TestClient]:
    metrics, store = bootstrap.build_reader(Settings(db=str(trace_db)))
    app = create_app(metrics, store)
    if request.param == "local":
        with TestClient(app) as c:
            yield c
    else:
        yield LambdaHttpClient(Mangum(app, lifespan="off"))  # type: ignore[misc]


def test_sales_rows_for_the_recorded_day(client: TestClient) -> None:
    response = client.get("/api/metrics/sales", params={"from": "2022-10-14", "to": "2022-10-14"})
    assert response.status_code == 200
    assert response.json() == SALES_ROWS


def test_without_a_range_all_the_data(client: TestClient) -> None:
    assert client.get("/api/metrics/sales").json() == SALES_ROWS
    assert client.get("/api/metrics/sales", params={"from": "2022-10-15"}).json() == []


def test_csv_download(client: TestClient) -> None:
    response = client.get("/api/metrics/completions", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert (
        response.text
        == "metric,bucket,dimension,value,dimensions\ncompletions,2022-10-14,TotalCompleted,16,{}\n"
    )


@pytest.mark.parametrize(
    "path, params, status, message",
    [
        (
            "/api/metrics/sales",
            {"from": "2022-13-01"},
            400,
            "'from' must be a date written YYYY-MM-DD",
        ),
        ("/api/metrics/sales", {"to": "yesterday"}, 400, "'to' must be a date written YYYY-MM-DD"),
        ("/api/metrics/sales", {"from": "2022-10-15", "to": "2022-10-14"}, 400, "send from <= to"),
        ("/api/metrics/sales", {"from": "2000-01-01", "to": "2022-10-14"}, 400, "longer than"),
        (
            "/api/metrics/nope",
            {},
            404,
            "unknown metric 'nope'; the metrics are sales, sales_by_shop",
        ),
        ("/api/metrics/sales", {"format": "xml"}, 422, "json|csv"),
    ],
)
def test_bad_requests_say_what_to_send(
    client: TestClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert message in response.text


def test_definitions_and_span(client: TestClient) -> None:
    definitions = client.get("/api/metrics").json()
    assert [d["name"] for d in definitions] == DEFAULT_METRICS
    sales = definitions[0]
    assert sales["total"] == "TotalSales" and sales["granularity"] == "day"
    assert sales["dimension"] == ["detail.drinkOrder.drink", "detail.order.drinkOrder.drink"]
    assert sales["events"]["detail-type"] == ["OrderManager.WaitingCompletion"]
    assert client.get("/api/span").json() == {
        "from": "2022-10-14",
        "to": "2022-10-14",
        "time_zone": "UTC",
    }


def test_read_only(client: TestClient) -> None:
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/api/metrics/sales").status_code == 405


def test_health_openapi_and_docs_are_served_locally(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    assert {"/api/metrics", "/api/metrics/{name}", "/api/span", "/healthz"} <= set(spec["paths"])
    docs = client.get("/docs").text
    assert "/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/swagger/swagger-ui-bundle.js").status_code == 200


def test_dashboard_is_self_contained(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/static/app.js", "/static/style.css", "/static/vendor/chart.umd.min.js"):
        response = client.get(asset)
        assert response.status_code == 200 and "content-security-policy" in response.headers
    script = client.get("/static/app.js").text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
