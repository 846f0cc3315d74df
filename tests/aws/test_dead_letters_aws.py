"""Dead letters on SQS: listing and redriving with long polls and exact counts, EventBridge's
undeliverable events among them, and the refusal of what is too old to redrive safely."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from presso_metrics.adapters.sqs_queue import SqsQueue
from presso_metrics.dead_letters import list_dead_letters, redrive
from presso_metrics.ports import OutgoingMessage
from tests.aws_emulator import Emulator
from tests.conftest import load_event
from tests.e2e.conftest import Cli

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def aws_cli(aws: Emulator, tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "unused.db")
    cli.env.update(aws.env)
    cli.run("init", "--aws")
    return cli


def queues(aws: Emulator) -> tuple[Any, SqsQueue, SqsQueue]:
    sqs = aws.client("sqs")
    dlq = SqsQueue.by_name(sqs, "MetricsQueue-DLQ")
    return sqs, dlq, SqsQueue.by_name(sqs, "MetricsQueue")


def sale(event_id: str) -> str:
    event = load_event("waiting-completion.json")
    event["id"] = event_id
    return json.dumps(event)


class FalseEmptyShortPolls:
    """SQS answers a short poll from a sample of its servers: it may answer nothing while
    messages wait. Here every short poll answers nothing; long polls are answered as usual."""

    def __init__(self, sqs: Any) -> None:
        self.waits: list[int] = []
        sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", self._wait)
        sqs.meta.events.register("before-call.sqs.ReceiveMessage", self._answer)

    def _wait(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["wait"] = int(params.get("WaitTimeSeconds", 0))
        self.waits.append(context["wait"])

    def _answer(self, context: dict[str, Any], **_: Any) -> Any:
        if context["wait"] == 0:
            # (http response, parsed response): the call is not made
            return AWSResponse("http://sqs", 200, {}, None), {"Messages": []}
        return None


def test_listing_and_redriving_do_not_stop_at_a_false_empty_answer(
    aws_cli: Cli, aws: Emulator
) -> None:
    sqs, dlq, source = queues(aws)
    assert dlq.send([OutgoingMessage(sale(f"e{i}")) for i in range(25)]) == [""] * 25
    polls = FalseEmptyShortPolls(sqs)
    assert len(list_dead_letters(dlq)) == 25
    report = redrive(dlq, source)
    assert report.moved == 25 and report.refused == 0
    # Every first poll of a receive waits (a long poll); a short one only tops up a batch.
    assert polls.waits.count(0) < len(polls.waits) / 2
    assert dlq.depth().total == 0 and source.depth().total == 25


def test_eventbridge_dead_letters_are_listed_and_redriven(aws_cli: Cli, aws: Emulator) -> None:
    # GIVEN an event EventBridge could not deliver to the queue, dead-lettered as it does: the
    # body is the event, the attributes say why (moto does not dead-letter targets itself)
    sqs, dlq, _ = queues(aws)
    body = sale("undelivered-1")
    rule = "arn:aws:events:us-west-2:123456789012:rule/Serverlesspresso/OrderMetrics-DynamoDB"
    sqs.send_message(
        QueueUrl=dlq.url,
        MessageBody=body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value}
            for name, value in {
                "ERROR_CODE": "NO_PERMISSIONS",
                "ERROR_MESSAGE": "Access to the queue was denied",
                "RULE_ARN": rule,
                "TARGET_ARN": "arn:aws:sqs:us-west-2:123456789012:MetricsQueue",
            }.items()
        },
    )
    # WHEN the dead letters are listed
    (letter,) = aws_cli.json("dlq", "list", "--aws", "--format", "json")
    # THEN it shows with EventBridge's reason
    assert letter["reason"] == "delivery_failed"
    assert letter["message"] == (
        f"EventBridge: NO_PERMISSIONS: Access to the queue was denied (rule {rule})"
    )
    assert letter["body"] == body and letter["first_sent"] is not None
    table = aws_cli.run("dlq", "list", "--aws").stdout
    assert "delivery_failed" in table and "NO_PERMISSIONS" in table
    # AND once the cause is fixed it is redriven and counted once
    result = aws_cli.run("dlq", "redrive", "--aws")
    assert "moved 1 messages back to MetricsQueue" in result.stderr
    stats = aws_cli.json("worker", "--aws", "--drain")
    assert (stats["counted"], stats["rejected"], stats["failed"]) == (1, 0, 0)


def test_a_message_too_old_to_redrive_is_refused_and_left_in_place(
    aws_cli: Cli, aws: Emulator
) -> None:
    # GIVEN two dead letters: one first enqueued 80 days ago (a record rejected then, redriven
    # since: its stamp says so), one 10 days ago
    sqs, dlq, source = queues(aws)
    now_ms = int(time.time() * 1000)
    old, recent = str(now_ms - 80 * DAY_MS), str(now_ms - 10 * DAY_MS)
    assert dlq.send(
        [
            OutgoingMessage(sale("old"), {"presso.first-sent": old, "presso.reason": "not_json"}),
            OutgoingMessage(sale("recent"), {"presso.first-sent": recent}),
        ]
    ) == ["", ""]
    # WHEN it is redriven
    result = aws_cli.run("dlq", "redrive", "--aws", check=False)
    # THEN the recent one moves, carrying its first enqueue; the old one is refused, says why,
    # and is still in the dead-letter queue, visible at once
    assert result.returncode == 0, result.stderr
    assert "moved 1 messages" in result.stderr
    assert "refused 1 messages first enqueued more than 75 days ago" in result.stderr
    assert "kept 90 days" in result.stderr and "--force" in result.stderr
    (moved,) = sqs.receive_message(
        QueueUrl=source.url, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(moved["Body"])["id"] == "recent"
    assert moved["MessageAttributes"]["presso.first-sent"]["StringValue"] == recent
    left = aws_cli.json("dlq", "list", "--aws", "--format", "json")
    assert [json.loads(d["body"])["id"] for d in left] == ["old"]
    # A longer horizon (markers kept 120 days) allows it, not one 110 days old ...
    older = str(now_ms - 110 * DAY_MS)
    assert dlq.send([OutgoingMessage(sale("older"), {"presso.first-sent": older})]) == [""]
    longer = aws_cli.run("dlq", "redrive", "--aws", "--dedup-horizon-days", "120")
    assert "moved 1 messages" in longer.stderr
    assert "refused 1 messages first enqueued more than 105 days ago" in longer.stderr
    # ... which --force moves, saying its counts may double
    forced = aws_cli.run("dlq", "redrive", "--aws", "--force")
    assert "moved 1 messages" in forced.stderr
    assert "may now be counted twice" in forced.stderr
    assert dlq.depth().total == 0
