"""The load-test Lambda function: publishes a burst of orders on the bus, like the workshop's
load test (default 500), to watch the queue absorb it while the consumer drains it at its
maximum concurrency. Invoke it with ``{"orders": N}`` to choose the size."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from presso_metrics.adapters.aws import AwsClients
from presso_metrics.adapters.eventbridge_bus import EventBridgeBus
from presso_metrics.simulation import burst

logger = Logger(service="presso-metrics-loadtest")
MAX_ORDERS = 10_000


@logger.inject_lambda_context
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    requested = (event or {}).get("orders", os.environ.get("LOAD_TEST_ORDERS", 500))
    try:
        orders = int(requested)
    except (TypeError, ValueError):
        return {"error": f"orders must be a whole number, not {requested!r}"}
    if not 1 <= orders <= MAX_ORDERS:
        return {"error": f"orders must be from 1 to {MAX_ORDERS}"}
    clients = AwsClients.from_environment()
    bus = EventBridgeBus(clients.events, os.environ.get("EVENT_BUS_NAME", "Serverlesspresso"))
    result = bus.publish(burst(orders=orders))
    logger.info(
        "burst published", extra={"published": result.published, "failed": len(result.failed)}
    )
    return {"published": result.published, "failed": [why for _, why in result.failed[:10]]}
