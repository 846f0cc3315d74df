"""The HTTP API on a real SQLite file filled from the recorded trace, through both front ends of
the one application: FastAPI's test client (``presso-metrics serve``) and Lambda's HTTP API events
through Mangum (the ReadMetrics function)."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mangum import Mangum
from starlette.routing import Mount

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.web import create_app, default_hosts
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from tests.conftest import recorded_trace
from tests.lambda_http import LambdaHttpClient, front_end
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
        "max_range_days": 3660,
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


# --- hostile requests ------------------------------------------------------------------------

API_DOMAIN = "abc123.execute-api.us-west-2.amazonaws.com"  # what tests/lambda_http.py sends


@pytest.fixture(scope="module", params=["local", "lambda"])
def guarded(request: pytest.FixtureRequest, trace_db: Path) -> Iterator[Any]:
    """The application checking the Host header, as `serve --host 127.0.0.1` runs it (plus the
    Lambda API's domain, as `ALLOWED_HOSTS` would)."""
    metrics, store = bootstrap.build_reader(Settings(db=str(trace_db)))
    hosts = [*default_hosts("127.0.0.1"), API_DOMAIN]
    with front_end(create_app(metrics, store, allowed_hosts=hosts), request.param) as c:
        yield c


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "localhost.", API_DOMAIN],
)
def test_the_bound_host_and_localhost_are_answered(guarded: Any, host: str) -> None:
    if ":" in host.rpartition("]")[0] and isinstance(guarded, LambdaHttpClient):
        pytest.skip("Mangum cannot parse an IPv6 Host; API Gateway only sends its domain names")
    response = guarded.get("/api/metrics/sales", headers={"Host": host})
    assert response.status_code == 200 and response.json() == SALES_ROWS


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example:80"],
)
def test_another_host_name_is_misdirected(guarded: Any, host: str) -> None:
    # A DNS-rebinding page (evil.example re-pointed at 127.0.0.1) must not read the API, nor
    # anything else: 421 Misdirected Request, this server does not answer for that name.
    for path in ("/api/metrics/sales", "/api/span", "/healthz", "/", "/docs", "/openapi.json"):
        response = guarded.get(path, headers={"Host": host})
        assert response.status_code == 421, (path, response.status_code)
        assert "does not answer for the host" in response.json()["detail"]
        assert "--allow-host" in response.json()["detail"]
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("host", ["bad host", "evil.example:80:80", "a/b", ""])
def test_a_malformed_host_is_a_bad_request(guarded: Any, host: str) -> None:
    if host.count(":") > 1 and isinstance(guarded, LambdaHttpClient):
        pytest.skip("Mangum cannot parse this Host; API Gateway only sends its domain names")
    response = guarded.get("/api/span", headers={"Host": host})
    assert response.status_code == 400


def test_the_lambda_function_does_not_check_the_host_by_default(trace_db: Path) -> None:
    # API Gateway invokes the function only for the API's own domains.
    metrics, store = bootstrap.build_reader(Settings(db=str(trace_db)))
    with front_end(create_app(metrics, store), "lambda") as c:
        assert c.get("/api/span", headers={"Host": "evil.example"}).status_code == 200


def get_routes(app: Any) -> list[str]:
    """A path for each GET route of the application, static files included."""
    paths = []
    for route in app.routes:
        if isinstance(route, Mount):
            paths.append(
                f"{route.path}/" + ("app.js" if route.name == "static" else "swagger-ui.css")
            )
        elif "GET" in getattr(route, "methods", ()):
            paths.append(route.path.replace("{name}", "sales"))
    return paths


