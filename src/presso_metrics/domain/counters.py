"""Counters: where a count is stored.

A counter is a numeric attribute of an item: DynamoDB's ``PK = partition``,
``SK = "<bucket>#<dimension>"``, attribute ``val`` (the seed's layout: ``PK = "Aggregate"``,
``SK = "2022-10-14#Americano"``, ``val``), and the same triple in SQLite. Figures that always change
together share an item under several attributes (a duration's count, sum and histogram).

The dimension text of a metric with one dimension is the value itself (or the total's name); with
two, it is the values as a compact JSON array (``["NYC","Americano"]``), which no value can forge:
a single value is never decoded, and an array is only read where the metric has two dimensions.
"""

from __future__ import annotations

import json
from typing import NamedTuple

VALUE = "val"  # the attribute of a plain counter


class CounterKey(NamedTuple):
    partition: str
    bucket: str
    dimension: str
    attribute: str = VALUE

    @property
    def sort_key(self) -> str:
        return f"{self.bucket}#{self.dimension}"

    @classmethod
    def parse(cls, partition: str, sort_key: str, attribute: str = VALUE) -> CounterKey:
        bucket, _, dimension = sort_key.partition("#")
        return cls(partition, bucket, dimension, attribute)


def dimension_text(values: tuple[str, ...]) -> str:
    """The stored form of one combination of dimension values."""
    if len(values) == 1:
        return values[0]
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def dimension_values(text: str, arity: int) -> tuple[str, ...] | None:
    """The values a dimension text holds for a metric with ``arity`` dimensions, or None when
    the text is not a combination (a total, or a metric without dimensions)."""
    if arity == 1:
        return (text,)
    if arity == 0 or not text.startswith("["):
        return None
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if (
        isinstance(values, list)
        and len(values) == arity
        and all(isinstance(v, str) for v in values)
    ):
        return tuple(values)
    return None
