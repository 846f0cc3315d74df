"""An SQS queue through boto3: batched sends and deletes (10 per call), long polling,
and listing (receive, then make visible again) for the dead-letter queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from presso_metrics.domain.message_text import is_sqs_text
from presso_metrics.exceptions import NotFoundError
from presso_metrics.ports import OutgoingMessage, QueueDepth, ReceivedMessage

log = logging.getLogger("presso_metrics.sqs")

MAX_BATCH = 10  # SQS's limit for batch calls and for one receive
MAX_BATCH_BYTES = 1024 * 1024  # a batch call's payload, and one message's
MAX_WAIT = 20  # long polling, seconds


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url
        self.name = url.rstrip("/").rsplit("/", 1)[-1]
        self.fifo = self.name.endswith(".fifo")
        self._arn: str | None = None
        self.region = client.meta.region_name

    @classmethod
    def by_name(cls, client: Any, name: str) -> SqsQueue:
        try:
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as e:
            if "NonExistentQueue" in e.response.get("Error", {}).get("Code", ""):
                raise NotFoundError(
                    f"SQS queue {name!r} does not exist in {client.meta.region_name}; deploy the "
                    "stack (sam deploy) or run `presso-metrics init --aws`, or pass its name"
                ) from None
            raise
        return cls(client, url)

    @property
    def arn(self) -> str:
        if self._arn is None:
            attributes = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["QueueArn"]
            )["Attributes"]
            self._arn = str(attributes["QueueArn"])
        return self._arn

    def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        errors = [""] * len(messages)
        batch: list[tuple[int, dict[str, Any]]] = []
        size = 0
        for index, m in enumerate(messages):
            if not is_sqs_text(m.body) or not all(is_sqs_text(v) for v in m.attributes.values()):
                errors[index] = "the message holds characters SQS does not accept"
                continue
            entry = self._entry(index, m)
            entry_size = len(m.body.encode()) + sum(
                len(k) + len(v.encode()) + 6 for k, v in m.attributes.items()
            )
            if entry_size > MAX_BATCH_BYTES:
                errors[index] = (
                    f"message of {entry_size} bytes exceeds the {MAX_BATCH_BYTES}-byte limit"
                )
                continue
            if batch and (len(batch) == MAX_BATCH or size + entry_size > MAX_BATCH_BYTES):
                self._send_batch(batch, errors)
                batch, size = [], 0
            batch.append((index, entry))
            size += entry_size
        if batch:
            self._send_batch(batch, errors)
        return errors

    def _entry(self, index: int, m: OutgoingMessage) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": m.body}
        if m.attributes:
            entry["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} for k, v in m.attributes.items()
            }
        if self.fifo:
            entry["MessageGroupId"] = "presso-metrics"
            if m.dedup_id:
                entry["MessageDeduplicationId"] = m.dedup_id[:128]
        return entry

    def _send_batch(self, batch: list[tuple[int, dict[str, Any]]], errors: list[str]) -> None:
        try:
            response = self.client.send_message_batch(
                QueueUrl=self.url, Entries=[entry for _, entry in batch]
            )
        except ClientError as e:
            for index, _ in batch:
                errors[index] = (
                    f"{e.response['Error']['Code']}: {e.response['Error'].get('Message', '')}"
                )
            return
        for failure in response.get("Failed", []):
            errors[int(failure["Id"])] = f"{failure.get('Code')}: {failure.get('Message', '')}"

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        wait = min(MAX_WAIT, round(wait_seconds))
        while len(out) < max_messages:
            kwargs: dict[str, Any] = {
                "QueueUrl": self.url,
                "MaxNumberOfMessages": min(MAX_BATCH, max_messages - len(out)),
                "WaitTimeSeconds": wait,
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
            }
            if visibility_timeout is not None:
                kwargs["VisibilityTimeout"] = visibility_timeout
            got = self.client.receive_message(**kwargs).get("Messages", [])
            if not got:
                break
            out.extend(_received(m) for m in got)
            wait = 0  # only the first call waits; then take what is there
        return out

    def delete(self, receipt_handles: Sequence[str]) -> None:
        for i in range(0, len(receipt_handles), MAX_BATCH):
            part = receipt_handles[i : i + MAX_BATCH]
            response = self.client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(part)],
            )
            for failure in response.get("Failed", []):
                # A stale handle (the message was received again meanwhile) is not an error:
                # the other receiver will process it and the event is counted once anyway.
                log.info("delete not applied: %s %s", failure.get("Code"), failure.get("Message"))

    def depth(self) -> QueueDepth:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        visible = int(attributes.get("ApproximateNumberOfMessages", 0))
        hidden = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
        delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
        return QueueDepth(visible + delayed, hidden)

    def peek(self, limit: int) -> list[ReceivedMessage]:
        """Receive up to ``limit`` messages, then make them visible again at once."""
        seen: dict[str, ReceivedMessage] = {}
        handles: list[str] = []
        while len(seen) < limit:
            got = self.receive(min(MAX_BATCH, limit - len(seen)), visibility_timeout=30)
            fresh = [m for m in got if m.message_id not in seen]
            handles += [m.receipt_handle for m in got]
            if not fresh:
                break
            seen.update((m.message_id, m) for m in fresh)
        for i in range(0, len(handles), MAX_BATCH):
            part = handles[i : i + MAX_BATCH]
            self.client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for n, h in enumerate(part)
                ],
            )
        return list(seen.values())


def _received(m: dict[str, Any]) -> ReceivedMessage:
    a = m.get("Attributes", {})
    sent = int(a.get("SentTimestamp", 0))
    return ReceivedMessage(
        message_id=m["MessageId"],
        receipt_handle=m["ReceiptHandle"],
        body=m["Body"],
        receive_count=int(a.get("ApproximateReceiveCount", 1)),
        sent_timestamp_ms=sent,
        first_receive_timestamp_ms=int(a.get("ApproximateFirstReceiveTimestamp", sent)),
        attributes={
            k: v["StringValue"]
            for k, v in m.get("MessageAttributes", {}).items()
            if "StringValue" in v
        },
    )
