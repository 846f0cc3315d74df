"""EventBridge wildcards, matched without backtracking.

A wildcard is text in which ``*`` stands for any run of characters, empty included; ``\\*`` is a
literal asterisk and ``\\\\`` a literal backslash. A backslash before anything else, a trailing
backslash and two consecutive ``*`` are refused, as event-ruler's ``WildcardParser`` refuses them
("Invalid escape character", "Consecutive wildcard characters").

A wildcard is the literal runs between its stars. The value must start with the first run, end
with the last, and hold the others in order in between; finding each run at its leftmost place
is always right when ``*`` is the only metacharacter, so matching is one left-to-right scan:
O(len(value) * len(pattern)) at worst, never the exponential backtracking a regular expression
falls into on ``*a*a*a*a*a*b`` against a run of ``a``.
"""

from __future__ import annotations

from dataclasses import dataclass

from presso_metrics.exceptions import PatternError


@dataclass(frozen=True)
class Wildcard:
    """A parsed wildcard: ``runs`` are the literal texts between its stars (one more than the
    stars), with escapes resolved."""

    text: str
    runs: tuple[str, ...]

    def matches(self, value: str) -> bool:
        runs = self.runs
        if len(runs) == 1:
            return value == runs[0]
        first, last = runs[0], runs[-1]
        end = len(value) - len(last)
        if end < len(first) or not value.startswith(first) or not value.endswith(last):
            return False
        position = len(first)
        for run in runs[1:-1]:
            found = value.find(run, position, end)
            if found < 0:
                return False
            position = found + len(run)
        return True


def parse_wildcard(text: str, where: str) -> Wildcard:
    """Parse an EventBridge wildcard; a malformed one raises :class:`PatternError` at ``where``."""
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in ("*", "\\"):
                found = "the end of the text" if not nxt else repr(nxt)
                raise PatternError(
                    where,
                    f"in a wildcard a backslash may only escape '*' or '\\' (found {found} "
                    f"after the backslash at position {i}); write '\\\\' for a backslash",
                )
            run.append(nxt)
            i += 2
            continue
        if ch == "*":
            if text.startswith("*", i + 1):
                raise PatternError(
                    where,
                    f"consecutive wildcard characters at position {i} are not allowed; "
                    "one '*' already matches any run of characters",
                )
            runs.append("".join(run))
            run = []
        else:
            run.append(ch)
        i += 1
    runs.append("".join(run))
    return Wildcard(text, tuple(runs))
