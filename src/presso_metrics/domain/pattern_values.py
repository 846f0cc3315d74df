"""JSON values as event patterns see them: which are numbers, and how to name them in errors.

A pattern may carry its numbers as ``int``, ``float`` or ``Decimal`` (what ``json.loads`` and
``tomllib.loads`` give with ``parse_float=Decimal``, which keeps ``1e-400`` as written instead of
rounding it to ``0.0``); ``true`` and ``false`` are never numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

Value = Any  # a JSON scalar: str, int, float, Decimal, bool or None
ValueTest = Callable[[Value], bool]


def is_number(v: Any) -> bool:
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if is_number(v):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, Mapping):
        return "an object"
    return type(v).__name__


def show(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
