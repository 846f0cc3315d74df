"""Dead letters: records the service could not use, and records that failed too often.

A rejected record is dead-lettered with its reason as message attributes (``presso.reason``,
``presso.field``, ``presso.metric``, ``presso.message``, ...), one letter per source message. The
queue's redrive policy moves records that failed ``maxReceiveCount`` times there too, without a
reason. They can be listed with their reasons and redriven to the queue after a fix.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.message_text import is_sqs_text
from presso_metrics.ports import OutgoingMessage, Queue, ReceivedMessage
from presso_metrics.sqs_records import BODY_ENCODING, attribute_of, message_id_of


def dead_letter(record: Mapping[str, Any], why: Rejection, now: datetime) -> OutgoingMessage:
    """The dead-letter message of a rejected record: its body, untouched where possible, and
    the reason as attributes."""
    body = record.get("body") if isinstance(record, Mapping) else None
    attributes = dict(why.attributes())
    attributes["presso.rejected-at"] = now.isoformat(timespec="seconds")
    attributes["presso.message-id"] = message_id_of(record, -1)
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
