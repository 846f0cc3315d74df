"""Publishing events on a bus: read a file of events, publish them in chunks.

The CLI's ``publish``, ``load`` and ``demo`` and the load-test function use these; a Python user
can too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from presso_metrics.exceptions import InputError
from presso_metrics.ports import Bus, PublishResult


def read_events(text: str, name: str = "<stdin>") -> list[Any]:
    """The events in ``text``: a JSON array, or JSON Lines (one event per line). ``name`` (the
    file's) is used in error messages, with the line."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            events = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}:{e.lineno}: not valid JSON: {e.msg}") from None
        return list(events)
    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise InputError(
                f"{name}:{number}: not valid JSON ({e.msg}); give a JSON array or one event "
                "per line"
            ) from None
    return events


def publish_all(
    bus: Bus,
    events: Sequence[Any],
    chunk: int = 500,
    progress: Callable[[int], None] | None = None,
) -> PublishResult:
    """Publish ``events`` in calls of ``chunk``; failures keep their index in ``events``."""
    total = PublishResult()
    offset = 0
    size = max(1, chunk)
    for part in (events[i : i + size] for i in range(0, len(events), size)):
        result = bus.publish(part)
        total.published += result.published
        total.failed.extend((offset + i, why) for i, why in result.failed)
        offset += len(part)
        if progress is not None:
            progress(len(part))
    return total
