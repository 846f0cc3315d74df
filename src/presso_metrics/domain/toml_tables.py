"""Reading a metrics file's tables: where a table or key is (for errors that name the line),
values checked with errors that name the file, line and key, and a guard against nesting so deep
a parser would exhaust its recursion."""

from __future__ import annotations

import re
from typing import Any

from presso_metrics.exceptions import ConfigError

# Tables and arrays within one another, at most: the default metrics need 6, and a file nested
# far deeper would only exhaust the parser's (and the pattern compiler's) recursion.
MAX_NESTING = 32


def too_deep(where: str) -> ConfigError:
    return ConfigError(
        f"{where}: tables and arrays are nested more than {MAX_NESTING} levels deep; a metrics "
        "file needs only a few (see the packaged metrics.toml)"
    )


def nesting(doc: Any) -> int:
    """How deep tables and arrays (or JSON objects and arrays) go in ``doc``, counted without
    recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


class Locator:
    """Finds the line of a table or key in the metrics file, for error messages."""

    def __init__(self, text: str, origin: str) -> None:
        self.lines = text.splitlines()
        self.origin = origin

    def _header(self, name: str, suffix: str = "") -> int | None:
        rx = re.compile(
            r"^\s*\[\[?\s*metrics\s*\.\s*[\"']?" + re.escape(name) + r"[\"']?" + suffix + r"\s*\]"
        )
        for i, line in enumerate(self.lines):
            if rx.match(line):
                return i
        return None

    def table(self, name: str) -> str:
        i = self._header(name)
        return f"{self.origin}:{i + 1}" if i is not None else self.origin

    def top(self, key: str) -> str:
        """The line of a top-level key or table, ``time_zone`` or ``[event_time]``."""
        rx = re.compile(r"^\s*(\[\s*)?[\"']?" + re.escape(key) + r"[\"']?\s*(=|\])")
        for i, line in enumerate(self.lines):
            if rx.match(line):
                return f"{self.origin}:{i + 1}"
        return self.origin

    def key(self, name: str | None, key: str) -> str:
        start = 0
        if name is not None:
            sub = self._header(name, r"\s*\.\s*" + re.escape(key))
            if sub is not None:
                return f"{self.origin}:{sub + 1}"
            header = self._header(name)
            if header is None:
                return self.origin
            start = header + 1
        rx = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        for i in range(start, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if rx.match(self.lines[i]):
                return f"{self.origin}:{i + 1}"
        return self.table(name) if name is not None else self.origin


class Table:
    """One table of the file, read with errors that name the file, line and key."""

    def __init__(self, spec: dict[str, Any], name: str, title: str, where: Locator) -> None:
        self.spec = spec
        self.name = name  # the metric
        self.title = title  # how the table is called in messages: metrics.sales.dimensions[1]
        self.where = where

    def at(self, key: str) -> str:
        return self.where.key(self.name, key)

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.at(key)}: {self.title}.{key} {message}")

    def text(self, key: str, default: str | None, *, limit: int = 100) -> str | None:
        if key not in self.spec:
            return default
        value = self.spec[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        if len(value) > limit:
            raise self.fail(key, f"is longer than {limit} characters")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...], why: str = "") -> str:
        value = self.text(key, default) or default
        if value not in choices:
            raise ConfigError(f"{self.at(key)}: {key} must be one of {', '.join(choices)}{why}")
        return value

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.spec.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}")
        return value

    def path(self, key: str) -> tuple[str, ...]:
        value = self.spec[key]
        if not isinstance(value, str) or not all(part for part in value.split(".")):
            raise self.fail(key, "must be a dotted path such as 'detail.orderId'")
        return tuple(value.split("."))

    def paths(self, key: str) -> tuple[tuple[str, ...], ...]:
        raw = self.spec[key]
        paths = [raw] if isinstance(raw, str) else raw
        if not isinstance(paths, list) or not paths:
            raise self.fail(
                key,
                "must be a path such as 'detail.drinkOrder.drink' or a list of alternative paths",
            )
        out = []
        for p in paths:
            if not isinstance(p, str) or not all(part for part in p.split(".")):
                raise ConfigError(
                    f"{self.at(key)}: {self.title}.{key}: {p!r} is not a dotted path such as "
                    "'detail.drinkOrder.drink'"
                )
            out.append(tuple(p.split(".")))
        return tuple(out)
