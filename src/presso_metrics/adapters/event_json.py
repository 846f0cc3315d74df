"""What both buses refuse to publish, event by event: what cannot travel as JSON text.

An event read from a JSON file can hold what no bus carries: text that is not Unicode (a lone
surrogate such as ``\\ud800`` is valid JSON), nesting deeper than the embedded bus can write,
integers EventBridge refuses, ``NaN``; an event built in Python can hold anything. Each is a
reason to refuse that one event (its position and the field say where), never the whole call.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from presso_metrics.domain.publishing import normalise

# Levels of objects and arrays in an event, the envelope's own included: what orjson writes (the
# embedded bus stores events with it). EventBridge takes up to 1,000; a real order event has 4.
MAX_NESTING = 254
# PutEvents' JSON integers (64-bit); the embedded bus refuses the same.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1
_SHOWN = 40  # characters of a field's name shown in a message


def publishable(event: Any, *, now: datetime, account: str, region: str) -> dict[str, Any] | str:
    """The envelope to publish for ``event`` (:func:`normalise`), or why it cannot be."""
    try:
        envelope = normalise(event, now=now, account=account, region=region)
    except RecursionError:  # a PutEvents entry's Detail, parsed from its text
        return f"its Detail is nested too deeply to read; events are at most {MAX_NESTING} levels"
    if isinstance(envelope, str):
        return envelope
    return problem_of(envelope) or envelope


def problem_of(event: Any) -> str | None:
    """Why ``event`` (an envelope) cannot be published, or None. Walks without recursion, so
    any nesting is measured, not a RecursionError."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(event, ())]
    while stack:
        value, path = stack.pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and not _encodable(value):
                return f"{_where(path)} holds text that is not Unicode ({_bad_character(value)})"
        elif kind is dict or kind is list or kind is tuple:
            if len(path) >= MAX_NESTING:
                return (
                    f"it is nested more than {MAX_NESTING} levels deep (at {_where(path[:6])}"
                    "...); events are at most that deep"
                )
            if kind is dict:
                for key, item in value.items():
                    if type(key) is not str:
                        return f"{_where(path)} has a key that is not text ({_shown(key)})"
                    if not key.isascii() and not _encodable(key):
                        return (
                            f"{_where(path)} has a name that is not Unicode text "
                            f"({_bad_character(key)})"
                        )
                    stack.append((item, (*path, key)))
            else:
                stack.extend((item, (*path, i)) for i, item in enumerate(value))
        elif kind is int:
            if not MIN_INTEGER <= value <= MAX_INTEGER:
                return (
                    f"{_where(path)} is an integer out of the 64-bit range EventBridge accepts "
                    f"({_integer(value)})"
                )
        elif kind is float:
            if not math.isfinite(value):
                return f"{_where(path)} is {value!r}, which is not a JSON number"
        elif value is None or kind is bool:
            continue
        elif isinstance(value, str | int | float | dict | list | tuple):
            stack.append((_plain(value), path))  # a subclass: checked as what it holds
        else:
            return f"{_where(path)} is a {kind.__name__}, which JSON has no value for"
    return None


def _plain(value: Any) -> Any:
    """A subclass's value as its JSON type (an IntEnum as an int, a UserString-like str...)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return dict(value)
    return list(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_character(text: str) -> str:
    for i, c in enumerate(text):
        if "\ud800" <= c <= "\udfff":
            return f"a lone surrogate, U+{ord(c):04X}, at character {i}"
    return "not encodable as UTF-8"


def _where(path: tuple[Any, ...]) -> str:
    """A field's path as a message shows it: detail.drinkOrder.drink, resources[0]."""
    if not path:
        return "the event"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif len(part) <= _SHOWN and part.isascii() and part.replace("-", "_").isidentifier():
            out += ("." if out else "") + part
        else:
            out += f"[{_shown(part)}]"
    return out


def _integer(value: int) -> str:
    if value.bit_length() > 200:  # its digits would be too many to show (or to convert)
        return f"a {value.bit_length()}-bit integer"
    return _shown(value)


def _shown(value: Any) -> str:
    """A value quoted for a message: at most ``_SHOWN`` characters, non-ASCII escaped."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:_SHOWN] + ("..." if len(text) > _SHOWN else "")
    return ascii(cut)
