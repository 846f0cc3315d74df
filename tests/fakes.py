"""Small hand-written fakes of the ports, for unit tests (in memory, no I/O, no mocks).

They pass the same contract suites as the real adapters (tests/contract/, backend ``fake``), so
a unit test on a fake sees what the real store, queue and bus would do. The rules they share
with the adapters come from the domain (the dimension cap, SQS's text rule, the envelope a
publish makes, the pattern matcher); time comes from a clock a test can move.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from presso_metrics.domain.caps import DimensionCap, apply_caps
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent, sum_increments
from presso_metrics.domain.lifecycle import OrderEvent, merge, order_too_large
from presso_metrics.domain.message_text import is_sqs_text
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.patterns import EventPattern, compile_pattern
from presso_metrics.domain.publishing import MAX_EVENT_BYTES, normalise
from presso_metrics.exceptions import QueueError
from presso_metrics.ports import (
    ApplyResult,
    Counter,
    OutgoingMessage,
    PublishResult,
    QueueDepth,
    ReceivedMessage,
)

MAX_MESSAGE_BYTES = 1024 * 1024  # SQS's limit on a message: body and attributes


class FakeClock:
    """Time that moves only when a test moves it (``advance``)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeStore:
    """In-memory exactly-once store. ``fail_next`` makes the next applies fail (transiently)."""

    def __init__(
        self, caps: Mapping[str, DimensionCap] | None = None, metrics: MetricSet | None = None
    ) -> None:
        self.counters: dict[CounterKey, int] = {}
        self.markers: dict[str, str] = {}  # marker -> fingerprint
        self.orders: dict[str, list[OrderEvent]] = {}
        self.metrics = metrics
        self.caps = dict(caps or {})
        self.dimension_values: dict[str, set[str]] = {}  # partition -> values admitted
        self.fail_next = 0
        self.applies = 0
        self.rebuild_claimed = False

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        self.applies += 1
        by_marker = {e.marker: e for e in events}  # an event twice in a batch counts once
        if self.fail_next:
            self.fail_next -= 1
            return ApplyResult(failed={m: "injected failure" for m in by_marker})
        result = ApplyResult()
        plain = [e for e in by_marker.values() if e.order_key is None]
        new = [e for e in plain if e.marker not in self.markers]
        sums = sum_increments(new)
        result.counted = {e.marker for e in new}
        for e in plain:
            if e.marker in self.markers and e.marker not in result.counted:
                result.duplicates.add(e.marker)
                if self.markers[e.marker]:
                    result.previous[e.marker] = self.markers[e.marker]
        self.markers.update((e.marker, e.fingerprint) for e in new)
        orders: dict[str, list[CountedEvent]] = {}
        for e in by_marker.values():
            if e.order_key is not None:
                orders.setdefault(e.order_key, []).append(e)
        for key, arriving in orders.items():
            assert self.metrics is not None, "counting orders needs the store's metrics"
            merged = merge(
                self.orders.get(key, []),
                [e.order_event for e in arriving if e.order_event is not None],
                self.metrics,
            )
            counted = {e.marker for e in merged.counted}
            for e in arriving:
                if e.marker in counted:
                    for k, n in e.increments.items():
                        sums[k] = sums.get(k, 0) + n
            for k, n in merged.delta.items():
                sums[k] = sums.get(k, 0) + n
            result.counted |= counted
            result.duplicates.update(merged.duplicates)
            result.previous.update({m: f for m, f in merged.duplicates.items() if f})
            result.rejected.update({e.marker: order_too_large(key) for e in merged.refused})
            self.orders[key] = merged.events
        capped = apply_caps(sums, self.caps, self._registered)
        for partition, values in capped.admitted.items():
            self.dimension_values.setdefault(partition, set()).update(values)
        for counter, n in capped.sums.items():
            self.counters[counter] = self.counters.get(counter, 0) + n
        return result

    def _registered(self, partition: str, values: list[str]) -> tuple[set[str], int]:
        known = self.dimension_values.get(partition, set())
        return known.intersection(values), len(known)

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        # The adapters' range on the sort key "<bucket>#<dimension>": from first_bucket up to
        # everything that starts with last_bucket.
        return [
            c
            for c in self._counters(partition)
            if first_bucket <= c.key.sort_key <= last_bucket + "~"
        ]

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        counters = self._counters(partition)
        return (counters[0].key.bucket, counters[-1].key.bucket) if counters else None

    def _counters(self, partition: str) -> list[Counter]:
        return sorted(
            (Counter(k, v) for k, v in self.counters.items() if k.partition == partition),
            key=lambda c: c.key.sort_key,
        )

    def is_empty(self) -> bool:
        return not self.counters

    def claim_rebuild(self) -> bool:
        if not self.rebuild_claimed and self.counters:
            return False
        self.rebuild_claimed = True
        return True

    def value(self, partition: str, bucket: str, dimension: str) -> int:
        return self.counters.get(CounterKey(partition, bucket, dimension), 0)


@dataclass
class _Message:
    sent: OutgoingMessage
    message_id: str
    sent_at: float
    visible_at: float
    receive_count: int = 0
    first_received_at: float | None = None
    receipt_handle: str = ""

    def received(self) -> ReceivedMessage:
        return ReceivedMessage(
            self.message_id,
            self.receipt_handle,
            self.sent.body,
            self.receive_count,
            int(self.sent_at * 1000),
            int((self.first_received_at or self.sent_at) * 1000),
            dict(self.sent.attributes),
        )


