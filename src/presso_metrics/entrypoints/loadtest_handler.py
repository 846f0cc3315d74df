"""The load-test Lambda function: publishes a burst of orders on the bus, like the workshop's
load test (default 500), to watch the queue absorb it while the consumer drains it at its
maximum concurrency. Invoke it with ``{"orders": N}`` to choose the size.

The bus (its boto3 client) is built on the first invocation and reused while the container lives.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from presso_metrics import bootstrap
from presso_metrics.ports import Bus
from presso_metrics.publisher import publish_all
from presso_metrics.simulation import burst

logger = Logger(service="presso-metrics-loadtest")
MAX_ORDERS = 10_000
_bus: Bus | None = None


def bus() -> Bus:
    """The bus of this container, built once from the environment."""
    global _bus
    if _bus is None:
        _bus = bootstrap.build_publisher(bootstrap.env_settings())
    return _bus


@logger.inject_lambda_context
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    requested = (event or {}).get("orders", os.environ.get("LOAD_TEST_ORDERS", 500))
    try:
        orders = int(requested)
    except (TypeError, ValueError):
        return {"error": f"orders must be a whole number, not {requested!r}"}
    if not 1 <= orders <= MAX_ORDERS:
        return {"error": f"orders must be from 1 to {MAX_ORDERS}"}
    result = publish_all(bus(), burst(orders=orders))
    logger.info(
        "burst published", extra={"published": result.published, "failed": len(result.failed)}
    )
    return {"published": result.published, "failed": [why for _, why in result.failed[:10]]}
