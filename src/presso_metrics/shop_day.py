"""One shop's day as a queue: orders arrive with the day's profile, wait for the first free
barista in arrival order, and end made, cancelled or never closed.

- Each order is made by the first barista free (``Shop.baristas`` of them): it starts when
  both the order and a barista are there, and completes after its drink's service time. So the
  wait (order placed to completed) grows while orders arrive faster than the baristas make them,
  at the morning peak, and shrinks after.
- Some customers give up when the wait is longer than their patience: the order is cancelled at
  that moment (only before a barista starts it). The barista cancels a few orders (an ingredient
  is out). A few orders are never completed nor cancelled: the order processor times them out.
- Baristas start no order later than ``CLOSING_GRACE_MINUTES`` after closing: the orders still
  waiting then are cancelled by the barista, or left to time out.

Times are integer epoch milliseconds; events carry them truncated to whole seconds.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from presso_metrics.shops import MENU, Shop, order_modifiers, service_seconds

COMPLETED, CANCELLED, ABANDONED = "completed", "cancelled", "abandoned"
CUSTOMER, BARISTA, CLOSING = "customer", "barista", "closing"  # who cancelled

FICKLE_SHARE = 0.4  # customers who leave when the wait exceeds their patience; others wait
PATIENCE_MEDIAN_MINUTES, PATIENCE_SIGMA = 12.0, 0.5  # log-normal patience of those
MIN_PATIENCE_SECONDS = 60.0
BARISTA_CANCEL_SHARE = 0.01  # the barista cancels the order when starting it
TIMED_OUT_SHARE = 0.012  # never completed nor cancelled (the order processor times them out)
CLOSING_GRACE_MINUTES = 15
CLOSING_CANCEL_SHARE = 0.75  # of the orders still waiting at closing; the rest time out
DETAILED_CANCEL_SHARE = 0.15  # cancellations published as OrderManager.OrderCancelled


@dataclass(frozen=True, slots=True)
class SimulatedOrder:
    """What happened to one order. ``placed_ms`` is when its WaitingCompletion is published,
    ``ended_ms`` when its completion or cancellation is (None when abandoned)."""

    order_id: str
    shop: str
    number: int
    drink: str
    icon: str
    modifiers: tuple[str, ...]
    user: str
    placed_ms: int
    outcome: str  # COMPLETED, CANCELLED or ABANDONED
    ended_ms: int | None = None
    cancelled_by: str | None = None  # CUSTOMER, BARISTA or CLOSING
    detailed_cancel: bool = False  # published as OrderManager.OrderCancelled (carries the order)

    @property
    def placed_second(self) -> int:
        """The WaitingCompletion's envelope time, in whole epoch seconds."""
        return self.placed_ms // 1000

    @property
    def ended_second(self) -> int | None:
        return None if self.ended_ms is None else self.ended_ms // 1000

    @property
    def wait_seconds(self) -> int | None:
        """Whole seconds from the WaitingCompletion's envelope time to the completion's, for a
        completed order (what a reader of the two envelopes measures)."""
        if self.outcome != COMPLETED or self.ended_ms is None:
            return None
        return self.ended_ms // 1000 - self.placed_ms // 1000


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID from ``rng`` (deterministic for a seeded rng)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def simulate_shop_day(
    rng: random.Random, shop: Shop, opening_ms: int, orders: int
) -> list[SimulatedOrder]:
    """``orders`` orders at ``shop`` on the day it opens at ``opening_ms``, in arrival order."""
    if orders <= 0:
        return []
    minutes = shop.arrival_minutes(rng, orders)
    free = [float(opening_ms)] * shop.baristas(orders)  # when each barista is next free (ms)
    last_start = opening_ms + (shop.open_minutes + CLOSING_GRACE_MINUTES) * 60_000
    cum = []
    acc = 0.0
    for w in shop.drink_weights():
        acc += w
        cum.append(acc)
    log_median = math.log(PATIENCE_MEDIAN_MINUTES * 60_000)
    random_, choices = rng.random, rng.choices
    out: list[SimulatedOrder] = []
    for number, minute in enumerate(minutes, 1):
        placed = opening_ms + round(minute * 60_000)
        drink, icon, _, milk = choices(MENU, cum_weights=cum)[0]
        mods = order_modifiers(rng, milk)
        order = (new_uuid(rng), shop.event_id, number, drink, icon, tuple(mods), new_uuid(rng))
        if random_() < TIMED_OUT_SHARE:
            out.append(SimulatedOrder(*order, placed, ABANDONED))
            continue
        patience = math.inf
        if random_() < FICKLE_SHARE:
            patience = max(
                MIN_PATIENCE_SECONDS * 1000, rng.lognormvariate(log_median, PATIENCE_SIGMA)
            )
        gives_up = placed + round(patience) if patience != math.inf else None
        start = max(float(placed), free[0])
        if gives_up is not None and gives_up < min(start, last_start):
            out.append(SimulatedOrder(*order, placed, CANCELLED, gives_up, CUSTOMER, _shape(rng)))
        elif start > last_start:
            if random_() < CLOSING_CANCEL_SHARE:
                at = round(last_start) + rng.randrange(0, 120_000)
                out.append(SimulatedOrder(*order, placed, CANCELLED, at, CLOSING, _shape(rng)))
            else:
                out.append(SimulatedOrder(*order, placed, ABANDONED))
        elif random_() < BARISTA_CANCEL_SHARE:
            at = round(start) + rng.randrange(15_000, 60_000)
            heapq.heapreplace(free, float(at))
            out.append(SimulatedOrder(*order, placed, CANCELLED, at, BARISTA, _shape(rng)))
        else:
            done = round(start + service_seconds(rng, drink, mods) * 1000)
            heapq.heapreplace(free, float(done))
            out.append(SimulatedOrder(*order, placed, COMPLETED, done))
    return out


def _shape(rng: random.Random) -> bool:
    return rng.random() < DETAILED_CANCEL_SHARE
