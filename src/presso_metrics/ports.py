"""What the service needs from the outside world, and nothing more.

Each port has one implementation per backend (embedded SQLite, AWS) and one contract-test
suite that every implementation passes (tests/contract/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.domain.envelope import Rejection


class Counter(NamedTuple):
    key: CounterKey
    value: int


@dataclass
class ApplyResult:
    """The outcome of :meth:`MetricsStore.apply`, by event marker."""

    counted: set[str] = field(default_factory=set)
    duplicates: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # marker -> why (transient)
    # marker -> why the store refused the event for good (retrying would not help)
    rejected: dict[str, Rejection] = field(default_factory=dict)
    # marker -> the fingerprint a duplicate's event was first counted with, where stored
    previous: dict[str, str] = field(default_factory=dict)


class MetricsStore(Protocol):
    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        """Count each event exactly once: an event whose marker exists is a duplicate.

        Markers and counter increments commit together, so any failure leaves either both
        or neither; failed events are reported in ``failed`` and may be retried. An event the
        store refuses for good (DynamoDB finds a key or an item too large) is ``rejected`` and
        counts nothing; the other events of its batch are counted as usual.

        ``deadline`` (a ``time.monotonic()`` value): no write is started or retried that
        might not end by then; the events not written by then are reported ``failed``.
        """
        ...

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        """Counters of ``partition`` with buckets in ``[first_bucket, last_bucket]``."""
        ...

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        """The first and last bucket that has a counter in ``partition``."""
        ...

    def is_empty(self) -> bool:
        """True when no counter exists."""
        ...

    def claim_rebuild(self) -> bool:
        """Claim the store for a rebuild from an archive: True if it is empty (the claim is
        recorded) or was claimed before (a rebuild resumed by another worker); False if it
        holds counts of its own."""
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
