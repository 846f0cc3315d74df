"""Process a batch: parse, reject, aggregate, apply, report failures.

:class:`BatchProcessor` takes a Lambda SQS event and returns the partial batch response. The
Lambda handler and the local worker both call it, so they behave identically.

- A record that cannot be used is *rejected*: sent to the dead-letter queue with its reason and
  acknowledged. Rejection is permanent; retrying would not help.
- A record whose event could not be stored (throttling, conflicts, the network) *failed*: it is
  reported in ``batchItemFailures`` and SQS delivers it again later.
- Several records carrying the same event are counted once; they succeed or fail together.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from presso_metrics.domain.counting import (
    SKIP_REPLAYS,
    CountedEvent,
    ReplayPolicy,
    Skipped,
    count_event,
)
from presso_metrics.domain.envelope import (
    DEFAULT_MAX_FUTURE,
    DEFAULT_MAX_RECORD_BYTES,
    Rejection,
    parse_envelope,
)
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.ports import MetricsStore, OutgoingMessage, Queue, ReceivedMessage

log = logging.getLogger("presso_metrics.service")

BODY_ENCODING = "presso.body-encoding"  # "base64" when the body is not valid Unicode text


@dataclass
class BatchOutcome:
    """What happened to a batch; ``item_failures`` are the SQS message ids to retry."""

    received: int = 0
    counted: int = 0  # distinct events newly counted
    duplicates: int = 0  # records whose event was already counted (or repeated in the batch)
    rejected: int = 0
    replays_skipped: int = 0
    unmatched: int = 0
    failed: int = 0
    item_failures: list[str] = field(default_factory=list)
    rejections: list[tuple[str, Rejection]] = field(default_factory=list)

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.item_failures]}

    def summary(self) -> dict[str, int]:
        return {
            "received": self.received,
            "counted": self.counted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "replays_skipped": self.replays_skipped,
            "unmatched": self.unmatched,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class Limits:
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_future: timedelta = DEFAULT_MAX_FUTURE


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BatchProcessor:
    def __init__(
        self,
        metrics: MetricSet,
        store: MetricsStore,
        dead_letters: Queue | None,
        *,
        replay: ReplayPolicy = SKIP_REPLAYS,
        limits: Limits = Limits(),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.dead_letters = dead_letters
        self.replay = replay
        self.limits = limits
        self.clock = clock

    def process(self, event: Mapping[str, Any]) -> BatchOutcome:
        """Process a Lambda SQS event; never raises for bad records or a failing store."""
        records = event.get("Records") if isinstance(event, Mapping) else None
        out = BatchOutcome()
        if not isinstance(records, list):
            log.error("not a Lambda SQS event: no Records array")
            return out
        out.received = len(records)
        now = self.clock()
        events: dict[str, CountedEvent] = {}
        carriers: dict[str, list[str]] = {}  # marker -> message ids of the records carrying it
        rejected: list[tuple[Mapping[str, Any], Rejection]] = []
        for index, record in enumerate(records):
            message_id = _message_id(record, index)
            try:
                result = self._count(record, now)
            except Exception:  # a bug, not the record's fault: let SQS deliver it again
                log.exception("unexpected error on record %s; it will be retried", message_id)
                out.failed += 1
                out.item_failures.append(message_id)
                continue
            if isinstance(result, CountedEvent):
                if result.marker not in carriers:
                    events[result.marker] = result
                    carriers[result.marker] = []
                carriers[result.marker].append(message_id)
            elif isinstance(result, Skipped):
                if result.reason == "replay":
                    out.replays_skipped += 1
                else:
                    out.unmatched += 1
            else:
                rejected.append((record, result))
                out.rejections.append((message_id, result))
        self._apply(list(events.values()), carriers, out)
        self._dead_letter(rejected, out, now)
        return out

    def _count(
        self, record: Mapping[str, Any], now: datetime
    ) -> CountedEvent | Rejection | Skipped:
        if type(record) is not dict and not isinstance(record, Mapping):
            return Rejection("not_a_record", "the SQS record is not an object")
        body = record.get("body")
        if _attribute(record, BODY_ENCODING) == "base64" and isinstance(body, str):
            body = _decode_body(body)
        parsed = parse_envelope(
            body, now=now, max_bytes=self.limits.max_record_bytes, max_future=self.limits.max_future
        )
        if isinstance(parsed, Rejection):
            return parsed
        return count_event(parsed, self.metrics, self.replay)

    def _apply(
        self, events: list[CountedEvent], carriers: dict[str, list[str]], out: BatchOutcome
    ) -> None:
        if not events:
            return
        try:
            result = self.store.apply(events)
        except Exception as e:  # never crash the consumer: everything comes back later
            log.exception("the store failed; %d events will be retried", len(events))
            failed = {e_.marker: f"{type(e).__name__}: {e}" for e_ in events}
        else:
            failed = result.failed
            out.counted += len(result.counted)
            # Every record beyond the first carrying a counted event is a duplicate; every
            # record carrying an event counted before is one.
            out.duplicates += sum(len(carriers[m]) - 1 for m in result.counted)
            out.duplicates += sum(len(carriers[m]) for m in result.duplicates)
        for marker, why in failed.items():
            ids = carriers[marker]
            out.failed += len(ids)
            out.item_failures.extend(ids)
            log.warning("event %s not stored (%s); will be retried", marker, why)

    def _dead_letter(
        self,
        rejected: list[tuple[Mapping[str, Any], Rejection]],
        out: BatchOutcome,
        now: datetime,
    ) -> None:
        if not rejected:
            return
        for record, why in rejected:
            log.warning(
                "rejected record %s: %s (%s)",
                _message_id(record, -1),
                why.reason,
                why.message,
                extra={"reason": why.reason, "field": why.field, "metric": why.metric},
            )
        if self.dead_letters is None:
            log.error(
                "no dead-letter queue configured: %d rejected records are left to the "
                "queue's redrive policy",
                len(rejected),
            )
            out.failed += len(rejected)
            out.item_failures.extend(_message_id(r, -1) for r, _ in rejected)
            return
        letters = [dead_letter(record, why, now) for record, why in rejected]
        try:
            errors = self.dead_letters.send(letters)
        except Exception as e:
            log.exception("could not reach the dead-letter queue")
            errors = [f"{type(e).__name__}: {e}"] * len(letters)
        for (record, _), error in zip(rejected, errors, strict=True):
            if error:
                # Not dead-lettered: keep it on the queue rather than lose it.
                out.failed += 1
                out.item_failures.append(_message_id(record, -1))
                log.error("could not dead-letter %s: %s", _message_id(record, -1), error)
            else:
                out.rejected += 1


def dead_letter(record: Mapping[str, Any], why: Rejection, now: datetime) -> OutgoingMessage:
    """The dead-letter message of a rejected record: its body, untouched where possible, and
    the reason as attributes."""
    body = record.get("body") if isinstance(record, Mapping) else None
    attributes = dict(why.attributes())
    attributes["presso.rejected-at"] = now.isoformat(timespec="seconds")
    attributes["presso.message-id"] = _message_id(record, -1)
    if _attribute(record, BODY_ENCODING) == "base64" and isinstance(body, str):
        attributes[BODY_ENCODING] = "base64"
    elif not isinstance(body, str):
        body = "" if body is None else str(body)
    elif not _is_sqs_text(body):
        # Lone surrogates or characters SQS refuses: keep the exact text, base64-encoded.
        body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode("ascii")
        attributes[BODY_ENCODING] = "base64"
    # Keyed by the source message: a crash between dead-lettering and acknowledging delivers
    # the record again, and it must not be dead-lettered twice.
    return OutgoingMessage(body, attributes, dedup_id=attributes["presso.message-id"])


def _is_sqs_text(text: str) -> bool:
    """SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF."""
    for ch in text:
        c = ord(ch)
        if c < 0x20:
            if c not in (0x9, 0xA, 0xD):
                return False
        elif 0xD800 <= c <= 0xDFFF or c in (0xFFFE, 0xFFFF):
            return False
    return True


def _decode_body(body: str) -> str:
    try:
        return base64.b64decode(body, validate=True).decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError):
        return body


def _message_id(record: Any, index: int) -> str:
    if type(record) is dict or isinstance(record, Mapping):
        mid = record.get("messageId")
        if type(mid) is str and mid:
            return mid
    return f"record-{index}"


def _attribute(record: Any, name: str) -> str | None:
    if type(record) is not dict and not isinstance(record, Mapping):
        return None
    attributes = record.get("messageAttributes")
    if not attributes:
        return None
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        return None
    value = attributes.get(name)
    if isinstance(value, Mapping):
        text = value.get("stringValue")
        return text if isinstance(text, str) else None
    return None


@dataclass(frozen=True)
class DeadLetter:
    """A message in the dead-letter queue, with the reason it is there."""

    message_id: str
    body: str
    reason: str
    message: str
    field: str | None
    metric: str | None
    rejected_at: str | None
    receive_count: int

    @classmethod
    def of(cls, m: ReceivedMessage) -> DeadLetter:
        a = m.attributes
        reason = a.get("presso.reason")
        if reason is None:
            # Moved by the queue's redrive policy: it failed maxReceiveCount times.
            reason, text = (
                "max_receives",
                (
                    "delivery failed repeatedly (transient errors or a crashing consumer) until "
                    "the queue's maxReceiveCount moved it here"
                ),
            )
        else:
            text = a.get("presso.message", "")
        return cls(
            message_id=a.get("presso.message-id", m.message_id),
            body=m.body,
            reason=reason,
            message=text,
            field=a.get("presso.field"),
            metric=a.get("presso.metric"),
            rejected_at=a.get("presso.rejected-at"),
            receive_count=m.receive_count,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "reason": self.reason,
            "message": self.message,
            "field": self.field,
            "metric": self.metric,
            "rejected_at": self.rejected_at,
            "body": self.body,
        }


def list_dead_letters(dlq: Queue, limit: int = 1000) -> list[DeadLetter]:
    """The dead letters, one per source message (a standard SQS queue can hold a record twice
    if a consumer crashed between dead-lettering and acknowledging it)."""
    letters: dict[str, DeadLetter] = {}
    for m in dlq.peek(limit):
        letter = DeadLetter.of(m)
        letters.setdefault(letter.message_id, letter)
    return list(letters.values())


def redrive(
    dlq: Queue,
    source: Queue,
    *,
    batch: int = 10,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Move the messages now in ``dlq`` back to ``source``; returns how many moved.

    Each message is sent before it is deleted, so a crash can only duplicate (the consumer
    counts by event identity), never lose. Messages dead-lettered again while this runs are
    left for the next redrive.
    """
    planned = dlq.depth().total
    moved = 0
    seen: set[str] = set()
    while moved < planned:
        messages = dlq.receive(min(batch, planned - moved), visibility_timeout=60)
        messages = [m for m in messages if m.message_id not in seen]
        if not messages:
            break
        seen.update(m.message_id for m in messages)
        outgoing = [
            OutgoingMessage(
                m.body,
                {k: v for k, v in m.attributes.items() if k == BODY_ENCODING},
            )
            for m in messages
        ]
        errors = source.send(outgoing)
        sent = [m.receipt_handle for m, err in zip(messages, errors, strict=True) if not err]
        if sent:
            dlq.delete(sent)
        if len(sent) < len(messages):
            first_error = next(e for e in errors if e)
            raise RuntimeError(f"could not send to {source.name}: {first_error}")
        moved += len(sent)
        if progress:
            progress(len(sent))
    return moved


def batch_messages(messages: Sequence[ReceivedMessage], queue: Queue) -> dict[str, Any]:
    """The Lambda SQS event for ``messages`` received from ``queue``."""
    return {"Records": [m.lambda_record(queue.arn, queue.region) for m in messages]}
