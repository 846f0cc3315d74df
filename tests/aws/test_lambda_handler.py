"""The consumer Lambda handler, called in-process with the sample SQS events, its AWS
resources on the emulator (moto must never invoke Lambda: that needs Docker)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from presso_metrics.entrypoints import lambda_handler
from tests.aws.test_dynamodb_store import dynamodb_error
from tests.aws_emulator import Emulator
from tests.conftest import load_event
from tests.expected import SAMPLE_BATCH_SUMMARY
from tests.hanging import HangingServer
from tests.sam import table_from_template

TABLE = "serverlesspresso-metrics-table"


@dataclass
class LambdaContext:
    function_name: str = "PublishMetrics"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-west-2:123456789012:function:PublishMetrics"
    aws_request_id: str = "req-1"


@pytest.fixture
def deployed(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    dynamodb, sqs = aws.client("dynamodb"), aws.client("sqs")
    dynamodb.create_table(**table_from_template(TABLE))
    dlq_url = sqs.create_queue(QueueName="MetricsQueue-DLQ")["QueueUrl"]
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PressoMetrics")
    monkeypatch.setattr(lambda_handler, "_processor", None)  # a new container
    yield {"dynamodb": dynamodb, "sqs": sqs, "dlq_url": dlq_url}
    monkeypatch.setattr(lambda_handler, "_processor", None)


def val(dynamodb: Any, sk: str) -> int:
    found = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": "Aggregate"}, "SK": {"S": sk}})
    return int(found["Item"]["val"]["N"])


def test_sample_batch(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    response = lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    # Three records counted as two events; the broken two dead-lettered; nothing to retry.
    assert response == {"batchItemFailures": []}
    assert val(deployed["dynamodb"], "2024-05-01#TotalSales") == 2
    assert val(deployed["dynamodb"], "2024-05-01#Flat White") == 1
    assert val(deployed["dynamodb"], "2024-05-01#Latte") == 1
    got = deployed["sqs"].receive_message(
        QueueUrl=deployed["dlq_url"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    reasons = sorted(
        (
            m["MessageAttributes"]["presso.reason"]["StringValue"],
            m["MessageAttributes"].get("presso.field", {}).get("StringValue"),
        )
        for m in got
    )
    assert reasons == [("missing_field", "id"), ("not_json", None)]
    # One structured log line for the batch ...
    (line,) = [r for r in caplog.records if r.getMessage() == "batch processed"]
    assert line.batch == SAMPLE_BATCH_SUMMARY  # type: ignore[attr-defined]
    # ... and the same figures as CloudWatch metrics, in embedded metric format on stdout.
    emf = next(
        json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')
    )
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PressoMetrics"
    assert (emf["EventsCounted"], emf["RecordsRejected"], emf["DuplicatesDropped"]) == (
        [2],
        [2],
        [1],
    )


def test_redelivered_batch_counts_nothing(deployed: dict[str, Any]) -> None:
    lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    assert val(deployed["dynamodb"], "2024-05-01#TotalSales") == 2


def test_unreachable_table_reports_the_records_for_retry(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    response = lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
        r["messageId"] for r in load_event("sqs-batch.json")["Records"][:3]
    )


def test_the_clients_are_built_once_per_container(deployed: dict[str, Any]) -> None:
    lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    first = lambda_handler._processor
    lambda_handler.handler(load_event("sqs-batch.json"), LambdaContext())
    assert lambda_handler._processor is first and first is not None


@pytest.mark.parametrize(
    "name",
    [
        "waiting-completion.json",
        "order-cancelled-detailed.json",
        "order-cancelled-state-machine.json",
        "waiting-completion-loadtest-shape.json",
    ],
)
def test_each_sample_event_shape(deployed: dict[str, Any], name: str) -> None:
    record = load_event("sqs-batch.json")["Records"][0] | {"body": json.dumps(load_event(name))}
    response = lambda_handler.handler({"Records": [record]}, LambdaContext())
    assert response == {"batchItemFailures": []}
    items = deployed["dynamodb"].scan(TableName=TABLE)["Items"]
    assert marker_stored(items, load_event(name))


def marker_stored(items: list[dict[str, Any]], event: dict[str, Any]) -> bool:
    """The event's dedup marker is in the table: its own item, or, for an event of an order,
    in the order's item (its events, with their markers: DESIGN.md section 4)."""
    if any(i["PK"]["S"] == "EVENT#" + event["id"] for i in items):
        return True
    order = event["detail"].get("orderId")
    return any(
        i["PK"]["S"] == f"ORDER#{order}"
        and event["id"] in {e["m"] for e in json.loads(i["state"]["S"])}
        for i in items
    )


