"""The names of the stack's resources; the defaults are the Serverlesspresso workshop's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Names:
    bus: str = "Serverlesspresso"
    rule: str = "OrderMetrics-DynamoDB"
    queue: str = "MetricsQueue"
    dead_letter_queue: str = "MetricsQueue-DLQ"
    table: str = "serverlesspresso-metrics-table"
