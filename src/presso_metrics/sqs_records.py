"""Reading the records of a Lambda SQS event, which come from outside and are checked as such:
the message id, a message attribute, when the message was first enqueued, and the body (decoded
when a redrive carried it base64)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

BODY_ENCODING = "presso.body-encoding"  # "base64" when the body is not valid Unicode text
# When the message's first copy was enqueued (epoch milliseconds): SQS's SentTimestamp is reset
# by every new message (a dead letter the consumer sends, a redrive), so the first one is
# carried along in this attribute.
FIRST_SENT = "presso.first-sent"


def epoch_ms(value: Any) -> int | None:
    """``value`` as epoch milliseconds if it is a plausible one (digits, after 2001)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        ms = int(value)
        return ms if ms >= 1_000_000_000_000 else None
    return None


def message_id_of(record: Any, index: int) -> str:
    """The record's SQS message id, or ``record-<index>`` if it has none."""
    if type(record) is dict or isinstance(record, Mapping):
        mid = record.get("messageId")
        if type(mid) is str and mid:
            return mid
    return f"record-{index}"


def attribute_of(record: Any, name: str) -> str | None:
    """The string value of the record's message attribute ``name``, if it has one."""
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


def body_of(record: Mapping[str, Any]) -> Any:
    """The record's body as the producer sent it: a body that travelled base64-encoded (it held
    text SQS refuses) is decoded; anything else is returned as it is, to be checked."""
    body = record.get("body")
    if attribute_of(record, BODY_ENCODING) == "base64" and isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True).decode("utf-8", "surrogatepass")
        except (ValueError, UnicodeDecodeError):
            return body
    return body


def first_sent_of(record: Any) -> int | None:
    """When the record's first copy was enqueued: its ``presso.first-sent`` attribute if a
    dead-lettering or a redrive stamped it, else its own ``SentTimestamp``."""
    stamped = epoch_ms(attribute_of(record, FIRST_SENT))
    if stamped is not None:
        return stamped
    if type(record) is not dict and not isinstance(record, Mapping):
        return None
    attributes = record.get("attributes")
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        return None
    return epoch_ms(attributes.get("SentTimestamp"))
