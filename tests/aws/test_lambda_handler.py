"""The consumer Lambda handler, called in-process with the sample SQS events, its AWS
resources on the emulator (moto must never invoke Lambda: that needs Docker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from presso_metrics.entrypoints import lambda_handler
from tests.aws_emulator import Emulator
from tests.conftest import load_event
from tests.expected import SAMPLE_BATCH_SUMMARY
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
    assert any(i["PK"]["S"] == "EVENT#" + load_event(name)["id"] for i in items)
