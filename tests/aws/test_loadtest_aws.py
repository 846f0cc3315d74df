"""``loadtest --aws`` against the emulator: the burst on EventBridge, the stack's own SQS queue and
DynamoDB table sampled. moto cannot run Lambda, so the consumers are local (``--consumers
local``); with the default (the deployed function) nothing consumes here, which the second test
uses to check that the burst waits in SQS and the run stops cleanly at its timeout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.aws_emulator import Emulator
from tests.e2e.conftest import Cli

TABLE = "serverlesspresso-metrics-table"


@pytest.fixture
def aws_cli(aws: Emulator, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "unused.db")
    cli.env.update(aws.env)
    cli.run("init", "--aws")
    return cli


def total_sales_today(aws: Emulator) -> int:
    sk = f"{datetime.now(UTC).date().isoformat()}#TotalSales"
    found = aws.client("dynamodb").get_item(
        TableName=TABLE, Key={"PK": {"S": "Aggregate"}, "SK": {"S": sk}}
    )
    return int(found["Item"]["val"]["N"]) if "Item" in found else 0


def test_local_consumers_drain_the_sqs_queue_into_dynamodb(
    aws_cli: Cli, aws: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = aws_cli.run(
        "loadtest", "--aws", "--consumers", "local", "--orders", "60", "--concurrency", "1",
        "--write-limit", "10", "--out", str(out),
    )  # fmt: skip
    data = json.loads((out / "loadtest.json").read_text())
    summary, samples = data["summary"], data["samples"]
    assert summary["backend"] == "aws" and summary["consumers"] == "local"
    assert summary["drained"] is True and summary["counted_exactly_once"] is True
    assert summary["counted"] == 60 and summary["published"] == 60
    assert total_sales_today(aws) == 60
    assert summary["transactions"] == summary["worker"]["batches"] >= 6
    assert max(s["visible"] + s["in_flight"] for s in samples) > 0
    assert samples[-1]["visible"] == samples[-1]["in_flight"] == 0
    assert "60 of 60 orders, each exactly once" in result.stdout


def test_with_the_deployed_function_the_burst_waits_in_sqs(
    aws_cli: Cli, aws: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = aws_cli.run(
        "loadtest", "--aws", "--orders", "20", "--timeout", "2", "--out", str(out), check=False
    )
    assert result.returncode == 1
    data = json.loads((out / "loadtest.json").read_text())
    summary, samples = data["summary"], data["samples"]
    assert summary["consumers"] == "lambda" and summary["drained"] is False
    assert summary["transactions"] is None and summary["peak_write_rate"] is None
    assert summary["published"] == 20 and summary["counted"] == 0
    assert samples[-1]["visible"] == 20 and samples[-1]["transactions"] is None
    assert "not drained after" in result.stdout
    assert "not visible (the deployed function writes)" in result.stdout
    assert total_sales_today(aws) == 0
