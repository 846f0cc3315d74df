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

from presso_metrics.domain.counters import CounterKey, dimension_text, dimension_values


@dataclass(frozen=True)
class DimensionCap:
    """At most ``max_values`` distinct values of one dimension of a metric; further new values
    are counted under ``overflow_label``. ``exempt`` values (the total, the missing and overflow
    labels) never count against the cap. A cap is registered under a name: the metric's
    partition for a metric with one dimension, ``<partition>|<label>`` for each of two, where
    ``position`` says which of the ``arity`` values it caps."""

    max_values: int
    overflow_label: str
    exempt: frozenset[str]
    partition: str = ""  # "": the registry name is the partition
    position: int = 0
    arity: int = 1


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
    """Admit the new values of ``sums`` that fit their dimension's cap, in the order they come,
    and move the rest to the overflow label. ``registry`` tells what is registered, by the
    cap's registry name; ``admitted`` and ``refused`` are keyed by it too."""
    by_partition: dict[str, list[tuple[str, DimensionCap]]] = {}
    for name, cap in caps.items():
        by_partition.setdefault(cap.partition or name, []).append((name, cap))
    candidates: dict[str, list[str]] = {}
    for key in sums:
        capped = by_partition.get(key.partition)
        if not capped:
            continue
        values = dimension_values(key.dimension, capped[0][1].arity)
        if values is None:  # a total
            continue
        for name, cap in capped:
            value = values[cap.position]
            if value not in cap.exempt:
                seen = candidates.setdefault(name, [])
                if value not in seen:
                    seen.append(value)
    admitted: dict[str, list[str]] = {}
    refused: dict[str, set[str]] = {}
    for name, wanted in candidates.items():
        known, registered = registry(name, wanted)
        fresh = [v for v in wanted if v not in known]
        if not fresh:
            continue
        room = max(caps[name].max_values - registered, 0)
        if fresh[:room]:
            admitted[name] = fresh[:room]
        if fresh[room:]:
            refused[name] = set(fresh[room:])
    if not refused:
        return CappedSums(dict(sums), admitted, refused)
    out: dict[CounterKey, int] = {}
    for key, n in sums.items():
        key = _overflowed(key, by_partition.get(key.partition, []), refused)
        out[key] = out.get(key, 0) + n
    return CappedSums(out, admitted, refused)


def _overflowed(
    key: CounterKey, capped: list[tuple[str, DimensionCap]], refused: Mapping[str, set[str]]
) -> CounterKey:
    if not capped:
        return key
    values = dimension_values(key.dimension, capped[0][1].arity)
    if values is None:
        return key
    moved = list(values)
    for name, cap in capped:
        if values[cap.position] in refused.get(name, ()):
            moved[cap.position] = cap.overflow_label
    if moved == list(values):
        return key
    return key._replace(dimension=dimension_text(tuple(moved)))
