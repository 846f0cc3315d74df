"""Counters: where a count is stored.

A counter is DynamoDB's ``PK = partition``, ``SK = "<bucket>#<dimension>"`` (the seed's layout:
``PK = "Aggregate"``, ``SK = "2022-10-14#Americano"``), and the same pair in SQLite.
"""

from __future__ import annotations

from typing import NamedTuple


class CounterKey(NamedTuple):
    partition: str
    bucket: str
    dimension: str

    @property
    def sort_key(self) -> str:
        return f"{self.bucket}#{self.dimension}"

    @classmethod
    def parse(cls, partition: str, sort_key: str) -> CounterKey:
        bucket, _, dimension = sort_key.partition("#")
        return cls(partition, bucket, dimension)
