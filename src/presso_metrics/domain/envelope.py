"""EventBridge envelopes: parse an SQS message body into an :class:`Envelope` or a
:class:`Rejection` that says what was wrong and where.

A rejection is permanent: retrying the same body cannot fix it, so the record goes to the
dead-letter queue with the rejection attached. Parsing never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

# Events re-published from a file keep their identity. The embedded bus keeps the envelope id;
# EventBridge assigns new ids on PutEvents, so the publisher records the original id as a
# resource with this prefix and the consumer counts by it (see README, "Event identity").
ORIGIN_RESOURCE_PREFIX = "urn:presso-metrics:event-id:"

# EventBridge's own limit on an event is 256 KiB.
DEFAULT_MAX_RECORD_BYTES = 256 * 1024
DEFAULT_MAX_FUTURE = timedelta(days=1)
DEFAULT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_ID_LENGTH = 512
# An event's marker is stored under "EVENT#<id>" (DynamoDB: a partition key, at most 2,048
# bytes); ids are bounded in bytes too, the same on every backend.
MAX_ID_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record cannot be counted. ``reason`` is a stable code; ``message`` is for people."""

    reason: str
    message: str
    field: str | None = None
    metric: str | None = None

    def attributes(self) -> dict[str, str]:
        """The rejection as SQS message attributes (what, which field, which metric)."""
        out = {"presso.reason": self.reason, "presso.message": self.message}
        if self.field:
            out["presso.field"] = self.field
        if self.metric:
            out["presso.metric"] = self.metric
        return out


class Envelope(NamedTuple):
    """The parts of an EventBridge event this service reads; ``raw`` is the whole event."""

    identity: str
    detail_type: str
    source: str
    time: datetime
    replay_name: str | None
    raw: dict[str, Any]


def parse_envelope(
    body: object,
    *,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    earliest: datetime = DEFAULT_EARLIEST,
) -> Envelope | Rejection:
    """Parse an SQS message body holding an EventBridge event."""
    if not isinstance(body, str):
        return Rejection("not_text", f"the message body is {type(body).__name__}, not text")
    # A character is at most 4 bytes in UTF-8: only measure exactly when it could matter.
    if len(body) * 4 > max_bytes:
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            return Rejection(
                "too_large",
                f"the body is {size} bytes; events are limited to {max_bytes} bytes",
            )
    try:
        event = orjson.loads(body)
    except (orjson.JSONDecodeError, RecursionError) as e:
        return Rejection("not_json", f"the body is not valid JSON ({_first_line(e)})")
    if not isinstance(event, dict):
        return Rejection(
            "not_an_envelope", "the body is JSON but not an object, so not an EventBridge event"
        )
    return envelope_of(event, now=now, max_future=max_future, earliest=earliest)


def envelope_of(
    event: dict[str, Any],
    *,
    now: datetime,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    earliest: datetime = DEFAULT_EARLIEST,
) -> Envelope | Rejection:
    """Validate an already-parsed EventBridge event."""
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        return _field_problem(event, "id", "a non-empty string")
    id_bytes = len(event_id.encode("utf-8", "surrogatepass"))
    if len(event_id) > MAX_ID_LENGTH or id_bytes > MAX_ID_BYTES:
        return Rejection(
            "id_too_long",
            f"id is {len(event_id)} characters ({id_bytes} bytes); ids are at most "
            f"{MAX_ID_LENGTH} characters and {MAX_ID_BYTES} bytes",
            "id",
        )
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str):
        return _field_problem(event, "detail-type", "a string")
    source = event.get("source")
    if not isinstance(source, str):
        return _field_problem(event, "source", "a string")
    if not isinstance(event.get("detail"), dict):
        return _field_problem(event, "detail", "an object")
    raw_time = event.get("time")
    if not isinstance(raw_time, str):
        return _field_problem(event, "time", "an ISO 8601 timestamp such as 2022-10-14T12:52:21Z")
    try:
        time = datetime.fromisoformat(raw_time)
    except ValueError:
        return Rejection(
            "bad_time",
            f"time {raw_time[:40]!r} is not an ISO 8601 timestamp such as 2022-10-14T12:52:21Z",
            "time",
        )
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)  # EventBridge times are UTC; a bare one is read as UTC
    if time > now + max_future:
        return Rejection(
            "time_out_of_range",
            f"time {raw_time[:40]} is more than {max_future} ahead of the processing clock "
            f"({now.isoformat(timespec='seconds')}); fix the producer's clock",
            "time",
        )
    if time < earliest:
        return Rejection(
            "time_out_of_range",
            f"time {raw_time[:40]} is before {earliest.date().isoformat()}, the earliest event "
            "time the metrics file accepts (event_time.earliest); fix the producer, or lower it",
            "time",
        )
    replay = event.get("replay-name")
    if replay is not None and not isinstance(replay, str):
        return _field_problem(event, "replay-name", "a string")
    return Envelope(_identity(event, event_id), detail_type, source, time, replay, event)


def _identity(event: dict[str, Any], event_id: str) -> str:
    resources = event.get("resources")
    if isinstance(resources, list):
        for r in resources:
            if isinstance(r, str) and r.startswith(ORIGIN_RESOURCE_PREFIX):
                origin = r[len(ORIGIN_RESOURCE_PREFIX) :]
                if origin and len(origin.encode("utf-8", "surrogatepass")) <= MAX_ID_BYTES:
                    return origin
    return event_id


def _field_problem(event: dict[str, Any], field: str, expected: str) -> Rejection:
    if field not in event:
        return Rejection(
            "missing_field", f"the envelope has no '{field}'; it must be {expected}", field
        )
    if event[field] == "":
        return Rejection("missing_field", f"'{field}' is empty; it must be {expected}", field)
    return Rejection(
        "wrong_type",
        f"'{field}' must be {expected}, not {type(event[field]).__name__}",
        field,
    )


def _first_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0][:200]
