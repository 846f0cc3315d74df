"""Whole Serverlesspresso orders as the order manager publishes them, for the review's
reproductions: a WaitingCompletion (drink, shop) and its completion one minute later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.worker import WorkerOptions, consume

SOURCE = "awsserverlessda.serverlesspresso"


def order(
    order_id: str,
    shop: str,
    drink: str,
    *,
    day: str = "2022-10-14",
    ids: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    start_id, end_id = ids or (f"{order_id}-start", f"{order_id}-end")
    start = {
        "version": "0",
        "id": start_id,
        "detail-type": "OrderManager.WaitingCompletion",
        "source": SOURCE,
        "account": "123456789012",
        "time": f"{day}T12:00:00Z",
        "region": "us-west-2",
        "resources": [],
        "detail": {
            "orderId": order_id,
            "eventId": shop,
            "drinkOrder": {"drink": drink, "modifiers": []},
        },
    }
    end = {
        "version": "0",
        "id": end_id,
        "detail-type": "OrderManager.OrderNYC-COMPLETED",
        "source": SOURCE,
        "account": "123456789012",
        "time": f"{day}T12:01:00Z",
        "region": "us-west-2",
        "resources": [],
        "detail": {"orderId": order_id, "eventId": shop},
    }
    return [start, end]


def count(db: Path, events: list[dict[str, Any]], metrics_file: Path | None = None) -> None:
    """Publish ``events`` on the embedded bus of ``db`` and drain the queue through the worker."""
    settings = Settings(db=str(db), metrics_file=str(metrics_file) if metrics_file else None)
    stack = bootstrap.build(settings, provision=True)
    try:
        result = stack.bus.publish(events)
        assert not result.failed, result.failed
        consume(stack.queue, stack.processor, WorkerOptions(batch_size=50, drain=True))
    finally:
        stack.close()
