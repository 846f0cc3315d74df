"""The CLI on AWS, against the emulator, as a user would run it against an account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.aws_emulator import Emulator
from tests.conftest import EVENTS, recorded_trace
from tests.e2e.conftest import Cli
from tests.expected import RECORDED_DRINKS, expected_counts, report_counts

TRACE = str(EVENTS / "recorded-serverlesspresso-trace.json")
TABLE = "serverlesspresso-metrics-table"


@pytest.fixture
def aws_cli(aws: Emulator, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "unused.db")
    cli.env.update(aws.env)
    return cli


def val(aws: Emulator, sk: str) -> int:
    found = aws.client("dynamodb").get_item(
        TableName=TABLE, Key={"PK": {"S": "Aggregate"}, "SK": {"S": sk}}
    )
    return int(found["Item"]["val"]["N"])


def test_init_creates_the_stack_under_the_seed_names(aws_cli: Cli, aws: Emulator) -> None:
    first = aws_cli.json("init", "--aws")
    again = aws_cli.json("init", "--aws")  # running it twice is fine
    assert first == again
    assert first["bus"]["name"] == "Serverlesspresso"
    assert first["rule"]["name"] == "OrderMetrics-DynamoDB"
    assert first["queue"]["name"] == "MetricsQueue"
    assert first["queue"]["redrive_policy"]["maxReceiveCount"] == 5
    assert first["table"]["name"] == TABLE
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    rule = aws.client("events").describe_rule(
        Name="OrderMetrics-DynamoDB", EventBusName="Serverlesspresso"
    )
    assert json.loads(rule["EventPattern"]) == first["rule"]["pattern"]


def test_recorded_trace_through_eventbridge_sqs_and_the_handler(
    aws_cli: Cli, aws: Emulator, tmp_path: Path
) -> None:
    aws_cli.run("init", "--aws")
    aws_cli.run("publish", "--aws", TRACE)
    stats = aws_cli.json("worker", "--aws", "--drain", "--batch-size", "10")
    assert stats["counted"] == 47 and stats["failed"] == 0
    assert val(aws, "2022-10-14#TotalSales") == 29
    drinks = RECORDED_DRINKS
    assert {d: val(aws, f"2022-10-14#{d}") for d in drinks} == drinks
    # Published again: EventBridge gives new ids, but the events keep their identity.
    aws_cli.run("publish", "--aws", TRACE)
    again = aws_cli.json("worker", "--aws", "--drain")
    assert again["counted"] == 0 and again["duplicates"] == 47
    assert val(aws, "2022-10-14#TotalSales") == 29
    # The report on AWS prints the same rows as the embedded report of the same events.
    on_aws = aws_cli.json("report", "--aws", "--format", "json")
    embedded = Cli(tmp_path / "embedded.db")
    embedded.run("publish", TRACE)
    embedded.run("worker", "--drain")
    assert on_aws == embedded.json("report", "--format", "json")
    assert report_counts(on_aws) == expected_counts(recorded_trace())


def test_dead_letters_on_sqs(aws_cli: Cli, aws: Emulator, tmp_path: Path) -> None:
    aws_cli.run("init", "--aws")
    broken = [
        {
            "id": "no-drink",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": "2024-05-01T10:00:00Z",
            "detail": {"drinkOrder": {"drink": ["not", "a", "string", 1]}},
        }
    ]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    aws_cli.run("publish", "--aws", str(path))
    stats = aws_cli.json("worker", "--aws", "--drain")
    assert stats["rejected"] == 1
    letters: list[dict[str, Any]] = aws_cli.json("dlq", "list", "--aws", "--format", "json")
    assert [(d["reason"], d["metric"]) for d in letters] == [("dimension_wrong_type", "sales")]
    assert aws_cli.json("status", "--aws")["dead_letter_queue"]["messages"] == 1
    aws_cli.run("dlq", "redrive", "--aws")
    assert aws_cli.json("status", "--aws")["queue"]["visible"] == 1
    assert aws_cli.json("status", "--aws")["dead_letter_queue"]["messages"] == 0


def test_missing_resources_say_what_to_do(aws_cli: Cli) -> None:
    result = aws_cli.run("worker", "--aws", "--drain", check=False)
    assert result.returncode != 0
    assert "does not exist" in result.stderr and "init --aws" in result.stderr


def test_load_burst_on_aws(aws_cli: Cli, aws: Emulator) -> None:
    aws_cli.run("init", "--aws")
    aws_cli.run("load", "--aws", "--burst", "--orders", "60")
    stats = aws_cli.json(
        "worker", "--aws", "--drain", "--batch-size", "100", "--batching-window", "1"
    )
    assert stats["counted"] == 60
    rows = aws_cli.json("report", "--aws", "--metric", "sales", "--format", "json")
    assert sum(r["value"] for r in rows if r["dimension"] == "TotalSales") == 60


def test_serve_reads_dynamodb_with_only_the_table(aws_cli: Cli, aws: Emulator) -> None:
    import socket
    import time
    import urllib.request

    from tests.expected import RECORDED_SALES
    from tests.sam import table_from_template

    aws_cli.run("init", "--aws")
    aws_cli.run("publish", "--aws", TRACE)
    aws_cli.run("worker", "--aws", "--drain", "--batch-size", "10")
    # The server needs the table only: no queue, no bus.
    sqs = aws.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = aws_cli.popen("serve", "--aws", "--port", str(port))
    try:
        for _ in range(100):
            try:
                body = urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/metrics/sales?from=2022-10-14&to=2022-10-14",
                    timeout=2,
                ).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("serve --aws did not come up")
        assert {r["dimension"]: r["value"] for r in json.loads(body)} == RECORDED_SALES
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert table_from_template()["TableName"] == TABLE
