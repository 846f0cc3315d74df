"""EventBridge's case-insensitive comparison (``equals-ignore-case`` and its prefix, suffix and
anything-but forms).

event-ruler does not fold case on both sides. Its ``EqualsIgnoreCaseParser`` turns each
character ``c`` of the pattern into the choice between ``c`` lower-cased and ``c`` upper-cased
(Java's ``toLowerCase``/``toUpperCase`` with ``Locale.ROOT``, one character at a time), and the
event's value must spell one of the choices for each character, as it stands. So:

- ``ß`` upper-cases to ``SS``: the pattern ``ß`` matches ``ß`` and ``SS``, but not ``ss``; the
  pattern ``ss`` does not match ``ß`` (Python's ``casefold`` would say both are equal).
- ``ς`` (final sigma) is a choice of ``ς`` or ``Σ``; ``σ`` is a choice of ``σ`` or ``Σ``: the two
  lower-case sigmas never match each other.
- The Turkish dotless ``ı`` upper-cases to ``I``, so the pattern ``ı`` matches ``I``; the pattern
  ``I`` (``i`` or ``I``) does not match ``ı``. ``İ`` lower-cases to ``i̇`` (``i`` and a combining
  dot), so the pattern ``İ`` matches ``İ`` and ``i̇`` but not ``i``.

Python's ``str.lower``/``str.upper`` are the same full, locale-independent Unicode mappings, per
code point. (Java works per UTF-16 unit and so garbles characters outside the Basic Multilingual
Plane; that is not mirrored.)
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _choices(ch: str) -> tuple[str, ...]:
    lower, upper = ch.lower(), ch.upper()
    return (lower,) if lower == upper else (lower, upper)


@dataclass(frozen=True)
class IgnoreCase:
    """A pattern text compared the way event-ruler compares ``equals-ignore-case``."""

    text: str
    _choices: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)
    _ascii_lower: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_choices", tuple(_choices(ch) for ch in self.text))
        # An ASCII pattern offers only ASCII choices, one character each: then a value matches
        # exactly when it is ASCII and equal once both are lower-cased.
        ascii_lower = self.text.lower() if self.text.isascii() else None
        object.__setattr__(self, "_ascii_lower", ascii_lower)

    def equals(self, value: str) -> bool:
        if self._ascii_lower is not None:
            return value.isascii() and value.lower() == self._ascii_lower
        return len(value) in self._forward(value)

    def starts(self, value: str) -> bool:
        """Whether ``value`` begins with this text, ignoring case."""
        if self._ascii_lower is not None:
            head = value[: len(self._ascii_lower)]
            return head.isascii() and head.lower() == self._ascii_lower
        return bool(self._forward(value))

    def ends(self, value: str) -> bool:
        """Whether ``value`` ends with this text, ignoring case."""
        if self._ascii_lower is not None:
            n = len(self._ascii_lower)
            if n > len(value):
                return False
            tail = value[len(value) - n :]
            return tail.isascii() and tail.lower() == self._ascii_lower
        return bool(self._backward(value))

    def _forward(self, value: str) -> set[int]:
        """The positions in ``value`` where a reading of the whole pattern from 0 can end."""
        positions = {0}
        for choices in self._choices:
            positions = {
                at + len(choice)
                for at in positions
                for choice in choices
                if value.startswith(choice, at)
            }
            if not positions:
                break
        return positions

    def _backward(self, value: str) -> set[int]:
        """The positions where a reading of the whole pattern ending at ``len(value)`` starts."""
        positions = {len(value)}
        for choices in reversed(self._choices):
            positions = {
                at - len(choice)
                for at in positions
                for choice in choices
                if value.endswith(choice, 0, at)
            }
            if not positions:
                break
        return positions
