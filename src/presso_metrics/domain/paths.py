"""Paths into an event: ``detail.drinkOrder.drink`` as a tuple of keys, and the sentinel for a
field that is not there (distinct from a JSON ``null``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MISSING: Final[Any] = object()


def walk(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``event``, or :data:`MISSING` if some key on the way is absent
    or a step lands on something that is not an object."""
    node: Any = event
    for part in path:
        if type(node) is not dict and not isinstance(node, Mapping):
            return MISSING
        node = node.get(part, MISSING)
        if node is MISSING:
            return MISSING
    return node
