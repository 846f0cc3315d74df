"""``presso-metrics serve``: the dashboard and the read-only JSON API over HTTP (FastAPI).

Everything is served by this process: the page, its script, Chart.js and the interactive API
docs (Swagger UI from the swagger-ui-bundle package). No CDN, no network.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from presso_metrics import __version__, bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import http_api
from presso_metrics.ports import MetricsStore
from presso_metrics.views import Row, rows_csv

STATIC = Path(str(resources.files("presso_metrics").joinpath("entrypoints/static")))


class MetricRow(BaseModel):
    metric: str
    bucket: str
    dimension: str = Field(description="What the value counts: a value, a total, a figure")
    value: int | float
    dimensions: dict[str, str] = Field(
        description="Each dimension's label and value; {} for a total"
    )


class MetricDefinition(BaseModel):
    name: str
    description: str
    kind: str
    events: dict[str, Any]
    dimension: list[str] | None
    dimension_label: str | None
    on_missing: str | None
    dimensions: list[dict[str, Any]]
    granularity: str
    total: str | None
    partition: str
    correlate: str | None = None
    start: dict[str, Any] | None = None
    bounds_seconds: list[int] | None = None


class Span(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(None, alias="from", description="First day with data")
    to: str | None = Field(None, description="Last day with data")
    time_zone: str


class Problem(BaseModel):
    detail: str


def create_app(metrics: MetricSet, store: MetricsStore) -> FastAPI:
    app = FastAPI(
        title="presso-metrics",
        version=__version__,
        description="Serverlesspresso's business metrics, read-only. Rows have the shape of "
        "`presso-metrics report --format json`.",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(http_api.ApiError)
    async def api_error(request: Request, exc: http_api.ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.get("/api/metrics", response_model=list[MetricDefinition], tags=["metrics"])
    def list_metrics() -> list[dict[str, Any]]:
        """The metric definitions: name, events, dimension, granularity, total name."""
        return http_api.definitions(metrics)

    @app.get("/api/span", response_model=Span, tags=["metrics"])
    def span() -> dict[str, Any]:
        """The first and last day there is data for, and the time zone days are counted in."""
        return http_api.span(store, metrics)

    @app.get(
        "/api/metrics/{name}",
        response_model=list[MetricRow],
        tags=["metrics"],
        responses={
            200: {"content": {"text/csv": {}}},
            400: {"model": Problem, "description": "a bad date or a reversed range"},
            404: {"model": Problem, "description": "an unknown metric"},
        },
    )
    def metric(
        name: Annotated[str, PathParam(description="A metric name, e.g. sales")],
        from_: Annotated[
            str | None, Query(alias="from", description="First day, YYYY-MM-DD")
        ] = None,
        to: Annotated[str | None, Query(description="Last day, YYYY-MM-DD")] = None,
        format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
    ) -> Any:
        """A metric's counters by bucket and dimension, from `from` to `to` (default: all)."""
        found = http_api.rows(store, metrics, name, from_, to)
        if format == "csv":
            csv = rows_csv(Row(**r) for r in found)
            return PlainTextResponse(
                csv,
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        return found

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Ready when the metrics store answers."""
        store.bucket_span(next(iter(metrics)).partition)
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def dashboard() -> Response:
        return FileResponse(STATIC / "index.html", headers=_dashboard_headers())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="presso-metrics API",
            swagger_js_url="/swagger/swagger-ui-bundle.js",
            swagger_css_url="/swagger/swagger-ui.css",
            swagger_favicon_url="/swagger/favicon-32x32.png",
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/swagger", StaticFiles(directory=_swagger_dir()), name="swagger")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path == "/" or request.url.path.startswith("/static"):
            response.headers.update(_dashboard_headers())
        return response

    return app


def _dashboard_headers() -> dict[str, str]:
    return {"Content-Security-Policy": http_api.DASHBOARD_CSP, "X-Frame-Options": "DENY"}


def _swagger_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    metrics, store = bootstrap.build_reader(settings)  # the table only: no queues needed
    print(f"dashboard on http://{host}:{port}/ (API docs at /docs); Ctrl-C to stop", flush=True)
    uvicorn.run(create_app(metrics, store), host=host, port=port, log_level="warning")
