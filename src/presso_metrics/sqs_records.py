"""Reading the records of a Lambda SQS event, which come from outside and are checked as such:
the message id, a message attribute, and the body (decoded when a redrive carried it base64)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

BODY_ENCODING = "presso.body-encoding"  # "base64" when the body is not valid Unicode text


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
