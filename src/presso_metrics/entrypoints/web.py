"""``presso-metrics serve``: the dashboard and the read-only JSON API over HTTP (FastAPI).

Everything is served by this process: the page, its script, Chart.js and the interactive API
docs (Swagger UI 5, vendored in static/vendor/swagger). No CDN, no network.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.gzip import GZipMiddleware

from presso_metrics import __version__, bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints import failures, http_api
from presso_metrics.entrypoints.http_policy import HttpPolicy, ResponseSizeLimit
from presso_metrics.exceptions import ConfigError, PressoMetricsError
from presso_metrics.ports import MetricsStore
from presso_metrics.views import Row, rows_csv

log = logging.getLogger("presso_metrics.web")

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
    max_range_days: int = Field(description="The most days /api/metrics/{name} answers at once")


class Problem(BaseModel):
    detail: str


def create_app(
    metrics: MetricSet, store: MetricsStore, *, allowed_hosts: Collection[str] | None = None
) -> FastAPI:
    """The dashboard and the read-only API. ``allowed_hosts``: the Host names answered (see
    :mod:`~presso_metrics.entrypoints.http_policy`); None answers any (Lambda)."""
    app = FastAPI(
        title="presso-metrics",
        version=__version__,
        description="Serverlesspresso's business metrics, read-only. Rows have the shape of "
        "`presso-metrics report --format json`.",
        docs_url=None,
        redoc_url=None,
    )
    unavailable = {"model": Problem, "description": "the metrics store cannot be read"}

    @app.exception_handler(http_api.ApiError)
    async def api_error(request: Request, exc: http_api.ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        failure = failures.describe(exc)
        if failure is None:  # not a store failure: a bug, left to the server's 500
            raise exc
        log.warning("%s %s: 503: %s", request.method, request.url.path, failure.message)
        headers = {"Retry-After": "5"} if failure.transient else None
        return JSONResponse({"detail": failure.message}, status_code=503, headers=headers)

    for kind in (PressoMetricsError, BotoCoreError, ClientError):
        app.add_exception_handler(kind, store_unavailable)

    @app.get("/api/metrics", response_model=list[MetricDefinition], tags=["metrics"])
    def list_metrics() -> list[dict[str, Any]]:
        """The metric definitions: name, events, dimension, granularity, total name."""
        return http_api.definitions(metrics)

    @app.get("/api/span", response_model=Span, tags=["metrics"], responses={503: unavailable})
    def span() -> dict[str, Any]:
        """The first and last day there is data for, the time zone days are counted in, and
        the longest range of days the metrics answer at once."""
        return http_api.span(store, metrics)

    @app.get(
        "/api/metrics/{name}",
        response_model=list[MetricRow],
        tags=["metrics"],
        responses={
            200: {"content": {"text/csv": {}}},
            400: {"model": Problem, "description": "a bad date, a reversed or too long range"},
            404: {"model": Problem, "description": "an unknown metric"},
            503: unavailable,
        },
    )
    def metric(
        name: Annotated[str, PathParam(description="A metric name, e.g. sales")],
        from_: Annotated[
            str | None,
            Query(alias="from", description="First day, YYYY-MM-DD; default: the first with data"),
        ] = None,
        to: Annotated[
            str | None, Query(description="Last day, YYYY-MM-DD; default: the last with data")
        ] = None,
        format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
    ) -> Any:
        """A metric's counters by bucket and dimension, from `from` to `to` (default: all), at
        most ten years of days."""
        found = http_api.rows(store, metrics, name, from_, to)
        if format == "csv":
            csv = rows_csv(Row(**r) for r in found)
            return PlainTextResponse(
                csv,
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        return found

    @app.get("/healthz", tags=["operations"], responses={503: unavailable})
    def healthz() -> dict[str, str]:
        """Ready when the metrics store answers; 503 with the reason when it cannot be read."""
        store.bucket_span(next(iter(metrics)).partition)
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def dashboard() -> Response:
        return FileResponse(STATIC / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        """Swagger UI, started by a script file (static/docs.js): no inline script, so the
        page has the dashboard's Content-Security-Policy."""
        return FileResponse(STATIC / "docs.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/swagger", StaticFiles(directory=STATIC / "vendor" / "swagger"), name="swagger")
    # Answers of a few KB and more travel compressed to clients that accept it (JSON shrinks
    # about tenfold). Inside the policy, so a HEAD answers with the headers of the (compressed)
    # GET.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # Around the compression, so it measures what is sent: an answer over Lambda's response
    # limit becomes a 413 saying what to ask instead, here as in Lambda. Hourly histograms take
    # about 1.5 MB of JSON a shop and 60 days: at four shops about 45 days fit uncompressed, and
    # about thirty times more with gzip, which browsers ask for.
    app.add_middleware(ResponseSizeLimit)
    app.add_middleware(HttpPolicy, allowed_hosts=allowed_hosts)
    return app


def _validation_message(exc: RequestValidationError) -> str:
    """FastAPI's validation errors in one line, quoting at most a short prefix of the input."""
    said = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ())]
        name = f"{where[0]} parameter '{'.'.join(where[1:])}'" if len(where) > 1 else "request"
        got = f" (got {http_api.echo(error['input'])})" if "input" in error else ""
        said.append(f"{name}: {error.get('msg', 'invalid')}{got}")
    return "; ".join(said)


def default_hosts(host: str) -> set[str]:
    """The Host names ``serve`` answers without --allow-host: the address it is bound to and
    the loopback names."""
    return {host, "localhost", "127.0.0.1", "::1"}


def serve(settings: Settings, host: str, port: int, allow_hosts: Collection[str] = ()) -> None:
    """Serve until interrupted. A store that cannot be read (a missing, locked or outdated
    database) does not stop it: it says so, and answers 503 until the store can be read. An
    address that cannot be listened on (a port in use) is a ConfigError, before anything is
    said about serving."""
    import uvicorn

    metrics, store = bootstrap.build_reader(settings)  # the table only: no queues needed
    try:
        store.bucket_span(next(iter(metrics)).partition)
    except Exception as e:
        failure = failures.describe(e)
        if failure is None:
            raise
        print(f"warning: {failure.message}; answering 503 until it can be read", file=sys.stderr)
    sock = listen(host, port)
    if host in ("0.0.0.0", "::", ""):
        print(
            "listening on every interface: requests are answered only for the names given "
            "with --allow-host (and localhost)",
            file=sys.stderr,
        )
    app = create_app(metrics, store, allowed_hosts=default_hosts(host) | set(allow_hosts))
    url = f"http://{address(host, sock.getsockname()[1])}/"
    print(f"dashboard on {url} (API docs at /docs); Ctrl-C to stop", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host`` and ``port`` (0: a free port), as uvicorn binds one; what
    prevents it is said in one line with what to change."""
    where = address(host, port)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except socket.gaierror as e:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host!r}: not a known host name or address ({e.strerror}); "
            "check --host"
        ) from None
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            why = "address already in use (another server is listening there); stop it or "
            why += "choose another port with --port"
        elif e.errno == errno.EACCES:
            why = "permission denied (ports under 1024 need privileges); choose a port from "
            why += "1024 with --port"
        elif e.errno == errno.EADDRNOTAVAIL:
            why = "not an address of this machine; check --host"
        else:
            why = f"{e.strerror}; check --host and --port"
        raise ConfigError(f"cannot listen on {where}: {why}") from None
    sock.set_inheritable(True)
    return sock
