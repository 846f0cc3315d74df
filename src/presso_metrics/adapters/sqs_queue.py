"""An SQS queue through boto3: batched sends and deletes (10 per call, the entries that failed
on SQS's side sent again), long polling, and listing (receive, then make visible again) for the
dead-letter queue.

Every receive that waits is a long poll: an empty answer to a short poll only means the servers
sampled held nothing, so listing and redriving would stop early at a false empty answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from presso_metrics.domain.message_text import is_sqs_text
from presso_metrics.exceptions import NotFoundError
from presso_metrics.ports import OutgoingMessage, QueueDepth, ReceivedMessage

log = logging.getLogger("presso_metrics.sqs")

MAX_BATCH = 10  # SQS's limit for batch calls and for one receive
MAX_BATCH_BYTES = 1024 * 1024  # a batch call's payload, and one message's
# Long polling, seconds per call: below the client's read timeout (adapters/aws.py), longer
# waits are made of several calls.
MAX_WAIT = 3
LIST_WAIT = 1  # a listing's long polls
LIST_VISIBILITY = 30  # how long a listing hides what it has seen (then made visible again)
ENTRY_ATTEMPTS = 3  # sends of an entry SQS failed on its side (SenderFault false)


class SqsQueue:
    def __init__(
        self, client: Any, url: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.url = url
        self.name = url.rstrip("/").rsplit("/", 1)[-1]
        self.fifo = self.name.endswith(".fifo")
        self._arn: str | None = None
        self._visibility_timeout: int | None = None
        self.region = client.meta.region_name
        self.sleep = sleep

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

    @property
    def visibility_timeout(self) -> int:
        """The queue's default visibility timeout, in seconds."""
        if self._visibility_timeout is None:
            attributes = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
            self._visibility_timeout = int(attributes["VisibilityTimeout"])
        return self._visibility_timeout

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
        pending = {entry["Id"]: (index, entry) for index, entry in batch}
        for attempt in range(ENTRY_ATTEMPTS):
            try:
                response = self.client.send_message_batch(
                    QueueUrl=self.url, Entries=[entry for _, entry in pending.values()]
                )
            except ClientError as e:
                why = f"{e.response['Error']['Code']}: {e.response['Error'].get('Message', '')}"
                for index, _ in pending.values():
                    errors[index] = why
                return
            except Exception as e:  # the network, a deadline: this call's entries are not sent
                for index, _ in pending.values():
                    errors[index] = f"{type(e).__name__}: {e}"
                return
            retry = {}
            for failure in response.get("Failed", []):
                index, entry = pending[failure["Id"]]
                errors[index] = f"{failure.get('Code')}: {failure.get('Message', '')}"
                if not failure.get("SenderFault", True):
                    retry[failure["Id"]] = (index, entry)  # SQS's side: send it again
            if not retry or attempt == ENTRY_ATTEMPTS - 1:
                return
            for index, _ in retry.values():
                errors[index] = ""
            pending = retry
            self.sleep(0.05 * 2**attempt)

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        out: list[ReceivedMessage] = []
        give_up = time.monotonic() + wait_seconds
        while len(out) < max_messages:
            left = give_up - time.monotonic()
            # Long polls until something arrives or the wait is over; then take what is there.
            wait = 0 if out or left <= 0 else min(MAX_WAIT, max(1, round(left)))
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
            if got:
                out.extend(_received(m) for m in got)
            elif out or time.monotonic() >= give_up:
                break
        return out

    def delete(self, receipt_handles: Sequence[str]) -> None:
        for i in range(0, len(receipt_handles), MAX_BATCH):
            pending = {str(n): h for n, h in enumerate(receipt_handles[i : i + MAX_BATCH])}
            for attempt in range(ENTRY_ATTEMPTS):
                response = self.client.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[{"Id": n, "ReceiptHandle": h} for n, h in pending.items()],
                )
                retry = {}
                for failure in response.get("Failed", []):
                    if failure.get("SenderFault", True) or attempt == ENTRY_ATTEMPTS - 1:
                        # A stale handle (the message was received again meanwhile) is not an
                        # error: the other receiver processes it and the event counts once.
                        log.info(
                            "delete not applied: %s %s", failure.get("Code"), failure.get("Message")
                        )
                    else:
                        retry[failure["Id"]] = pending[failure["Id"]]
                if not retry:
                    break
                pending = retry
                self.sleep(0.05 * 2**attempt)

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
        """Receive up to ``limit`` messages (long polls, until one brings nothing new), then
        make them visible again at once."""
        seen: dict[str, ReceivedMessage] = {}
        handles: list[str] = []
        try:
            while len(seen) < limit:
                got = self.receive(
                    min(MAX_BATCH, limit - len(seen)),
                    wait_seconds=LIST_WAIT,
                    visibility_timeout=LIST_VISIBILITY,
                )
                fresh = [m for m in got if m.message_id not in seen]
                handles += [m.receipt_handle for m in got]
                if not fresh:
                    break
                seen.update((m.message_id, m) for m in fresh)
        finally:
            self.release(handles)
        return list(seen.values())

    def release(self, receipt_handles: Sequence[str]) -> None:
        """Make received messages visible again at once."""
        for i in range(0, len(receipt_handles), MAX_BATCH):
            part = receipt_handles[i : i + MAX_BATCH]
            response = self.client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for n, h in enumerate(part)
                ],
            )
            for failure in response.get("Failed", []):
                log.info("not made visible: %s %s", failure.get("Code"), failure.get("Message"))


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
