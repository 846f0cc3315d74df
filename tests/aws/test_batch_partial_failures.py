"""Batch calls that partly fail, as AWS answers them: PutEvents entries with an ErrorCode,
SendMessageBatch and DeleteMessageBatch entries in ``Failed``. The failed entries are really
not sent (they are taken out of the request); what is transient is sent again, exactly once,
and what is not is reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from presso_metrics.adapters.eventbridge_bus import EventBridgeBus
from presso_metrics.adapters.sqs_queue import SqsQueue
from presso_metrics.ports import OutgoingMessage
from tests.aws_emulator import Emulator
from tests.conftest import load_event


class PartialFailures:
    """Takes chosen entries out of a batch call's request and answers them as failed.

    ``choose(entries, call)`` returns ``{index in entries: failure}`` for the call's ``call``-th
    invocation (0-based); ``answer(parsed, failures)`` writes them into the parsed response."""

    def __init__(
        self,
        client: Any,
        operation: str,
        choose: Callable[[list[dict[str, Any]], int], dict[int, dict[str, Any]]],
        answer: Callable[[dict[str, Any], list[tuple[int, dict[str, Any]]]], None],
    ) -> None:
        self.calls: list[int] = []  # entries per call, as the adapter sent them
        self.choose, self.answer = choose, answer
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{service}.{operation}", self._take)
        client.meta.events.register(f"after-call.{service}.{operation}", self._answer)

    def _take(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        entries = params["Entries"]
        failures = self.choose(entries, len(self.calls))
        self.calls.append(len(entries))
        context["failures"] = sorted(failures.items())
        params["Entries"] = [e for i, e in enumerate(entries) if i not in failures]

    def _answer(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.answer(parsed, context.get("failures", []))


def queue_messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while got := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    ).get("Messages", []):
        out += got
    return out


def test_put_events_resends_the_entries_that_failed_transiently(aws: Emulator) -> None:
    events, sqs = aws.client("events"), aws.client("sqs")
    events.create_event_bus(Name="Serverlesspresso")
    url = sqs.create_queue(QueueName="MetricsQueue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all",
        EventBusName="Serverlesspresso",
        EventPattern=json.dumps({"source": ["awsserverlessda.serverlesspresso"]}),
    )
    events.put_targets(
        Rule="all", EventBusName="Serverlesspresso", Targets=[{"Id": "q", "Arn": arn}]
    )

    def choose(entries: list[dict[str, Any]], call: int) -> dict[int, dict[str, Any]]:
        out = {}
        for i, entry in enumerate(entries):
            n = int(json.loads(entry["Detail"])["orderNumber"])
            if n == 7:  # refused for good, on every call
                out[i] = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
            elif n in (2, 5) and call == 0:
                out[i] = {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal error."}
            elif n == 3 and call < 2:
                out[i] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded."}
        return out

    def answer(parsed: dict[str, Any], failures: list[tuple[int, dict[str, Any]]]) -> None:
        for index, failure in failures:  # PutEvents answers entry by entry, in order
            parsed["Entries"].insert(index, failure)
        parsed["FailedEntryCount"] = len(failures)

    faults = PartialFailures(events, "PutEvents", choose, answer)
    batch = []
    for n in range(10):
        event = load_event("waiting-completion.json")
        event["id"] = f"order-{n}"
        event["detail"]["orderNumber"] = n
        batch.append(event)
    result = EventBridgeBus(events, "Serverlesspresso", sleep=lambda s: None).publish(batch)
    assert result.published == 9
    assert result.failed == [(7, "MalformedDetail: Detail is malformed.")]
    assert faults.calls == [10, 3, 1]  # all; 2, 3 and 5 again; 3 again
    delivered = sorted(
        json.loads(m["Body"])["detail"]["orderNumber"] for m in queue_messages(sqs, url)
    )
    assert delivered == [0, 1, 2, 3, 4, 5, 6, 8, 9]  # each once


def sqs_failures(parsed: dict[str, Any], failures: list[tuple[int, dict[str, Any]]]) -> None:
    parsed.setdefault("Failed", []).extend(f for _, f in failures)


def test_send_message_batch_resends_what_failed_on_sqs_side_and_reports_the_rest(
    aws: Emulator,
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="MetricsQueue-DLQ")["QueueUrl"]

    def choose(entries: list[dict[str, Any]], call: int) -> dict[int, dict[str, Any]]:
        out = {}
        for i, entry in enumerate(entries):
            body, fault = entry["MessageBody"], None
            if body == "m3":
                fault = (True, "InvalidParameterValue")  # the sender's fault: not resent
            elif body in ("m1", "m8") and call == 0:
                fault = (False, "InternalError")
            if fault:
                out[i] = {
                    "Id": entry["Id"],
                    "SenderFault": fault[0],
                    "Code": fault[1],
                    "Message": "x",
                }
        return out

    faults = PartialFailures(sqs, "SendMessageBatch", choose, sqs_failures)
    queue = SqsQueue(sqs, url, sleep=lambda s: None)
    errors = queue.send([OutgoingMessage(f"m{i}", {"k": f"v{i}"}) for i in range(12)])
    assert errors == ["", "", "", "InvalidParameterValue: x", *[""] * 8]
    assert faults.calls == [10, 2, 2]  # m0-m9; m1 and m8 again (not m3); m10-m11
    got = queue_messages(sqs, url)
    assert sorted(m["Body"] for m in got) == sorted(f"m{i}" for i in range(12) if i != 3)
    assert all(m["MessageAttributes"]["k"]["StringValue"] == "v" + m["Body"][1:] for m in got)


def test_delete_message_batch_deletes_what_failed_on_sqs_side(aws: Emulator) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="MetricsQueue", Attributes={"VisibilityTimeout": "1"})[
        "QueueUrl"
    ]
    queue = SqsQueue(sqs, url, sleep=lambda s: None)
    assert queue.send([OutgoingMessage(f"m{i}") for i in range(6)]) == [""] * 6
    received = queue.receive(6, wait_seconds=1)
    assert len(received) == 6

    def choose(entries: list[dict[str, Any]], call: int) -> dict[int, dict[str, Any]]:
        if call:
            return {}
        return {
            i: {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            for i, e in enumerate(entries)
            if i in (1, 4)
        }

    faults = PartialFailures(sqs, "DeleteMessageBatch", choose, sqs_failures)
    queue.delete([m.receipt_handle for m in received])
    assert faults.calls == [6, 2]
    depth = queue.depth()
    assert depth.total == 0, depth  # nothing comes back after its visibility timeout


def test_delete_message_batch_leaves_a_stale_handle_alone(aws: Emulator) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="MetricsQueue")["QueueUrl"]
    queue = SqsQueue(sqs, url, sleep=lambda s: None)
    queue.send([OutgoingMessage("m0"), OutgoingMessage("m1")])
    received = queue.receive(2, wait_seconds=1)

    def choose(entries: list[dict[str, Any]], call: int) -> dict[int, dict[str, Any]]:
        stale = {"SenderFault": True, "Code": "ReceiptHandleIsInvalid", "Message": "x"}
        return {0: {"Id": entries[0]["Id"], **stale}}

    faults = PartialFailures(sqs, "DeleteMessageBatch", choose, sqs_failures)
    queue.delete([m.receipt_handle for m in received])  # does not raise
    assert faults.calls == [2]  # not sent again: another receiver holds the message
    assert queue.depth().total == 1
