"""The read-only metrics API and dashboard as a Lambda function behind an API Gateway HTTP API.

It is the very application ``presso-metrics serve`` runs (``web.create_app``), adapted to Lambda's
events by Mangum, so the two cannot answer differently. The function's role may only read the
table; the application is GET-only.

The Host header is not checked by default: API Gateway invokes the function only for its own
domain names (the execute-api one and any custom domain mapped to the API), so a DNS-rebinding
page cannot reach it under a name of its own. ``ALLOWED_HOSTS`` (comma-separated names, as
``serve --allow-host`` takes them) checks it anyway, e.g. to refuse the execute-api name when
only a custom domain should be used.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from mangum import Mangum

from presso_metrics import bootstrap
from presso_metrics.entrypoints.web import create_app

logger = Logger(service="presso-metrics-api")
_adapter: Mangum | None = None


def adapter() -> Mangum:
    """The application of this container, built once from the environment."""
    global _adapter
    if _adapter is None:
        metrics, store = bootstrap.build_reader(bootstrap.env_settings())
        hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
        app = create_app(metrics, store, allowed_hosts=hosts or None)
        _adapter = Mangum(app, lifespan="off")
    return _adapter


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = adapter()(event, context)
    return response
