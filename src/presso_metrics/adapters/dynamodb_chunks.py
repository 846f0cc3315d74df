"""Grouping events into chunks that each fit one ``TransactWriteItems`` call.

A transaction holds at most 100 actions and 4 MB, and no two actions on one item. A chunk's
actions are one marker ``Put`` per event, one ``Update`` per distinct counter (the chunk's summed
delta) and one registry ``Update`` per partition admitting new dimension values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.domain.envelope import Rejection

MAX_ACTIONS = 100  # TransactWriteItems' limit
MAX_REQUEST_BYTES = 4_000_000  # 4 MB per transaction
# What an action costs in a request besides its keys: table name, expressions, attribute names.
ACTION_OVERHEAD_BYTES = 200


@dataclass
class Chunks:
    chunks: list[list[CountedEvent]] = field(default_factory=list)
    # Events no transaction can hold (they alone touch more than MAX_ACTIONS items).
    too_large: dict[str, Rejection] = field(default_factory=dict)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _size(event: CountedEvent, keys: set[CounterKey]) -> int:
    """Roughly what the event adds to a request: its marker and the counters it adds."""
    own = ACTION_OVERHEAD_BYTES + _bytes(event.marker)
    return own + sum(ACTION_OVERHEAD_BYTES + _bytes(k.partition + k.sort_key) for k in keys)


def _order_changes(event: CountedEvent) -> int:
    """A generous guess of the counters an event of an order may change besides its own
    increments: for each metric following the order it plays a part in, the counter it leaves
    and the one it joins (a cancellation moving from "unknown" to its drink). A chunk whose
    guess falls short is written in halves."""
    if event.order_event is None:
        return 0
    return 2 * len({role.split(".")[0] for role in event.order_event.roles})


def in_transactions(
    events: Sequence[CountedEvent], needs_registration: Callable[[CounterKey], bool]
) -> Chunks:
    """Greedy, in the given order: add events to a chunk while its markers, distinct counters
    and registry updates fit in one transaction."""
    out = Chunks()
    current: list[CountedEvent] = []
    counters: set[CounterKey] = set()
    registering: set[str] = set()
    size = 0
    guessed = 0  # the orders' changes guessed for the chunk so far
    for event in events:
        own_partitions = {k.partition for k in event.increments if needs_registration(k)}
        changes = _order_changes(event)
        alone = 1 + len(event.increments) + len(own_partitions) + changes
        if alone > MAX_ACTIONS:
            out.too_large[event.marker] = Rejection(
                "store_refused",
                f"the event updates {len(event.increments)} counters; one DynamoDB "
                f"transaction holds at most {MAX_ACTIONS} writes with its marker",
            )
            continue
        keys = set(event.increments) - counters
        new_partitions = own_partitions - registering
        event_size = _size(event, keys)
        actions = (
            len(current)
            + 1
            + len(counters)
            + len(keys)
            + guessed
            + changes
            + len(registering | new_partitions)
        )
        if current and (actions > MAX_ACTIONS or size + event_size > MAX_REQUEST_BYTES):
            out.chunks.append(current)
            current, counters, registering, size, guessed = [], set(), set(), 0, 0
            keys, new_partitions = set(event.increments), own_partitions
            event_size = _size(event, keys)
        current.append(event)
        counters |= keys
        registering |= new_partitions
        size += event_size
        guessed += changes
    if current:
        out.chunks.append(current)
    return out
