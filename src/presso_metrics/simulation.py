"""Simulated Serverlesspresso traffic, repeatable from a seed.

``simulate_days`` produces the events several Serverlesspresso shops publish on their bus over
whole days, in the real shapes: every order's ``OrderManager.WaitingCompletion`` (the order
manager's: drink, modifiers, order number, shop, ``TS``), then its completion
(``OrderManager.Order<SHOP>-COMPLETED``) when the barista has made it, or its cancellation
(mostly the state machine's ``OrderManager.Order<SHOP>-CANCELLED``, a few
``OrderManager.OrderCancelled`` carrying the order), or nothing (timed out). Each shop has its
own hours, menu mix and baristas (``shops``); when orders end comes from a queue model
(``shop_day``). A share of deliveries is repeated (same envelope id), as EventBridge and SQS do.
``Simulation.expected`` holds the figures exact metrics must show. ``burst`` reproduces the
workshop's load test: 500 orders at once, drink only.

Identities derive from the seed and the day, so the same command publishes the same events.
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from presso_metrics.shop_day import (
    CANCELLED,
    COMPLETED,
    CUSTOMER,
    SimulatedOrder,
    new_uuid,
    simulate_shop_day,
)
from presso_metrics.shops import DEFAULT_SHOPS, MENU, Shop, shop_profiles
from presso_metrics.simulated_figures import ExpectedFigures, expected_figures

__all__ = ["MENU", "SOURCE", "Simulation", "burst", "simulate_days", "with_duplicates"]

SOURCE = "awsserverlessda.serverlesspresso"
ACCOUNT, REGION = "123456789012", "us-west-2"
ORDER_MANAGER = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:OrderManagerStateMachine-pm0rders"
ORDER_MANAGER_RUN = ORDER_MANAGER.replace(":stateMachine:", ":execution:")
# The real messages, typos included.
WAITING_MESSAGE = (
    "A Lambda function is invoked which stores the Step Functions Task Token in an Amazon "
    "DynamoDB table. The Task Token is later used to resume the workflow when the barista "
    "completes or cancels the order."
)
ENDED_MESSAGE = "Barrista has cancelled or completed the order"
CANCEL_API_MESSAGE = (
    "The barista or the customer presses the 'cancel order' button, this sends an HTTP POST "
    "request to Amazon API Gateway which invokes an AWS Lambda function. The Lambda function "
    "updates the order item in DynamoDb, and retrives the correct Task token. It then resumes "
    "the Step Functions workflow and emits a final 'Order completed' event to Amazon EventBridge"
)


@dataclass(frozen=True)
class Simulation:
    events: list[dict[str, Any]] = field(repr=False)  # in publish order (event times), repeats too
    orders: int
    duplicates: int
    start: date  # the first simulated day (local)
    zone: tzinfo = UTC
    shops: tuple[Shop, ...] = ()
    order_log: tuple[SimulatedOrder, ...] = field(default=(), repr=False)  # by placing time

    @property
    def orders_by_shop(self) -> dict[str, int]:
        counts = Counter(o.shop for o in self.order_log)
        return {s.event_id: counts[s.event_id] for s in self.shops}

    @functools.cached_property
    def expected(self) -> ExpectedFigures:
        """The figures exact metrics show for these events, by day in ``zone``."""
        return expected_figures(self.order_log, self.zone)

    def expected_in(self, zone: tzinfo) -> ExpectedFigures:
        """The same figures by day in another time zone."""
        return expected_figures(self.order_log, zone)


@functools.lru_cache(maxsize=64)
def _date_text(epoch_day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=epoch_day)).isoformat()


def _stamp_ms(ms: int) -> str:
    """The envelope ``time`` of an event at epoch milliseconds ``ms``: UTC, whole seconds."""
    day, second = divmod(ms // 1000, 86400)
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{_date_text(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(
    rng: random.Random,
    detail_type: str,
    time: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": new_uuid(rng),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": resources or [],
        "detail": detail,
    }


def _order_events(
    rng: random.Random, order: SimulatedOrder, barista: str
) -> list[tuple[int, dict[str, Any]]]:
    """The events ``order`` publishes, with their times in epoch milliseconds."""
    shop = order.shop
    drink_order = {
        "modifiers": list(order.modifiers),
        "icon": order.icon,
        "userId": order.user,
        "drink": order.drink,
    }
    waiting = {
        "orderId": order.order_id,
        "orderNumber": str(order.number),
        "state": f"{shop}-CREATED",
        "drinkOrder": drink_order,
        "userId": order.user,
        "robot": False,
        "eventId": shop,
        "TS": order.placed_ms,
        "Message": WAITING_MESSAGE,
    }
    placed = order.placed_ms
    out = [(placed, _envelope(rng, "OrderManager.WaitingCompletion", _stamp_ms(placed), waiting))]
    ended = order.ended_ms
    if ended is None:
        return out
    if order.outcome == CANCELLED and order.detailed_cancel:
        # The order manager's cancel API: the order's record, and no shop (it has none).
        detail = {
            "actionUserId": order.user if order.cancelled_by == CUSTOMER else barista,
            "orderId": order.order_id,
            "Message": CANCEL_API_MESSAGE,
            "order": {
                "orderNumber": str(order.number),
                "userId": order.user,
                "drinkOrder": dict(drink_order),
                "orderState": "CANCELLED",
            },
            "userId": order.user,
        }
        out.append((ended, _envelope(rng, "OrderManager.OrderCancelled", _stamp_ms(ended), detail)))
        return out
    # The order-manager state machine: no drink, the state prefixed with the shop.
    state = f"{shop}-{'COMPLETED' if order.outcome == COMPLETED else 'CANCELLED'}"
    detail = {
        "Message": ENDED_MESSAGE,
        "eventId": shop,
        "orderId": order.order_id,
        "ORDERSTATE": state,
        "userId": order.user,
    }
    run = f"{ORDER_MANAGER_RUN}:{new_uuid(rng)}_{new_uuid(rng)}"
    resources = [ORDER_MANAGER, run]
    detail_type = f"OrderManager.Order{state}"
    out.append((ended, _envelope(rng, detail_type, _stamp_ms(ended), detail, resources)))
    return out


def _orders_per_day(rng: random.Random, orders: int, days: int) -> list[int]:
    """Split ``orders`` over ``days`` with some day-to-day variation (weekdays busier)."""
    if days == 1:
        return [orders]
    weights = [rng.uniform(0.8, 1.2) for _ in range(days)]
    total = sum(weights)
    split = [math.floor(orders * w / total) for w in weights]
    for i in range(orders - sum(split)):
        split[i % days] += 1
    return split


def _day(
    seed: int, day: date, orders: int, shops: tuple[Shop, ...], zone: tzinfo
) -> tuple[list[SimulatedOrder], list[tuple[int, dict[str, Any]]]]:
    """One day at every shop: its orders (shop by shop, in arrival order) and their events."""
    rng = random.Random(f"{seed}:{day.isoformat()}:{orders}")
    picks = rng.choices(range(len(shops)), weights=[s.weight for s in shops], k=orders)
    per_shop = Counter(picks)
    log: list[SimulatedOrder] = []
    timed: list[tuple[int, dict[str, Any]]] = []
    for i, shop in enumerate(shops):
        n = per_shop[i]
        shop_rng = random.Random(f"{seed}:{day.isoformat()}:{shop.event_id}:{n}")
        opening = round(datetime.combine(day, shop.opens, zone).timestamp() * 1000)
        barista = new_uuid(shop_rng)
        orders_here = simulate_shop_day(shop_rng, shop, opening, n)
        log.extend(orders_here)
        for order in orders_here:
            timed.extend(_order_events(shop_rng, order, barista))
    return log, timed


def simulate_days(
    *,
    orders: int,
    days: int = 1,
    start: date | None = None,
    duplicates: float = 0.0,
    seed: int | None = None,
    zone: tzinfo | None = None,
    shops: int | Sequence[Shop] = DEFAULT_SHOPS,
) -> Simulation:
    """``orders`` orders over ``days`` days from ``start`` (default: the days before today) at
    ``shops`` shops (the first ones of ``shops.SHOPS``, or the given profiles; hours in
    ``zone``), with a share ``duplicates`` of deliveries repeated. The same seed gives the same
    events; without one, every run is new orders."""
    if seed is None:
        seed = random.SystemRandom().getrandbits(64)
    if orders < 0 or days < 1:
        raise ValueError("orders must be at least 0 and days at least 1")
    if not 0.0 <= duplicates < 1.0:
        raise ValueError("duplicates is a fraction of deliveries, from 0 up to (not including) 1")
    profiles = shop_profiles(shops if isinstance(shops, int) else tuple(shops))
    zone = zone or ZoneInfo("UTC")
    start = start or (datetime.now(zone).date() - timedelta(days=days))
    planner = random.Random(f"{seed}:{start.isoformat()}:{days}:{orders}")
    log: list[SimulatedOrder] = []
    timed: list[tuple[int, dict[str, Any]]] = []
    for offset, n in enumerate(_orders_per_day(planner, orders, days)):
        day_log, day_events = _day(seed, start + timedelta(days=offset), n, profiles, zone)
        log.extend(day_log)
        timed.extend(day_events)
    timed.sort(key=_first)  # stable: an order's WaitingCompletion stays before its end
    log.sort(key=_placed)
    stream, repeated = with_duplicates([e for _, e in timed], duplicates, planner)
    return Simulation(stream, orders, repeated, start, zone, profiles, tuple(log))


def _first(pair: tuple[int, dict[str, Any]]) -> int:
    return pair[0]


def _placed(order: SimulatedOrder) -> int:
    return order.placed_ms


def with_duplicates(
    events: list[dict[str, Any]], share: float, rng: random.Random
) -> tuple[list[dict[str, Any]], int]:
    """Repeat a ``share`` of the deliveries: each repeat lands a little after its original, as a
    redelivery would. Returns the stream and how many repeats it holds."""
    if share <= 0 or not events:
        return list(events), 0
    repeats = round(len(events) * share / (1 - share))
    originals = sorted(rng.choices(range(len(events)), k=repeats))
    extra: dict[int, list[dict[str, Any]]] = {}
    for i in originals:
        at = min(len(events) - 1, i + rng.randint(0, 50))
        extra.setdefault(at, []).append(events[i])
    stream: list[dict[str, Any]] = []
    for i, event in enumerate(events):
        stream.append(event)
        stream.extend(extra.get(i, ()))
    return stream, repeats


def burst(
    *, orders: int = 500, seed: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The workshop's load test: ``orders`` WaitingCompletion events at once, drink only.
    Without a seed every burst is new orders."""
    rng = random.Random(None if seed is None else f"burst:{seed}")
    now = now or datetime.now(UTC)
    weights = [item[2] for item in MENU]
    events = []
    for i in range(orders):
        drink = rng.choices(MENU, weights=weights)[0][0]
        user = str(1000 + i)
        events.append(
            _envelope(
                rng,
                "OrderManager.WaitingCompletion",
                _stamp(now),
                {
                    "Message": "Barista has cancelled or completed the order",
                    "orderId": user,
                    "ORDERSTATE": "Completed",
                    "userId": user,
                    "drinkOrder": {"userId": user, "drink": drink},
                },
            )
        )
    return events
