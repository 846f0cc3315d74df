"""The AWS path under random faults injected at the botocore level, over a whole drain: SQS in,
the batch processor, DynamoDB transactions answered with throttling, conflicts, 500s, or a
commit whose response is lost. Ends with counts equal to an independent computation, nothing
lost, nothing in the dead-letter queue. (One writer at a time: moto is not safe under racing
transactions, see AWS-EMULATION.md; concurrency is tested on the embedded backend.)"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from presso_metrics import bootstrap
from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.adapters.sqs_queue import SqsQueue
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from presso_metrics.service import BatchCounter
from presso_metrics.simulation import simulate_days
from presso_metrics.views import report_rows
from tests.aws.test_dynamodb_store import dynamodb_error
from tests.aws_emulator import Emulator
from tests.chaos import scale
from tests.expected import expected_counts, report_counts
from tests.sam import table_from_template

pytestmark = pytest.mark.chaos


def test_random_store_faults_over_a_drain(aws: Emulator) -> None:
    rng = random.Random(13)
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    dynamodb.create_table(**table_from_template())
    dlq_url = sqs.create_queue(QueueName="MetricsQueue-DLQ")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="MetricsQueue",
        Attributes={
            "VisibilityTimeout": "30",  # a batch's deadline is 80 % of it
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 10}),
        },
    )["QueueUrl"]
    sim = simulate_days(orders=scale(90, 400), duplicates=0.2, seed=21)
    queue = SqsQueue(sqs, queue_url)
    from presso_metrics.ports import OutgoingMessage

    assert queue.send([OutgoingMessage(json.dumps(e)) for e in sim.events]) == [""] * len(
        sim.events
    )

    injected: Counter[str] = Counter()
    real = dynamodb.transact_write_items

    def faulty(**kwargs: Any) -> Any:
        roll = rng.random()
        if roll < 0.15:
            injected["lost response after commit"] += 1
            real(**kwargs)
            raise ReadTimeoutError(endpoint_url=aws.endpoint)
        return real(**kwargs)

    def hook(request: Any, **_: Any) -> Any:
        roll = rng.random()
        if roll < 0.15:
            injected["throttling"] += 1
            return dynamodb_error(400, "ThrottlingException")
        if roll < 0.3:
            injected["conflict"] += 1
            n = len(json.loads(request.body)["TransactItems"])
            return dynamodb_error(
                400,
                "TransactionCanceledException",
                CancellationReasons=[{"Code": "TransactionConflict"}]
                + [{"Code": "None"}] * (n - 1),
            )
        if roll < 0.4:
            injected["500"] += 1
            return dynamodb_error(500, "InternalServerError")
        return None

    dynamodb.meta.events.register("before-send.dynamodb.TransactWriteItems", hook)
    dynamodb.transact_write_items = faulty
    metrics = bootstrap.load_metric_set(Settings())
    store = DynamoDBMetricsStore(
        dynamodb,
        "serverlesspresso-metrics-table",
        caps=metrics.caps(),
        metrics=metrics,
        sleep=lambda s: None,
    )
    processor = BatchCounter(metrics, store, SqsQueue(sqs, dlq_url))
    stats = consume(
        queue,
        processor,
        WorkerOptions(batch_size=10, batching_window=0.5, drain=True, poll_seconds=1.0),
    )
    assert len(injected) == 4 and sum(injected.values()) >= 10, injected
    print(f"\nfaults injected: {dict(injected)} over {len(sim.events)} deliveries")
    got = report_counts(r.as_dict() for r in report_rows(store, metrics))
    assert got == expected_counts(sim.events)
    assert SqsQueue(sqs, dlq_url).depth().total == 0
    # Every delivery is accounted for. After a lost response the retry finds its own markers
    # and reports those events as duplicates (on AWS its idempotency token makes the identical
    # retry succeed instead); the table above is exact either way.
    # A transaction that exhausts its retries reports its records failed: SQS delivers them
    # again and they count then, so each receive ends counted, duplicate or failed.
    assert stats.counted + stats.duplicates + stats.failed == stats.received
    assert stats.received >= len(sim.events)
