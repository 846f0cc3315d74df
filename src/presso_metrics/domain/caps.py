"""The cap on distinct dimension values: one rule, applied by every store.

A metric keeps at most ``max_values`` distinct dimension values, so a flood of random drink names
cannot grow the table or the dashboard without bound. Values already registered are counted as
usual; a new value is registered while there is room and counted under the metric's overflow label
once there is none. The store registers the admitted values in the same transaction as the
counts, which makes the cap exact under concurrency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from presso_metrics.domain.counters import CounterKey


@dataclass(frozen=True)
class DimensionCap:
    """At most ``max_values`` distinct dimension values per metric; further new values are
    counted under ``overflow_label``. ``exempt`` values (the total, the missing and overflow
    labels) never count against the cap."""

    max_values: int
    overflow_label: str
    exempt: frozenset[str]


# (partition, candidate values) -> (those of them already registered, how many are registered)
Registry = Callable[[str, list[str]], tuple[set[str], int]]


@dataclass(frozen=True)
class CappedSums:
    sums: dict[CounterKey, int]  # with refused values moved to their overflow label
    admitted: dict[str, list[str]]  # partition -> new values to register with these sums
    refused: dict[str, set[str]]  # partition -> new values beyond the cap


def apply_caps(
    sums: Mapping[CounterKey, int], caps: Mapping[str, DimensionCap], registry: Registry
) -> CappedSums:
    """Admit the new values of ``sums`` that fit their partition's cap, in the order they come,
    and move the rest to the overflow label. ``registry`` tells what is registered."""
    candidates: dict[str, list[str]] = {}
    for key in sums:
        cap = caps.get(key.partition)
        if cap is not None and key.dimension not in cap.exempt:
            values = candidates.setdefault(key.partition, [])
            if key.dimension not in values:
                values.append(key.dimension)
    admitted: dict[str, list[str]] = {}
    refused: dict[str, set[str]] = {}
    for partition, values in candidates.items():
        known, registered = registry(partition, values)
        fresh = [v for v in values if v not in known]
        if not fresh:
            continue
        room = max(caps[partition].max_values - registered, 0)
        if fresh[:room]:
            admitted[partition] = fresh[:room]
        if fresh[room:]:
            refused[partition] = set(fresh[room:])
    if not refused:
        return CappedSums(dict(sums), admitted, refused)
    out: dict[CounterKey, int] = {}
    for key, n in sums.items():
        if key.dimension in refused.get(key.partition, ()):
            key = key._replace(dimension=caps[key.partition].overflow_label)
        out[key] = out.get(key, 0) + n
    return CappedSums(out, admitted, refused)
