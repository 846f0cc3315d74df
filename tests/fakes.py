"""Small hand-written fakes of the ports, for unit tests (no I/O, no mocks)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from presso_metrics.domain.counting import CountedEvent, CounterKey
from presso_metrics.ports import (
    ApplyResult,
    Counter,
    OutgoingMessage,
    QueueDepth,
    ReceivedMessage,
)


class FakeStore:
    """In-memory exactly-once store. ``fail_next`` makes the next applies fail."""

    def __init__(self) -> None:
        self.counters: dict[CounterKey, int] = {}
        self.markers: set[str] = set()
        self.fail_next = 0
        self.applies = 0
        self.rebuild_claimed = False

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        self.applies += 1
        if self.fail_next:
            self.fail_next -= 1
            return ApplyResult(failed={e.marker: "injected failure" for e in events})
        result = ApplyResult()
        for e in events:
            if e.marker in self.markers:
                result.duplicates.add(e.marker)
                continue
            self.markers.add(e.marker)
            result.counted.add(e.marker)
            for key, n in e.increments.items():
                self.counters[key] = self.counters.get(key, 0) + n
        return result

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        return sorted(
            Counter(k, v)
            for k, v in self.counters.items()
            if k.partition == partition and first_bucket <= k.bucket <= last_bucket
        )

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        buckets = [k.bucket for k in self.counters if k.partition == partition]
        return (min(buckets), max(buckets)) if buckets else None

    def is_empty(self) -> bool:
        return not self.counters

    def claim_rebuild(self) -> bool:
        if not self.rebuild_claimed and self.counters:
            return False
        self.rebuild_claimed = True
        return True

    def value(self, partition: str, bucket: str, dimension: str) -> int:
        return self.counters.get(CounterKey(partition, bucket, dimension), 0)


class FakeQueue:
    """An in-memory queue that records what was sent; ``refuse`` makes sends fail."""

    def __init__(self, name: str = "FakeDLQ") -> None:
        self.name = name
        self.arn = f"arn:aws:sqs:local:000000000000:{name}"
        self.region = "local"
        self.sent: list[OutgoingMessage] = []
        self.refuse = False
        self._ids = itertools.count(1)

    def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        if self.refuse:
            return ["queue unavailable"] * len(messages)
        self.sent.extend(messages)
        return [""] * len(messages)

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        taken, self.sent = self.sent[:max_messages], self.sent[max_messages:]
        return [self._received(m) for m in taken]

    def _received(self, m: OutgoingMessage) -> ReceivedMessage:
        n = next(self._ids)
        return ReceivedMessage(f"m{n}", f"h{n}", m.body, 1, 0, 0, dict(m.attributes))

    def delete(self, receipt_handles: Sequence[str]) -> None:
        pass

    def depth(self) -> QueueDepth:
        return QueueDepth(len(self.sent), 0)

    def peek(self, limit: int) -> list[ReceivedMessage]:
        return [self._received(m) for m in self.sent[:limit]]
