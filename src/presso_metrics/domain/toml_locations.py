"""Where a table or key is in a metrics file, for error messages that name the line."""

from __future__ import annotations

import re


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
