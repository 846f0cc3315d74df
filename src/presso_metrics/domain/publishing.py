"""Events to publish: normalise what a user gives ``publish`` into an EventBridge envelope.

Accepted shapes: a full envelope (as recorded from a bus or as delivered to SQS) or a PutEvents
entry (``Source``, ``DetailType``, ``Detail``, optional ``Time`` and ``Resources``). An envelope's
``id`` is kept: re-publishing a recorded file is then idempotent, because the consumer counts by
identity (see :data:`ORIGIN_RESOURCE_PREFIX` for how this survives EventBridge).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from presso_metrics.domain.envelope import ORIGIN_RESOURCE_PREFIX

MAX_EVENT_BYTES = 256 * 1024  # PutEvents' limit on an entry


def normalise(event: Any, *, now: datetime, account: str, region: str) -> dict[str, Any] | str:
    """The envelope to publish, or a sentence saying why ``event`` cannot be published."""
    if type(event) is dict and _complete(event):
        return event  # already a full envelope (a recorded or simulated event): as it is
    if not isinstance(event, Mapping):
        return f"an event must be a JSON object, not {type(event).__name__}"
    if "DetailType" in event or "Source" in event:
        event = _from_entry(event)
        if isinstance(event, str):
            return event
    source = event.get("source")
    detail_type = event.get("detail-type")
    detail = event.get("detail")
    if not isinstance(source, str) or not source:
        return "the event has no 'source' (a non-empty string)"
    if not isinstance(detail_type, str) or not detail_type:
        return "the event has no 'detail-type' (a non-empty string)"
    if not isinstance(detail, Mapping):
        return "the event's 'detail' must be a JSON object"
    time = event.get("time")
    if time is None:
        time = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif not isinstance(time, str):
        return "the event's 'time' must be an ISO 8601 string"
    resources = event.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return "the event's 'resources' must be an array of strings"
    event_id = event.get("id")
    if event_id is not None and (not isinstance(event_id, str) or not event_id):
        return "the event's 'id' must be a non-empty string"
    envelope: dict[str, Any] = {
        "version": event.get("version", "0"),
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": event.get("account", account),
        "time": time,
        "region": event.get("region", region),
        "resources": list(resources),
        "detail": detail,
    }
    if "replay-name" in event:
        envelope["replay-name"] = event["replay-name"]
    return envelope


_ENVELOPE_FIELDS = frozenset(
    ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
)


def _complete(event: dict[str, Any]) -> bool:
    """True when ``event`` is already a well-formed envelope ``normalise`` would not change."""
    if not event.keys() >= _ENVELOPE_FIELDS:
        return False
    for name in ("id", "detail-type", "source", "time", "version", "account", "region"):
        value = event[name]
        if type(value) is not str or not value:
            return False
    resources = event["resources"]
    return (
        type(event["detail"]) is dict
        and type(resources) is list
        and (not resources or all(type(r) is str for r in resources))
    )


def _from_entry(entry: Mapping[str, Any]) -> dict[str, Any] | str:
    detail = entry.get("Detail", "{}")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError as e:
            return f"the entry's Detail is not valid JSON ({e})"
    time = entry.get("Time")
    if isinstance(time, int | float):
        time = datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = {
        "source": entry.get("Source"),
        "detail-type": entry.get("DetailType"),
        "detail": detail,
        "resources": entry.get("Resources", []),
    }
    if time is not None:
        out["time"] = time
    return out


def put_events_entry(envelope: Mapping[str, Any], bus_name: str) -> dict[str, Any]:
    """The PutEvents entry publishing ``envelope`` on an EventBridge bus.

    EventBridge assigns a new ``id`` to every event it accepts, so the envelope's id travels as
    a resource (``urn:presso-metrics:event-id:<id>``) and the consumer counts by it.
    """
    resources = list(envelope.get("resources", []))
    if not any(r.startswith(ORIGIN_RESOURCE_PREFIX) for r in resources):
        resources.append(ORIGIN_RESOURCE_PREFIX + envelope["id"])
    entry: dict[str, Any] = {
        "Source": envelope["source"],
        "DetailType": envelope["detail-type"],
        "Detail": json.dumps(envelope["detail"], separators=(",", ":")),
        "Resources": resources,
        "EventBusName": bus_name,
    }
    with contextlib.suppress(TypeError, ValueError):  # else EventBridge stamps the call's time
        entry["Time"] = datetime.fromisoformat(envelope["time"])
    return entry
