"""Publishing events on a bus: read a file of events, publish them in chunks.

The CLI's ``publish``, ``load`` and ``demo`` and the load-test function use these; a Python user
can too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from presso_metrics.exceptions import InputError
from presso_metrics.ports import Bus, PublishResult


def read_events(text: str, name: str = "<stdin>") -> list[Any]:
    """The events in ``text``: a JSON array, or JSON Lines (one event per line). ``name`` (the
    file's) is used in error messages, with the line. Text that cannot be read at all (not
    JSON, nested too deeply for the parser, a number too long) is an :class:`InputError`
    saying where; an event that is read but cannot be published is the bus's to refuse, alone."""
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        return list(_loads(text, name, None))
    return [
        _loads(line, name, number)
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip()
    ]


def _loads(text: str, name: str, line: int | None) -> Any:
    """``text`` parsed: the whole file (``line`` None) or its line ``line``."""
    where = name if line is None else f"{name}:{line}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        at = f"{name}:{e.lineno}" if line is None else where
        raise InputError(
            f"{at}: not valid JSON ({e.msg}); give a JSON array or one event per line"
        ) from None
    except RecursionError:
        raise InputError(
            f"{where}: JSON nested too deeply to read (arrays and objects more than about "
            f"{sys.getrecursionlimit():,} levels deep)"
        ) from None
    except ValueError as e:  # an integer of more digits than Python converts
        raise InputError(f"{where}: a number too long to read ({str(e).split(';')[0]})") from None


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
