"""Dead letters: records the service could not use, records that failed too often, and events
EventBridge could not deliver.

A rejected record is dead-lettered with its reason as message attributes (``presso.reason``,
``presso.field``, ``presso.metric``, ``presso.message``, ...), one letter per source message, and
the time its first copy was enqueued (``presso.first-sent``). The queue's redrive policy moves
records that failed ``maxReceiveCount`` times there too, without a reason (a standard queue keeps
their original enqueue time); EventBridge sends the events it could not deliver to the queue
there with its own attributes (``ERROR_CODE``, ``ERROR_MESSAGE``, ``RULE_ARN``, ``TARGET_ARN``).
They can be listed with their reasons and redriven to the queue after a fix, unless they are
too old to be redriven without risk of counting twice (see :mod:`presso_metrics.domain.dedup`).
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, max_redrive_age
from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.message_text import is_sqs_text
from presso_metrics.ports import OutgoingMessage, Queue, ReceivedMessage
from presso_metrics.sqs_records import (
    BODY_ENCODING,
    FIRST_SENT,
    attribute_of,
    epoch_ms,
    first_sent_of,
    message_id_of,
)

log = logging.getLogger("presso_metrics.dead_letters")

# EventBridge's attributes on an event it could not deliver to a target.
EVENTBRIDGE_ERROR_CODE = "ERROR_CODE"
EVENTBRIDGE_ERROR_MESSAGE = "ERROR_MESSAGE"
EVENTBRIDGE_RULE_ARN = "RULE_ARN"
EVENTBRIDGE_TARGET_ARN = "TARGET_ARN"
# The redrive that sent a message back to the queue: a record dead-lettered again while that
# redrive runs carries it, and is left for the next one (no clock to compare, no endless loop).
REDRIVE_RUN = "presso.redrive-run"
# Attributes a redriven message carries back to the queue; the reason attributes stay behind.
KEPT_ON_REDRIVE = (BODY_ENCODING,)
REDRIVE_VISIBILITY = 300  # seconds a message being redriven stays hidden from others
REDRIVE_WAIT = 1.0  # long polling: an empty answer means the queue holds nothing visible


def dead_letter(record: Mapping[str, Any], why: Rejection, now: datetime) -> OutgoingMessage:
    """The dead-letter message of a rejected record: its body, untouched where possible, the
    reason as attributes, and when its first copy was enqueued."""
    body = record.get("body") if isinstance(record, Mapping) else None
    attributes = dict(why.attributes())
    attributes["presso.rejected-at"] = now.isoformat(timespec="seconds")
    attributes["presso.message-id"] = message_id_of(record, -1)
    first_sent = first_sent_of(record)
    if first_sent is not None:
        attributes[FIRST_SENT] = str(first_sent)
    run = attribute_of(record, REDRIVE_RUN)
    if run and is_sqs_text(run):
        attributes[REDRIVE_RUN] = run[:64]
    if attribute_of(record, BODY_ENCODING) == "base64" and isinstance(body, str):
        attributes[BODY_ENCODING] = "base64"
    elif not isinstance(body, str):
        body = "" if body is None else str(body)
    elif not is_sqs_text(body):
        # Lone surrogates or characters SQS refuses: keep the exact text, base64-encoded.
        body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode("ascii")
        attributes[BODY_ENCODING] = "base64"
    # Keyed by the source message: a crash between dead-lettering and acknowledging delivers
    # the record again, and it must not be dead-lettered twice.
    return OutgoingMessage(body, attributes, dedup_id=attributes["presso.message-id"])


def first_enqueued_ms(m: ReceivedMessage) -> int:
    """When the first copy of a dead letter was enqueued (epoch ms): the stamp the consumer or
    a redrive left, else its own SentTimestamp (a standard queue's redrive policy keeps the
    original one; EventBridge's dead letters were never enqueued before)."""
    stamped = epoch_ms(m.attributes.get(FIRST_SENT))
    return stamped if stamped is not None else m.sent_timestamp_ms


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


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
    first_sent: str | None = None  # when its first copy was enqueued (ISO 8601, UTC)

    @classmethod
    def of(cls, m: ReceivedMessage) -> DeadLetter:
        a = m.attributes
        reason = a.get("presso.reason")
        rejected_at = a.get("presso.rejected-at")
        if reason is not None:
            text = a.get("presso.message", "")
        elif EVENTBRIDGE_ERROR_CODE in a:
            # EventBridge could not deliver the event to the queue: the body is the event.
            reason = "delivery_failed"
            text = f"EventBridge: {a[EVENTBRIDGE_ERROR_CODE]}"
            if a.get(EVENTBRIDGE_ERROR_MESSAGE):
                text += f": {a[EVENTBRIDGE_ERROR_MESSAGE]}"
            if a.get(EVENTBRIDGE_RULE_ARN):
                text += f" (rule {a[EVENTBRIDGE_RULE_ARN]})"
            rejected_at = _iso(m.sent_timestamp_ms) if m.sent_timestamp_ms else None
        else:
            # Moved by the queue's redrive policy: it failed maxReceiveCount times.
            reason, text = (
                "max_receives",
                (
                    "delivery failed repeatedly (transient errors or a crashing consumer) until "
                    "the queue's maxReceiveCount moved it here"
                ),
            )
        first = first_enqueued_ms(m)
        return cls(
            message_id=a.get("presso.message-id", m.message_id),
            body=m.body,
            reason=reason,
            message=text,
            field=a.get("presso.field"),
            metric=a.get("presso.metric"),
            rejected_at=rejected_at,
            receive_count=m.receive_count,
            first_sent=_iso(first) if first else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "reason": self.reason,
            "message": self.message,
            "field": self.field,
            "metric": self.metric,
            "rejected_at": self.rejected_at,
            "first_sent": self.first_sent,
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


@runtime_checkable
class ReleasingQueue(Protocol):
    """A queue that can make received messages visible again at once."""

    def release(self, receipt_handles: Sequence[str]) -> None: ...


@dataclass
class RedriveReport:
    """What a redrive did: exact counts."""

    moved: int = 0  # sent back to the queue and deleted from the dead-letter queue
    refused: int = 0  # too old to redrive safely: left in the dead-letter queue
    forced: int = 0  # too old, moved anyway (--force): their counts may double
    deferred: int = 0  # sent back by this redrive and dead-lettered again: left for the next
    oldest_refused: str | None = None  # first enqueue of the oldest refused message
    max_age: timedelta = field(default_factory=lambda: max_redrive_age(DEFAULT_DEDUP_HORIZON))
    error: str | None = None  # why the redrive stopped early, if it did

    def lines(self, queue: str, horizon: timedelta) -> list[str]:
        """What happened, for people."""
        days = self.max_age.days
        out = [f"moved {self.moved} messages back to {queue}; run the worker to process them"]
        if self.forced:
            out.append(
                f"{self.forced} of them were first enqueued more than {days} days ago "
                "(--force): the markers of their events may have expired, so their events may "
                "now be counted twice"
            )
        if self.refused:
            out.append(
                f"refused {self.refused} messages first enqueued more than {days} days ago (the "
                f"oldest on {self.oldest_refused}): dedup markers are kept {horizon.days} days, "
                "so counting them now could count their events twice. They stay in the "
                "dead-letter queue; --force moves them anyway"
            )
        if self.deferred:
            out.append(
                f"left {self.deferred} messages it moved that were dead-lettered again while it "
                "ran, for the next redrive"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "moved": self.moved,
            "refused": self.refused,
            "forced": self.forced,
            "deferred": self.deferred,
            "oldest_refused": self.oldest_refused,
            "max_age_days": self.max_age.total_seconds() / 86400,
            "error": self.error,
        }


def redrive(
    dlq: Queue,
    source: Queue,
    *,
    horizon: timedelta = DEFAULT_DEDUP_HORIZON,
    force: bool = False,
    batch: int = 10,
    wait_seconds: float = REDRIVE_WAIT,
    clock: Callable[[], float] = time.time,
    progress: Callable[[int], None] | None = None,
) -> RedriveReport:
    """Move the messages now in ``dlq`` back to ``source``, except those first enqueued longer
    ago than ``max_redrive_age(horizon)``: the markers of their earlier copies may have expired
    by the time a redriven copy is processed, so they could count twice. Those stay in the
    dead-letter queue, untouched, unless ``force``.

    Each message is sent before it is deleted, so a crash can only duplicate (the consumer
    counts by event identity), never lose. A redriven message carries its first enqueue time
    (``presso.first-sent``), so a later redrive still knows its age, and this redrive's mark
    (``presso.redrive-run``): one it sent that is dead-lettered again while it runs is left for
    the next redrive.
    """
    report = RedriveReport(max_age=max_redrive_age(horizon))
    run = secrets.token_hex(8)
    oldest_allowed_ms = int(clock() * 1000) - int(report.max_age.total_seconds() * 1000)
    kept: dict[str, str] = {}  # message id -> latest receipt handle, of what stays
    moved: set[str] = set()
    oldest_refused: int | None = None
    try:
        while True:
            messages = dlq.receive(
                batch, wait_seconds=wait_seconds, visibility_timeout=REDRIVE_VISIBILITY
            )
            if not messages:
                break  # long polling: nothing visible is left
            outgoing: list[tuple[ReceivedMessage, OutgoingMessage]] = []
            too_old: set[str] = set()
            for m in messages:
                if m.message_id in kept or m.message_id in moved:
                    kept[m.message_id] = m.receipt_handle  # came back: hidden again
                    continue
                if m.attributes.get(REDRIVE_RUN) == run:  # sent back by this redrive
                    report.deferred += 1
                    kept[m.message_id] = m.receipt_handle
                    continue
                first = first_enqueued_ms(m)
                if first < oldest_allowed_ms:
                    if not force:
                        report.refused += 1
                        oldest_refused = min(first, oldest_refused or first)
                        kept[m.message_id] = m.receipt_handle
                        continue
                    too_old.add(m.message_id)
                attributes = {k: v for k, v in m.attributes.items() if k in KEPT_ON_REDRIVE}
                attributes[FIRST_SENT] = str(first)
                attributes[REDRIVE_RUN] = run
                outgoing.append((m, OutgoingMessage(m.body, attributes)))
            if not outgoing:
                continue
            errors = source.send([o for _, o in outgoing])
            sent = [m for (m, _), err in zip(outgoing, errors, strict=True) if not err]
            if sent:
                dlq.delete([m.receipt_handle for m in sent])
                moved.update(m.message_id for m in sent)
                report.moved += len(sent)
                report.forced += sum(1 for m in sent if m.message_id in too_old)
                if progress:
                    progress(len(sent))
            failed = [(m, err) for (m, _), err in zip(outgoing, errors, strict=True) if err]
            if failed:
                kept.update((m.message_id, m.receipt_handle) for m, _ in failed)
                report.error = f"could not send to {source.name}: {failed[0][1]}"
                break
    finally:
        if kept and isinstance(dlq, ReleasingQueue):
            dlq.release(list(kept.values()))
    if oldest_refused is not None:
        report.oldest_refused = _iso(oldest_refused)
    return report