def test_head_is_answered_wherever_get_is(client: TestClient, trace_db: Path) -> None:
    metrics, store = bootstrap.build_reader(Settings(db=str(trace_db)))
    paths = get_routes(create_app(metrics, store))
    assert {"/", "/docs", "/healthz", "/api/span", "/api/metrics/sales", "/static/app.js"} <= set(
        paths
    )
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert got.status_code == 200, path
        assert head.status_code == 200, (path, head.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers.get("content-length") == got.headers.get("content-length"), path
        assert head.headers["cache-control"] == got.headers["cache-control"], path


@pytest.mark.parametrize(
    "path, cache",
    [
        ("/api/metrics/sales", "no-cache"),
        ("/api/metrics/sales?format=csv", "no-cache"),
        ("/api/metrics", "no-cache"),
        ("/api/span", "no-cache"),
        ("/healthz", "no-cache"),
        ("/openapi.json", "no-cache"),
        ("/", "no-cache"),
        ("/docs", "no-cache"),
        ("/static/app.js", "public, max-age=3600"),
        ("/swagger/swagger-ui-bundle.js", "public, max-age=3600"),
        ("/api/metrics/nope", "no-store"),
        ("/api/metrics/sales?from=yesterday", "no-store"),
        ("/static/missing.js", "no-store"),
    ],
)
def test_cache_control(client: TestClient, path: str, cache: str) -> None:
    # The counts change as events are counted: a cache must ask again; errors are not kept.
    url, _, query = path.partition("?")
    response = client.get(url, params=dict([query.split("=")]) if query else None)
    assert response.headers["cache-control"] == cache


def test_the_docs_page_has_the_dashboards_policy(client: TestClient) -> None:
    dashboard, docs = client.get("/"), client.get("/docs")
    assert docs.status_code == 200
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert docs.headers[header] == dashboard.headers[header]
    assert "script-src 'self';" in docs.headers["content-security-policy"]
    # so the page runs no inline script: every <script> loads a file of this server
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", docs.text, re.S)
    assert scripts and all(
        re.search(r'src="/', attrs) and not body.strip() for attrs, body in scripts
    )
    assert client.get("/static/docs.js").status_code == 200


LONG = "A" * 40 + "SECRET-TAIL" * 100


@pytest.mark.parametrize(
    "path, params, status",
    [
        ("/api/metrics/sales", {"from": LONG}, 400),
        ("/api/metrics/sales", {"to": LONG}, 400),
        (f"/api/metrics/{LONG}", {}, 404),
        ("/api/metrics/sales", {"format": LONG}, 422),
    ],
)
def test_errors_quote_at_most_a_short_prefix_of_what_was_sent(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "A" * 40 in detail and "SECRET-TAIL" not in detail
    assert "A" * 41 not in detail  # the metric names it lists may make it longer


def test_a_refused_host_is_quoted_short(guarded: Any) -> None:
    response = guarded.get("/api/span", headers={"Host": "a" * 40 + "b" * 500 + ".example"})
    assert response.status_code == 421
    assert "a" * 40 in response.text and "b" not in response.json()["detail"].split("host")[1]


def test_an_invalid_format_says_what_to_send(client: TestClient) -> None:
    response = client.get("/api/metrics/sales", params={"format": "xml"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "query parameter 'format': String should match pattern '^(json|csv)$' (got 'xml')"
    }


@pytest.mark.parametrize(
    "day",
    [
        "2022-1-5",
        "20221014",
        " 2022-10-14",
        "2022-10-14 ",
        "2022-10-14\n",
        "2022-W41-5",
        "2022-287",
        "2022-10-14T00:00",
        "\uff12\uff10\uff12\uff12-10-14",  # full-width digits
        "+2022-10-14",
    ],
)
def test_dates_are_strictly_yyyy_mm_dd(client: TestClient, day: str) -> None:
    for name in ("from", "to"):
        response = client.get("/api/metrics/sales", params={name: day})
        assert response.status_code == 400, (name, day)
        assert f"'{name}' must be a date written YYYY-MM-DD" in response.json()["detail"]


@pytest.mark.parametrize(
    "params, says",
    [
        ({"from": "1900-01-01"}, "from 1900-01-01 to 2022-10-14 is longer than 3660 days"),
        ({"to": "2999-01-01"}, "from 2022-10-14 to 2999-01-01 is longer than 3660 days"),
        ({"from": "1900-01-01", "to": "2022-10-14"}, "is longer than 3660 days"),
    ],
)
def test_the_range_cap_applies_with_one_bound(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    response = client.get("/api/metrics/sales", params=params)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_one_bound_within_the_cap_is_answered(client: TestClient) -> None:
    for params in ({"from": "2013-01-01"}, {"to": "2032-10-01"}, {"to": "2022-10-14"}):
        assert client.get("/api/metrics/sales", params=params).json() == SALES_ROWS
    assert client.get("/api/metrics/sales", params={"to": "2022-10-13"}).json() == []


@pytest.mark.parametrize("kind", ["local", "lambda"])
def test_csv_download_neutralises_formulas_after_a_line_break(tmp_path: Path, kind: str) -> None:
    # Labels that never pass the envelope's checks, in a table written by another writer (the
    # seed's consumer, a restore): the download must still be safe to open.
    db = tmp_path / "hostile.db"
    bootstrap.provision_stack(Settings(db=str(db)))
    hostile = ["\n=1+1", "\r@SUM(A1)", "x\r=2+2", "Americano"]
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO counters (pk, sk, attr, val) VALUES ('Aggregate', ?, 'val', 1)",
        [(f"2022-10-14#{label}",) for label in hostile],
    )
    conn.commit()
    conn.close()
    metrics, store = bootstrap.build_reader(Settings(db=str(db)))
    with front_end(create_app(metrics, store), kind) as c:
        text = c.get("/api/metrics/sales", params={"format": "csv"}).text
    rows = list(csv.reader(io.StringIO(text.replace("\r", "\n"), newline="")))
    assert len(rows) == 1 + len(hostile)  # no label starts a row of its own
    assert sorted(r[2] for r in rows[1:]) == sorted(
        ["'\n=1+1", "'\n@SUM(A1)", "x\n=2+2", "Americano"]
    )


def test_large_answers_are_compressed_for_clients_that_accept_it(client: TestClient) -> None:
    """A year of hourly wait histograms is megabytes of JSON: compressed when the client
    accepts gzip (browsers do), which also keeps it under Lambda's 6 MB response limit."""
    plain = client.get("/api/metrics", headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/metrics", headers={"Accept-Encoding": "gzip"})
    assert len(plain.content) > 1024 and plain.headers.get("content-encoding") is None
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()
    assert "accept-encoding" in packed.headers["vary"].lower()
    small = client.get("/api/metrics/sales", headers={"Accept-Encoding": "gzip"})
    assert small.headers.get("content-encoding") is None and small.json() == SALES_ROWS