class FakeQueue:
    """An in-memory standard SQS queue: ``receive`` hides messages for the visibility timeout
    and counts receives, ``delete`` acknowledges, a message received ``max_receive_count``
    times moves to ``dead_letter_queue`` on the next receive. Waiting never blocks (time
    moves only with the clock). ``dedup_id`` is ignored, as on a standard SQS queue.

    For tests: ``sent`` lists the messages the queue holds, as they were sent; ``refuse``
    makes sends fail.
    """

    def __init__(
        self,
        name: str = "FakeDLQ",
        *,
        visibility_timeout: int = 30,
        dead_letter_queue: FakeQueue | None = None,
        max_receive_count: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if dead_letter_queue is not None and max_receive_count is None:
            raise QueueError("a redrive policy needs max_receive_count")
        self.name = name
        self.arn = f"arn:aws:sqs:local:000000000000:{name}"
        self.region = "local"
        self.visibility_timeout = visibility_timeout
        self.dead_letter_queue = dead_letter_queue
        self.max_receive_count = max_receive_count
        self.clock = clock
        self.refuse = False
        self._messages: list[_Message] = []  # in the order they arrived

    @property
    def sent(self) -> list[OutgoingMessage]:
        return [m.sent for m in self._messages]

    def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        if self.refuse:
            return ["queue unavailable"] * len(messages)
        return [self._send_one(m) for m in messages]

    def _send_one(self, m: OutgoingMessage) -> str:
        if not is_sqs_text(m.body) or not all(is_sqs_text(v) for v in m.attributes.values()):
            return "the message holds characters SQS does not accept"
        # SQS counts the body and each attribute's name, data type ("String") and value.
        size = len(m.body.encode()) + sum(
            len(k.encode()) + len("String") + len(v.encode()) for k, v in m.attributes.items()
        )
        if size > MAX_MESSAGE_BYTES:
            return f"message of {size} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit"
        now = self.clock()
        self._arrive(_Message(m, str(uuid.uuid4()), sent_at=now, visible_at=now))
        return ""

    def _arrive(self, message: _Message) -> None:
        self._messages.append(message)

    def receive(
        self, max_messages: int, *, wait_seconds: float = 0.0, visibility_timeout: int | None = None
    ) -> list[ReceivedMessage]:
        now = self.clock()
        visible = sorted(
            (m for m in self._messages if m.visible_at <= now), key=lambda m: m.visible_at
        )[:max_messages]
        taken = []
        for m in visible:
            if self._redrive_due(m):
                self._move_to_dead_letter_queue(m)
                continue
            m.receive_count += 1
            m.first_received_at = m.first_received_at or now
            m.visible_at = now + (
                self.visibility_timeout if visibility_timeout is None else visibility_timeout
            )
            m.receipt_handle = uuid.uuid4().hex
            taken.append(m.received())
        return taken

    def _redrive_due(self, m: _Message) -> bool:
        limit = self.max_receive_count
        return self.dead_letter_queue is not None and limit is not None and m.receive_count >= limit

    def _move_to_dead_letter_queue(self, m: _Message) -> None:
        assert self.dead_letter_queue is not None
        self._messages.remove(m)
        m.visible_at, m.receipt_handle = self.dead_letter_queue.clock(), ""
        self.dead_letter_queue._arrive(m)  # same message: id, body, sent time, receive count

    def delete(self, receipt_handles: Sequence[str]) -> None:
        handles = set(receipt_handles) - {""}
        self._messages = [m for m in self._messages if m.receipt_handle not in handles]

    def depth(self) -> QueueDepth:
        now = self.clock()
        visible = sum(1 for m in self._messages if m.visible_at <= now)
        return QueueDepth(visible, len(self._messages) - visible)

    def peek(self, limit: int) -> list[ReceivedMessage]:
        return [m.received() for m in self._messages[:limit]]


class FakeBus:
    """An in-memory EventBridge bus: ``publish`` makes each event an envelope (as the embedded
    bus does) and sends it to the target queues of every rule whose pattern matches."""

    def __init__(
        self,
        name: str = "Serverlesspresso",
        *,
        clock: Callable[[], float] = time.time,
        account: str = "000000000000",
        region: str = "local",
    ) -> None:
        self.name = name
        self.clock = clock
        self.account = account
        self.region = region
        self.rules: dict[str, tuple[EventPattern, list[FakeQueue]]] = {}

    def put_rule(self, name: str, pattern: Mapping[str, Any], targets: Sequence[FakeQueue]) -> None:
        """Create or replace a rule; a malformed pattern raises PatternError."""
        self.rules[name] = (compile_pattern(pattern), list(targets))

    def publish(self, events: Sequence[Mapping[str, Any]]) -> PublishResult:
        when = datetime.fromtimestamp(self.clock(), UTC)
        result = PublishResult()
        for index, event in enumerate(events):
            envelope = normalise(event, now=when, account=self.account, region=self.region)
            if isinstance(envelope, str):
                result.failed.append((index, envelope))
                continue
            body = orjson.dumps(envelope)
            if len(body) > MAX_EVENT_BYTES:
                why = f"the event is {len(body)} bytes; EventBridge accepts {MAX_EVENT_BYTES}"
                result.failed.append((index, why))
                continue
            for pattern, targets in self.rules.values():
                if pattern.matches(envelope):
                    for queue in targets:
                        self._deliver(queue, body.decode())
            result.published += 1
        return result

    def _deliver(self, queue: FakeQueue, body: str) -> None:
        (error,) = queue.send([OutgoingMessage(body)])
        if error:  # EventBridge would retry, then use the target's dead-letter queue
            raise QueueError(f"the bus could not deliver to {queue.name}: {error}")