@dataclass
class TimedContext(LambdaContext):
    """A context whose invocation has ``remaining_ms`` left when the handler starts."""

    remaining_ms: int = 6_000

    def __post_init__(self) -> None:
        self._ends = time.monotonic() + self.remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def sale_record(event_id: str, message_id: str) -> dict[str, Any]:
    event = load_event("waiting-completion.json")
    event["id"] = event_id
    event["detail"]["orderId"] = f"order-{event_id}"  # each sale its own order
    template = load_event("sqs-batch.json")["Records"][0]
    return template | {"messageId": message_id, "body": json.dumps(event)}


def test_a_poisoned_record_is_dead_lettered_and_the_good_ones_counted_at_once(
    deployed: dict[str, Any],
) -> None:
    # GIVEN a batch of 20 good sales and one event DynamoDB refuses (as it refuses an item over
    # 400 KB or a key too long), answered as DynamoDB answers
    records = [sale_record(f"good-{i}", f"m-{i}") for i in range(20)]
    records.insert(9, sale_record("poison", "m-poison"))
    store = lambda_handler.processor().store
    refused = {"calls": 0}

    def refuse_the_poisoned_event(request: Any, **_: Any) -> Any:
        if b'"ORDER#order-poison"' in request.body:
            refused["calls"] += 1
            return dynamodb_error(
                400,
                "ValidationException",
                message="Item size has exceeded the maximum allowed size",
            )
        return None

    store.client.meta.events.register(  # type: ignore[attr-defined]
        "before-send.dynamodb.TransactWriteItems", refuse_the_poisoned_event
    )
    # WHEN the function is invoked once
    response = lambda_handler.handler({"Records": records}, TimedContext(remaining_ms=30_000))
    # THEN nothing is left to retry: the 20 are counted and the poisoned one is dead-lettered
    # with DynamoDB's reason
    assert response == {"batchItemFailures": []}
    assert val(deployed["dynamodb"], "2024-05-01#TotalSales") == 20
    (letter,) = deployed["sqs"].receive_message(
        QueueUrl=deployed["dlq_url"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["presso.reason"] == "store_refused"
    assert attributes["presso.message-id"] == "m-poison"
    assert attributes["presso.message"] == (
        "DynamoDB refused the event's writes: ValidationException: "
        "Item size has exceeded the maximum allowed size"
    )
    assert json.loads(letter["Body"])["id"] == "poison"
    assert 1 <= refused["calls"] <= 10  # found by halving the batch, not event by event


@pytest.mark.parametrize("remaining_ms", [6_000, 16_000])
def test_with_every_endpoint_hanging_the_handler_returns_in_time(
    hanging: HangingServer, monkeypatch: pytest.MonkeyPatch, remaining_ms: int
) -> None:
    # GIVEN every AWS endpoint hanging (it accepts connections and never answers) and an
    # invocation with 6 s left (too little to start a call that may take 10 s: none is
    # started), or 16 s (one is, and hangs until its read timeout)
    for key, value in {
        "AWS_ENDPOINT_URL": hanging.url,
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": TABLE,
        "DEAD_LETTER_QUEUE_URL": f"{hanging.url}/123456789012/MetricsQueue-DLQ",
        "AWS_CONFIG_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(lambda_handler, "_processor", None)
    batch = load_event("sqs-batch.json")
    answer: list[dict[str, Any]] = []
    # WHEN the function is invoked (in a thread, so a hang fails the test instead of stalling it)
    start = time.monotonic()
    worker = threading.Thread(
        target=lambda: answer.append(
            lambda_handler.handler(batch, TimedContext(remaining_ms=remaining_ms))
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    elapsed = time.monotonic() - start
    # THEN it returned in the time it had, with every record to be delivered again
    assert answer, "the handler did not return"
    assert elapsed < remaining_ms / 1000, elapsed
    assert hanging.connections == (0 if remaining_ms < 10_000 else 1)
    assert sorted(f["itemIdentifier"] for f in answer[0]["batchItemFailures"]) == sorted(
        r["messageId"] for r in batch["Records"]
    )
    monkeypatch.setattr(lambda_handler, "_processor", None)
    print(f"\nreturned after {elapsed:.2f} s of the {remaining_ms / 1000:g} s left")
