"""Simulated Serverlesspresso traffic, repeatable from a seed.

``simulate_days`` produces the events a Serverlesspresso shop publishes on its bus over whole
days: every order's ``OrderManager.WaitingCompletion`` (the order manager's real shape: drink,
modifiers, order number, ``TS``) in opening hours with a morning peak, then its completion
(``OrderManager.OrderNYC-COMPLETED``) or, for a few percent, its cancellation in one of the two
real shapes. A share of deliveries is repeated (same envelope id), as EventBridge and SQS do.
``burst`` reproduces the workshop's load test: 500 orders at once, drink only.

Identities derive from the seed and the day, so the same command publishes the same events.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

SOURCE = "awsserverlessda.serverlesspresso"

# (drink, icon, share of orders, takes milk)
MENU: tuple[tuple[str, str, float, bool], ...] = (
    ("Caffe Latte", "barista-icons_cafe-latte", 0.22, True),
    ("Americano", "barista-icons_americano", 0.17, False),
    ("Flat White", "barista-icons_flat-white-alternative", 0.15, True),
    ("Cappuccino", "barista-icons_cappuccino-alternative", 0.14, True),
    ("Espresso", "barista-icons_espresso-alternative", 0.11, False),
    ("Cortado", "barista-icons_cortado", 0.07, True),
    ("Bens Brew", "barista-icons_cold-brew", 0.08, False),
    ("James Soda", "barista-icons_soda", 0.06, False),
)
SHOTS = ("Single", "Double")
MILKS = ("Whole milk", "Semi-skimmed", "Oat", "Soy", "Almond")
EXTRAS = ("Decaf", "Vanilla syrup", "Caramel syrup", "Extra hot")

OPEN_HOUR, CLOSE_HOUR = 7, 17
CANCEL_SHARE = 0.04
ABANDON_SHARE = 0.02  # orders never completed nor cancelled (closing time, lost tablets)


@dataclass(frozen=True)
class Simulation:
    events: list[dict[str, Any]]  # in publish order, duplicates included
    orders: int
    duplicates: int
    start: date  # the first simulated day (local)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _order_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
    return "".join(rng.choice(alphabet) for _ in range(10))


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order_minute(rng: random.Random) -> float:
    """Minutes after opening: a morning peak, a smaller lunch bump, a steady trickle."""
    day = (CLOSE_HOUR - OPEN_HOUR) * 60
    while True:
        u = rng.random()
        if u < 0.45:
            m = rng.gauss(105, 40)  # peak around 08:45
        elif u < 0.65:
            m = rng.gauss(330, 35)  # lunch around 12:30
        else:
            m = rng.uniform(0, day)
        if 0 <= m < day - 1:
            return m


def _modifiers(rng: random.Random, takes_milk: bool) -> list[str]:
    mods = [rng.choices(SHOTS, weights=(0.6, 0.4))[0]]
    if takes_milk:
        mods.append(rng.choices(MILKS, weights=(0.35, 0.2, 0.3, 0.1, 0.05))[0])
    for extra in EXTRAS:
        if rng.random() < 0.08:
            mods.append(extra)
    return mods


def _envelope(
    rng: random.Random, detail_type: str, when: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": _uuid(rng),
        "detail-type": detail_type,
        "source": SOURCE,
        "account": "123456789012",
        "time": _stamp(when),
        "region": "us-west-2",
        "resources": [],
        "detail": detail,
    }


def _day_events(rng: random.Random, day: date, orders: int, zone: tzinfo) -> list[dict[str, Any]]:
    opening = datetime.combine(day, time(OPEN_HOUR), zone)
    weights = [item[2] for item in MENU]
    out: list[tuple[datetime, dict[str, Any]]] = []
    for number in range(1, orders + 1):
        drink, icon, _, milk = rng.choices(MENU, weights=weights)[0]
        placed = opening + timedelta(minutes=_order_minute(rng))
        order_id = _order_id(rng)
        user = _uuid(rng)
        modifiers = _modifiers(rng, milk)
        waiting = _envelope(
            rng,
            "OrderManager.WaitingCompletion",
            placed,
            {
                "orderId": order_id,
                "orderNumber": number,
                "state": "CREATED",
                "drinkOrder": {"icon": icon, "modifiers": modifiers, "drink": drink},
                "userId": user,
                "robot": False,
                "TS": int(placed.timestamp() * 1000),
                "Message": "Order sent to the barista.",
            },
        )
        out.append((placed, waiting))
        fate = rng.random()
        later = placed + timedelta(minutes=rng.uniform(2, 9))
        if fate < CANCEL_SHARE / 2:
            # The order-manager state machine's cancellation: no drink.
            out.append(
                (
                    later,
                    _envelope(
                        rng,
                        "OrderManager.OrderNYC-CANCELLED",
                        later,
                        {
                            "Message": "Barista has cancelled or completed the order",
                            "eventId": "NYC",
                            "orderId": order_id,
                            "ORDERSTATE": "NYC-CANCELLED",
                            "userId": user,
                        },
                    ),
                )
            )
        elif fate < CANCEL_SHARE:
            # Another version's cancellation, carrying the order.
            out.append(
                (
                    later,
                    _envelope(
                        rng,
                        "OrderManager.OrderCancelled",
                        later,
                        {
                            "actionUserId": _uuid(rng),
                            "orderId": order_id,
                            "order": {
                                "orderNumber": number,
                                "userId": user,
                                "drinkOrder": {
                                    "icon": icon,
                                    "modifiers": modifiers,
                                    "drink": drink,
                                },
                                "orderState": "CANCELLED",
                            },
                            "userId": user,
                        },
                    ),
                )
            )
        elif fate < 1 - ABANDON_SHARE:
            out.append(
                (
                    later,
                    _envelope(
                        rng,
                        "OrderManager.OrderNYC-COMPLETED",
                        later,
                        {
                            "Message": "Barista has cancelled or completed the order",
                            "eventId": "NYC",
                            "orderId": order_id,
                            "ORDERSTATE": "NYC-COMPLETED",
                            "userId": user,
                        },
                    ),
                )
            )
    out.sort(key=lambda pair: pair[0])
    return [event for _, event in out]


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


def simulate_days(
    *,
    orders: int,
    days: int = 1,
    start: date | None = None,
    duplicates: float = 0.0,
    seed: int | None = None,
    zone: tzinfo | None = None,
) -> Simulation:
    """``orders`` orders over ``days`` days from ``start`` (default: the days before today),
    with a share ``duplicates`` of deliveries repeated. The same seed gives the same events;
    without one, every run is new orders."""
    if seed is None:
        seed = random.SystemRandom().getrandbits(64)
    if orders < 0 or days < 1:
        raise ValueError("orders must be at least 0 and days at least 1")
    if not 0.0 <= duplicates < 1.0:
        raise ValueError("duplicates is a fraction of deliveries, from 0 up to (not including) 1")
    zone = zone or ZoneInfo("UTC")
    start = start or (datetime.now(zone).date() - timedelta(days=days))
    planner = random.Random(f"{seed}:{start.isoformat()}:{days}:{orders}")
    events: list[dict[str, Any]] = []
    for offset, n in enumerate(_orders_per_day(planner, orders, days)):
        day = start + timedelta(days=offset)
        rng = random.Random(f"{seed}:{day.isoformat()}:{n}")
        events.extend(_day_events(rng, day, n, zone))
    stream, repeated = with_duplicates(events, duplicates, planner)
    return Simulation(stream, orders, repeated, start)


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
                now,
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
