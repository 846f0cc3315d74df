"""DynamoDB write cost, from the store's own accounting of what it sends (moto's server does not
report consumed capacity for transactions). A transactional write costs 2 write units per item
up to 1 KB; every item this store writes is under 1 KB, except the rare registry update.

A realistic stream (10 % duplicates) is cut into consecutive Lambda batches of 1, 10, 100 and
1,000 messages and processed by the batch processor the Lambda handler uses. Beside it, the
seed's consumer: one TransactWriteItems of two counter updates per event.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Any

import boto3
import orjson

from bench.data import realistic_stream
from presso_metrics.adapters.aws_provision import table_definition
from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.adapters.sqs_queue import SqsQueue
from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.entrypoints.worker import lambda_event
from presso_metrics.ports import ReceivedMessage
from presso_metrics.service import BatchCounter

TABLE = "serverlesspresso-metrics-table"
# moto copies the table on every transaction, so it slows down as the table grows: the small
# batch sizes get fewer deliveries (the cost per event does not depend on how many there are).
DELIVERIES = {1: 200, 10: 600, 100: 1000, 1000: 2000}


def _clients(endpoint: str) -> tuple[Any, Any]:
    kw = {
        "endpoint_url": endpoint,
        "region_name": "us-west-2",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",
    }
    return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw)


def _reset(endpoint: str) -> None:
    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    ).read()


SALES_ONLY = """
[metrics.sales]
dimension = ["detail.drinkOrder.drink", "detail.order.drinkOrder.drink"]
total = "TotalSales"
partition = "Aggregate"
[metrics.sales.events]
source = ["awsserverlessda.serverlesspresso"]
detail-type = ["OrderManager.WaitingCompletion"]
"""


def measure(
    endpoint: str, batch_size: int, deliveries: int, metrics_text: str | None = None
) -> dict[str, Any]:
    _reset(endpoint)
    dynamodb, sqs = _clients(endpoint)
    dynamodb.create_table(**table_definition(TABLE))
    dlq = SqsQueue(sqs, sqs.create_queue(QueueName="MetricsQueue-DLQ")["QueueUrl"])
    metrics = load_metrics(metrics_text or default_metrics_text())
    store = DynamoDBMetricsStore(dynamodb, TABLE, caps=metrics.caps(), metrics=metrics)
    processor = BatchCounter(metrics, store, dlq)
    stream = realistic_stream(100_000)[:deliveries]
    if metrics_text is not None:  # the seed's rule routes only what its metric counts
        stream = [e for e in stream if any(m.pattern.matches(e) for m in metrics)]
    counted = 0
    for i in range(0, len(stream), batch_size):
        messages = [
            ReceivedMessage(f"m{i + n}", f"h{i + n}", orjson.dumps(e).decode(), 1, 0, 0)
            for n, e in enumerate(stream[i : i + batch_size])
        ]
        outcome = processor.process(lambda_event(messages, dlq))
        assert not outcome.item_failures, outcome.summary()
        counted += outcome.counted
    s = store.stats
    return {
        "batch_size": batch_size,
        "deliveries": len(stream),
        "events_counted": counted,
        "transactions": s.transactions,
        "requests": s.requests,
        "markers": s.markers,
        "counter_updates": s.counter_updates,
        "write_units": s.write_units,
        "wcu_per_event": round(s.write_units / counted, 3),
        "ddb_requests_per_1000_events": round(1000 * s.requests / len(stream), 1),
        "counter_updates_per_event": round(s.counter_updates / counted, 3),
    }


def measure_seed(endpoint: str, deliveries: int) -> dict[str, Any]:
    """The seed's consumer: per event, one transaction updating TotalSales and the drink."""
    _reset(endpoint)
    dynamodb, _ = _clients(endpoint)
    dynamodb.create_table(**table_definition(TABLE))
    stream = [
        e
        for e in realistic_stream(100_000)[:deliveries]
        if e["detail-type"] == "OrderManager.WaitingCompletion"
    ]
    requests = units = 0
    for e in stream:
        day, drink = e["time"][:10], e["detail"]["drinkOrder"]["drink"]
        items = [
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"PK": {"S": "Aggregate"}, "SK": {"S": f"{day}#{sk}"}},
                    "UpdateExpression": "ADD #v :one",
                    "ExpressionAttributeNames": {"#v": "val"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            for sk in ("TotalSales", drink)
        ]
        dynamodb.transact_write_items(TransactItems=items)
        requests += 1
        units += 2 * len(items)
    return {
        "deliveries": len(stream),
        "seed_wcu_per_event": round(units / len(stream), 3),
        "seed_ddb_requests_per_1000_events": round(1000 * requests / len(stream), 1),
        "note": "the seed counts every delivery again (no markers): redeliveries are overcounts",
    }


def run() -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        by_batch = [measure(endpoint, b, n) for b, n in DELIVERIES.items()]
        sales_only = measure(endpoint, 100, 2000, SALES_ONLY)
        seed = measure_seed(endpoint, 300)
    finally:
        server.stop()
    return {
        "by_batch_size": by_batch,
        "wcu_per_event": {str(r["batch_size"]): r["wcu_per_event"] for r in by_batch},
        "ddb_requests_per_1000_events": {
            str(r["batch_size"]): r["ddb_requests_per_1000_events"] for r in by_batch
        },
        "sales_only_batch_100": sales_only,
        **seed,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
