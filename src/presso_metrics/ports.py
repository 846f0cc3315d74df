"""What the service needs from the outside world, and nothing more.

Each port has one implementation per backend (embedded SQLite, AWS) and one contract-test
suite that every implementation passes (tests/contract/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from presso_metrics.domain.counting import CountedEvent, CounterKey


class Counter(NamedTuple):
    key: CounterKey
    value: int


@dataclass
class ApplyResult:
    """The outcome of :meth:`MetricsStore.apply`, by event marker."""

    counted: set[str] = field(default_factory=set)
    duplicates: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # marker -> why (transient)


class MetricsStore(Protocol):
    def apply(self, events: Sequence[CountedEvent]) -> ApplyResult:
        """Count each event exactly once: an event whose marker exists is a duplicate.

        Markers and counter increments commit together, so any failure leaves either both
        or neither; failed events are reported in ``failed`` and may be retried.
        """
        ...

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        """Counters of ``partition`` with buckets in ``[first_bucket, last_bucket]``."""
        ...

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        """The first and last bucket that has a counter in ``partition``."""
        ...

    def is_empty(self) -> bool:
        """True when no counter exists (a rebuild from an archive may start)."""
        ...


@dataclass(frozen=True)
class OutgoingMessage:
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    # Sending twice with the same dedup id enqueues once where the queue can tell (the
    # embedded queue, SQS FIFO); a standard SQS queue may hold both.
    dedup_id: str | None = None


class ReceivedMessage(NamedTuple):
    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    sent_timestamp_ms: int
    first_receive_timestamp_ms: int
    attributes: Mapping[str, str] = {}  # message attributes (never mutated)

    def lambda_record(self, queue_arn: str, region: str) -> dict[str, Any]:
        """This message as a record of the Lambda SQS event (what the event source sends)."""
        return {
            "messageId": self.message_id,
            "receiptHandle": self.receipt_handle,
            "body": self.body,
            "attributes": {
                "ApproximateReceiveCount": str(self.receive_count),
                "SentTimestamp": str(self.sent_timestamp_ms),
                "SenderId": "presso-metrics",
                "ApproximateFirstReceiveTimestamp": str(self.first_receive_timestamp_ms),
            },
            "messageAttributes": {
                name: {
                    "stringValue": value,
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": "String",
                }
                for name, value in self.attributes.items()
            }
            if self.attributes
            else {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }


class QueueDepth(NamedTuple):
    visible: int
    in_flight: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight


class Queue(Protocol):
    """An SQS queue: at-least-once delivery with visibility timeouts and receive counts."""

    @property
    def name(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def region(self) -> str: ...

    def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        """Enqueue ``messages``; return one error per message that was not sent ("" if sent)."""
        ...

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` visible messages and hide them for the visibility
        timeout. A message received more than the redrive policy's ``maxReceiveCount`` times
        is moved to the dead-letter queue instead."""
        ...

    def delete(self, receipt_handles: Sequence[str]) -> None:
        """Acknowledge messages. A stale handle (the message was received again) is a no-op."""
        ...

    def change_visibility(self, receipt_handle: str, seconds: int) -> None: ...

    def depth(self) -> QueueDepth: ...

    def peek(self, limit: int) -> list[ReceivedMessage]:
        """Messages currently in the queue, for listing (best effort on SQS)."""
        ...


@dataclass
class PublishResult:
    published: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (index in input, why)


class Bus(Protocol):
    """An EventBridge event bus: rules route each published event to their targets."""

    @property
    def name(self) -> str: ...

    def publish(self, events: Sequence[Mapping[str, Any]]) -> PublishResult: ...
