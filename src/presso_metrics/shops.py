"""The simulator's Serverlesspresso shops: the menu, when each shop is open, what its customers
order, when they come, and how long a barista takes to make each drink.

A shop is an event booth; its ``event_id`` is what every real order event carries as
``detail.eventId`` (the recorded trace's shop is ``NYC``). Hours are local wall-clock times in
the simulation's time zone. The catalogue is fixed, so a seed alone decides a simulation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType

# (drink, icon, share of orders, takes milk): the menu and its mix across all shops.
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
DRINKS = frozenset(item[0] for item in MENU)

# Mean seconds a barista needs for a drink (gamma distributed, coefficient of variation 0.5):
# an espresso is quick, milk drinks take steaming; the cold brew and the soda are poured.
SERVICE_SECONDS: Mapping[str, float] = MappingProxyType(
    {
        "Caffe Latte": 100.0,
        "Americano": 55.0,
        "Flat White": 90.0,
        "Cappuccino": 95.0,
        "Espresso": 40.0,
        "Cortado": 70.0,
        "Bens Brew": 30.0,
        "James Soda": 20.0,
    }
)
SHOTS = ("Single", "Double")
MILKS = ("Whole milk", "Semi-skimmed", "Oat", "Soy", "Almond")
EXTRAS = ("Decaf", "Vanilla syrup", "Caramel syrup", "Extra hot")
EXTRA_CHANCE = 0.08  # each extra, independently

SERVICE_SHAPE = 4.0  # gamma shape: coefficient of variation 1/sqrt(4) = 0.5
EXTRA_SECONDS = 10.0  # each extra (syrup, decaf, extra hot) adds this much on average
MIN_SERVICE_SECONDS = 8.0

# The day's arrival profile, the same shape at every shop, placed at each shop's own times:
# a morning peak, a lunch bump, a last call before closing, and a steady trickle (the rest).
PEAK_SHARE, PEAK_SD_MINUTES = 0.42, 40.0
LUNCH_SHARE, LUNCH_SD_MINUTES = 0.18, 35.0
LAST_CALL_SHARE, LAST_CALL_MINUTES = 0.03, 15.0
PEAK_WINDOW_MINUTES = 15  # the peak demand the baristas are staffed for: the busiest 15 minutes


@dataclass(frozen=True)
class Shop:
    """One shop's profile. ``weight`` is its share of the orders (relative to the other shops
    simulated); ``mix`` multiplies the menu's shares (drinks not named keep 1.0);
    ``peak_load`` is the demand of the busiest quarter hour over what its baristas can make
    (above 1 a queue builds up at the morning peak and drains after it)."""

    event_id: str
    opens: time
    closes: time
    weight: float
    morning_peak: time
    lunch: time
    peak_load: float
    mix: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        where = f"shop {self.event_id!r}"
        if not self.event_id or not self.event_id.isascii() or not self.event_id.isalnum():
            raise ValueError(f"{where}: event_id must be ASCII letters and digits, such as NYC")
        if not _minutes(self.opens) + 60 <= _minutes(self.closes):
            raise ValueError(f"{where}: closes ({self.closes}) must be an hour after opens")
        for name, when in (("morning_peak", self.morning_peak), ("lunch", self.lunch)):
            if not self.opens <= when < self.closes:
                raise ValueError(f"{where}: {name} ({when}) must be within the opening hours")
        if not self.weight > 0 or not self.peak_load > 0:
            raise ValueError(f"{where}: weight and peak_load must be positive")
        unknown = set(self.mix) - DRINKS
        if unknown:
            raise ValueError(f"{where}: mix names drinks not on the menu: {sorted(unknown)}")
        if any(not m > 0 for m in self.mix.values()):
            raise ValueError(f"{where}: mix multipliers must be positive")

    @property
    def open_minutes(self) -> float:
        return _minutes(self.closes) - _minutes(self.opens)

    def drink_weights(self) -> list[float]:
        """The share of each menu drink (in MENU's order) at this shop."""
        raw = [share * self.mix.get(drink, 1.0) for drink, _, share, _ in MENU]
        total = sum(raw)
        return [w / total for w in raw]

    def mean_service_seconds(self) -> float:
        weights = self.drink_weights()
        drinks = sum(w * SERVICE_SECONDS[item[0]] for w, item in zip(weights, MENU, strict=True))
        return drinks + len(EXTRAS) * EXTRA_CHANCE * EXTRA_SECONDS

    def arrival_minutes(self, rng: random.Random, n: int) -> list[float]:
        """``n`` arrival times in minutes after opening, sorted."""
        day = self.open_minutes
        peak = _minutes(self.morning_peak) - _minutes(self.opens)
        lunch = _minutes(self.lunch) - _minutes(self.opens)
        last_call = max(0.0, day - LAST_CALL_MINUTES)
        out = []
        random_, gauss, uniform = rng.random, rng.gauss, rng.uniform
        for _ in range(n):
            while True:
                u = random_()
                if u < PEAK_SHARE:
                    m = gauss(peak, PEAK_SD_MINUTES)
                elif u < PEAK_SHARE + LUNCH_SHARE:
                    m = gauss(lunch, LUNCH_SD_MINUTES)
                elif u < PEAK_SHARE + LUNCH_SHARE + LAST_CALL_SHARE:
                    m = uniform(last_call, day)
                else:
                    m = uniform(0, day)
                if 0 <= m < day:
                    out.append(m)
                    break
        out.sort()
        return out

    def peak_share_per_minute(self) -> float:
        """The share of the day's orders arriving per minute in the busiest quarter hour."""
        day = math.ceil(self.open_minutes)
        peak = _minutes(self.morning_peak) - _minutes(self.opens)
        lunch = _minutes(self.lunch) - _minutes(self.opens)
        density = [
            PEAK_SHARE * _normal(m + 0.5, peak, PEAK_SD_MINUTES)
            + LUNCH_SHARE * _normal(m + 0.5, lunch, LUNCH_SD_MINUTES)
            + (LAST_CALL_SHARE / LAST_CALL_MINUTES if m >= day - LAST_CALL_MINUTES else 0.0)
            + (1 - PEAK_SHARE - LUNCH_SHARE - LAST_CALL_SHARE) / day
            for m in range(day)
        ]
        total = sum(density)  # the profile is cut at the opening hours
        window = min(PEAK_WINDOW_MINUTES, day)
        busiest = max(sum(density[i : i + window]) for i in range(day - window + 1))
        return busiest / window / total

    def baristas(self, orders: int) -> int:
        """How many baristas work on a day of ``orders`` orders: the busiest quarter hour's
        demand (in baristas kept busy) over ``peak_load``, at least one."""
        demand = orders * self.peak_share_per_minute() / 60 * self.mean_service_seconds()
        return max(1, round(demand / self.peak_load))


def order_modifiers(rng: random.Random, takes_milk: bool) -> list[str]:
    """A customer's modifiers: the shots, a milk for a milk drink, now and then an extra."""
    mods = [rng.choices(SHOTS, cum_weights=(0.6, 1.0))[0]]
    if takes_milk:
        mods.append(rng.choices(MILKS, cum_weights=(0.35, 0.55, 0.85, 0.95, 1.0))[0])
    for extra in EXTRAS:
        if rng.random() < EXTRA_CHANCE:
            mods.append(extra)
    return mods


def service_seconds(rng: random.Random, drink: str, modifiers: list[str]) -> float:
    """How long a barista takes to make one order."""
    extras = sum(1 for m in modifiers if m in EXTRAS)
    mean = SERVICE_SECONDS[drink] + extras * EXTRA_SECONDS
    return max(MIN_SERVICE_SECONDS, rng.gammavariate(SERVICE_SHAPE, mean / SERVICE_SHAPE))


def _minutes(t: time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


def _normal(x: float, mean: float, sd: float) -> float:
    return math.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _mix(**multipliers: float) -> Mapping[str, float]:
    names = {
        "latte": "Caffe Latte",
        "americano": "Americano",
        "flat_white": "Flat White",
        "cappuccino": "Cappuccino",
        "espresso": "Espresso",
        "cortado": "Cortado",
        "cold_brew": "Bens Brew",
        "soda": "James Soda",
    }
    return MappingProxyType({names[k]: v for k, v in multipliers.items()})


# Event booths, busiest first. NYC is the recorded trace's shop.
SHOPS: tuple[Shop, ...] = (
    Shop(
        "NYC",
        time(7),
        time(17),
        weight=0.38,
        morning_peak=time(8, 45),
        lunch=time(12, 30),
        peak_load=1.25,
        mix=_mix(latte=1.15, flat_white=1.2, cold_brew=0.8),
    ),
    Shop(
        "BOS",
        time(7, 30),
        time(15, 30),
        weight=0.24,
        morning_peak=time(8, 30),
        lunch=time(12, 15),
        peak_load=1.15,
        mix=_mix(americano=1.35, cappuccino=0.85, soda=0.7),
    ),
    Shop(
        "CHI",
        time(8),
        time(18),
        weight=0.22,
        morning_peak=time(9, 30),
        lunch=time(12, 45),
        peak_load=1.05,
        mix=_mix(cappuccino=1.25, soda=1.4, espresso=0.8),
    ),
    Shop(
        "SEA",
        time(6, 30),
        time(14, 30),
        weight=0.16,
        morning_peak=time(8),
        lunch=time(11, 45),
        peak_load=1.1,
        mix=_mix(espresso=1.3, cortado=1.4, latte=0.85),
    ),
    Shop(
        "ATL",
        time(9),
        time(17),
        weight=0.15,
        morning_peak=time(10),
        lunch=time(13),
        peak_load=1.05,
        mix=_mix(cold_brew=1.5, soda=1.3, americano=0.8),
    ),
    Shop(
        "LAS",
        time(8),
        time(19),
        weight=0.20,
        morning_peak=time(9, 15),
        lunch=time(12, 30),
        peak_load=1.2,
        mix=_mix(latte=1.1, cold_brew=1.3, espresso=0.9),
    ),
)
DEFAULT_SHOPS = 4


def shop_profiles(shops: int | tuple[Shop, ...] | list[Shop]) -> tuple[Shop, ...]:
    """The first ``shops`` shops of the catalogue, or the given profiles (distinct ids)."""
    if isinstance(shops, int):
        if not 1 <= shops <= len(SHOPS):
            raise ValueError(f"shops must be from 1 to {len(SHOPS)} (the catalogue), not {shops}")
        return SHOPS[:shops]
    chosen = tuple(shops)
    if not chosen:
        raise ValueError("give at least one shop")
    ids = [s.event_id for s in chosen]
    if len(set(ids)) != len(ids):
        raise ValueError(f"shop event ids must be distinct: {ids}")
    return chosen
