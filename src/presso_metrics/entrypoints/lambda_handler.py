"""The consumer Lambda function: ``presso_metrics.entrypoints.lambda_handler.handler``.

Settings come from environment variables (TABLE_NAME, DEAD_LETTER_QUEUE_URL, TIME_ZONE,
METRICS_FILE, REPLAY_MODE, BACKFILL_METRICS, DEDUP_HORIZON_DAYS); boto3 clients are built on
the first invocation and reused while the container lives. Each batch logs one structured line
(received, counted, duplicates, rejected, failed) and emits the same figures as CloudWatch
metrics (EMF). The function returns the partial batch response: ``{"batchItemFailures": [...]}``.

It always returns before its timeout: the batch gets a deadline of the time Lambda leaves it
less a margin, no AWS call is started that might not end by then, and what is not stored by
then is in ``batchItemFailures`` (a function that times out fails its whole batch, the records
already counted included, and Lambda would deliver them all again).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import utils as logging_utils
from aws_lambda_powertools.metrics import MetricUnit

from presso_metrics import bootstrap
from presso_metrics.service import CLOUDWATCH_NAMES, BatchCounter, BatchOutcome

logger = Logger(service="presso-metrics")
metrics = Metrics(namespace="PressoMetrics", service="presso-metrics")

_processor: BatchCounter | None = None

# Time kept back from the remaining time for what follows the batch (the log line, the
# metrics, returning): 3 s, or a fifth of the remaining time when less than 15 s remain.
MARGIN_SECONDS = 3.0
MARGIN_SHARE = 0.2


def processor() -> BatchCounter:
    """The processor of this container, built once from the environment."""
    global _processor
    if _processor is None:
        # Our library's log lines (rejections, retries) in the same JSON format; not boto's.
        logging_utils.copy_config_to_registered_loggers(
            source_logger=logger, include={"presso_metrics"}
        )
        _processor = bootstrap.build_processor(bootstrap.env_settings())
    return _processor


def record_outcome(outcome: BatchOutcome) -> None:
    summary = outcome.summary()
    logger.info("batch processed", extra={"batch": summary})
    for key, name in CLOUDWATCH_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary[key])


def deadline_of(context: Any) -> float | None:
    """The batch's deadline (a ``time.monotonic()`` value) from the invocation's context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    left = max(float(remaining()) / 1000, 0.0)
    return time.monotonic() + left - min(MARGIN_SECONDS, MARGIN_SHARE * left)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    deadline = deadline_of(context)
    outcome = processor().process(event, deadline=deadline)
    record_outcome(outcome)
    return outcome.response()
