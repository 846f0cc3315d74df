"""The figures a simulation should produce, computed from what happened to each simulated order
(not from its events, and with none of the counting code): the truth exact metrics must match.

Every figure counts distinct orders (duplicate deliveries count nothing) and buckets an event by
the local day, in the given time zone, of its envelope ``time`` (whole seconds).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from presso_metrics.shop_day import CANCELLED, COMPLETED, SimulatedOrder


@dataclass(frozen=True)
class ExpectedFigures:
    """Keys hold ISO days (``YYYY-MM-DD``), shop event ids and drink names.

    - ``sales[day, shop, drink]``: orders whose WaitingCompletion falls on ``day``.
    - ``completions[day, shop]``: completion events (``OrderManager.Order<SHOP>-COMPLETED``) on
      ``day``.
    - ``cancellations[day, shop, drink]``: cancellation events on ``day``, by the shop and the
      drink of the order (its WaitingCompletion), whichever shape the cancellation has.
    - ``cancellations_without_shop[day, drink]``: the part of ``cancellations`` published as
      ``OrderManager.OrderCancelled``, which carries the order's drink but no ``eventId``: a
      metric reading the shop from the cancellation itself counts these under its missing label.
    - ``wait_seconds[day, shop]``: for each order completed on ``day`` (the completion's day),
      the whole seconds from its WaitingCompletion's envelope time to its completion's, sorted.
      ``wait_time[day, shop]`` is their ``(count, sum_seconds)``.
    - ``abandoned[day, shop]``: orders placed on ``day`` that are never completed nor cancelled.
    """

    time_zone: str
    sales: Mapping[tuple[str, str, str], int]
    completions: Mapping[tuple[str, str], int]
    cancellations: Mapping[tuple[str, str, str], int]
    cancellations_without_shop: Mapping[tuple[str, str], int]
    wait_seconds: Mapping[tuple[str, str], tuple[int, ...]]
    abandoned: Mapping[tuple[str, str], int]

    @property
    def wait_time(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {key: (len(w), sum(w)) for key, w in self.wait_seconds.items()}


def expected_figures(orders: Iterable[SimulatedOrder], zone: tzinfo) -> ExpectedFigures:
    def day(second: int) -> str:
        return datetime.fromtimestamp(second, zone).date().isoformat()

    sales: Counter[tuple[str, str, str]] = Counter()
    completions: Counter[tuple[str, str]] = Counter()
    cancellations: Counter[tuple[str, str, str]] = Counter()
    without_shop: Counter[tuple[str, str]] = Counter()
    waits: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    abandoned: Counter[tuple[str, str]] = Counter()
    for order in orders:
        placed = day(order.placed_ms // 1000)
        sales[placed, order.shop, order.drink] += 1
        if order.ended_ms is None:
            abandoned[placed, order.shop] += 1
            continue
        ended = day(order.ended_ms // 1000)
        if order.outcome == COMPLETED:
            completions[ended, order.shop] += 1
            waits[ended, order.shop].append(order.ended_ms // 1000 - order.placed_ms // 1000)
        elif order.outcome == CANCELLED:
            cancellations[ended, order.shop, order.drink] += 1
            if order.detailed_cancel:
                without_shop[ended, order.drink] += 1
    return ExpectedFigures(
        str(zone),
        dict(sales),
        dict(completions),
        dict(cancellations),
        dict(without_shop),
        {key: tuple(sorted(w)) for key, w in waits.items()},
        dict(abandoned),
    )
