"""The simulator: real event shapes, whole orders at several shops, a queue that makes waits grow
at the morning peak, and expected figures that match the events."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from presso_metrics.domain.envelope import Envelope, envelope_of
from presso_metrics.domain.paths import MISSING, walk
from presso_metrics.shop_day import (
    ABANDONED,
    BARISTA,
    CANCELLED,
    CLOSING,
    CLOSING_GRACE_MINUTES,
    COMPLETED,
    CUSTOMER,
    MIN_PATIENCE_SECONDS,
)
from presso_metrics.shops import MENU, MIN_SERVICE_SECONDS, SHOPS, Shop
from presso_metrics.simulation import SOURCE, burst, simulate_days, with_duplicates
from tests.conftest import load_event, recorded_trace

START = date(2026, 3, 2)
LATER = datetime(2100, 1, 1, tzinfo=UTC)
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
WAITING = "OrderManager.WaitingCompletion"
DETAILED_CANCEL = "OrderManager.OrderCancelled"


def real(detail_type: str) -> dict[str, Any]:
    return next(e for e in recorded_trace() if e["detail-type"] == detail_type)


def parsed(event: dict[str, Any]) -> Envelope:
    envelope = envelope_of(event, now=LATER)
    assert isinstance(envelope, Envelope), envelope
    return envelope


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"])


def by_order(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The distinct events of each order, in stream order."""
    seen: set[str] = set()
    out: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["id"] not in seen:
            seen.add(e["id"])
            out[e["detail"]["orderId"]].append(e)
    return out


# --- determinism and the API ------------------------------------------------------------------


def test_the_same_seed_gives_the_same_stream_and_another_seed_another() -> None:
    one = simulate_days(orders=400, days=2, duplicates=0.1, seed=9, start=START)
    two = simulate_days(orders=400, days=2, duplicates=0.1, seed=9, start=START)
    other = simulate_days(orders=400, days=2, duplicates=0.1, seed=10, start=START)
    assert one.events == two.events and one.order_log == two.order_log
    assert one.expected == two.expected
    assert {e["id"] for e in one.events}.isdisjoint(e["id"] for e in other.events)
    assert {o.order_id for o in one.order_log}.isdisjoint(o.order_id for o in other.order_log)


def test_orders_days_duplicates_and_start_are_kept() -> None:
    sim = simulate_days(orders=500, days=3, duplicates=0.2, seed=4, start=START)
    assert (sim.orders, sim.start) == (500, START)
    distinct = {e["id"] for e in sim.events}
    assert sim.duplicates == len(sim.events) - len(distinct)
    assert sim.duplicates == round(len(distinct) * 0.2 / 0.8)
    assert sum(1 for e in sim.events if e["detail-type"] == WAITING) >= 500
    assert len({e["id"] for e in sim.events if e["detail-type"] == WAITING}) == 500
    assert {e["time"][:10] for e in sim.events} == {"2026-03-02", "2026-03-03", "2026-03-04"}
    assert sum(sim.orders_by_shop.values()) == 500


def test_events_are_in_time_order_at_whole_seconds_with_uuid_ids() -> None:
    sim = simulate_days(orders=800, days=2, seed=3, start=START)
    times = [e["time"] for e in sim.events]
    assert all(STAMP.fullmatch(t) for t in times)
    assert times == sorted(times)
    for e in sim.events:
        assert UUID(e["id"]).version == 4
        assert UUID(e["detail"]["orderId"]).version == 4


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="from 1 to 6"):
        simulate_days(orders=10, shops=0)
    with pytest.raises(ValueError, match="from 1 to 6"):
        simulate_days(orders=10, shops=7)
    with pytest.raises(ValueError, match="distinct"):
        simulate_days(orders=10, shops=[SHOPS[0], SHOPS[0]])
    with pytest.raises(ValueError, match="orders must be at least 0"):
        simulate_days(orders=-1)
    with pytest.raises(ValueError, match="duplicates"):
        simulate_days(orders=10, duplicates=1.0)
    with pytest.raises(ValueError, match="must be within the opening hours"):
        Shop("X1", time(8), time(12), 1, time(13), time(11), 1.0)
    with pytest.raises(ValueError, match="not on the menu"):
        Shop("X1", time(8), time(12), 1, time(9), time(11), 1.0, {"Mocha": 2.0})
    with pytest.raises(ValueError, match="ASCII letters and digits"):
        Shop("<b>", time(8), time(12), 1, time(9), time(11), 1.0)


def test_no_orders_make_no_events() -> None:
    sim = simulate_days(orders=0, seed=1, start=START)
    assert sim.events == [] and sim.order_log == ()
    assert sim.expected.sales == {} and sim.expected.wait_time == {}


# --- the real shapes --------------------------------------------------------------------------


def test_every_event_has_the_real_shape() -> None:
    real_waiting = real(WAITING)["detail"]
    real_end = real("OrderManager.OrderNYC-COMPLETED")
    real_cancel = real("OrderManager.OrderNYC-CANCELLED")["detail"]
    sample_detailed = load_event("order-cancelled-detailed.json")["detail"]
    sim = simulate_days(orders=3000, seed=12, start=START)
    kinds: Counter[str] = Counter()
    for e in sim.events:
        envelope = parsed(e)
        assert envelope.source == SOURCE and envelope.identity == e["id"]
        assert set(e) == set(real_end)
        detail, kind = e["detail"], e["detail-type"]
        if kind == WAITING:
            kinds["waiting"] += 1
            assert set(detail) == set(real_waiting)
            assert set(detail["drinkOrder"]) == set(real_waiting["drinkOrder"])
            assert type(detail["orderNumber"]) is type(real_waiting["orderNumber"])
            assert detail["state"] == f"{detail['eventId']}-CREATED"
            assert detail["drinkOrder"]["userId"] == detail["userId"]
            assert detail["robot"] is False and e["resources"] == []
            # TS is when the order manager stored the order: the envelope's second, in ms.
            assert detail["TS"] // 1000 == int(envelope.time.timestamp())
            assert walk(e, ("detail", "drinkOrder", "drink")) in {m[0] for m in MENU}
        elif kind == DETAILED_CANCEL:
            kinds["detailed cancel"] += 1
            # The cancel API's record: the order, no shop (the real API has no eventId).
            assert set(detail) == set(sample_detailed) | {"Message"}
            assert set(detail["order"]) == set(sample_detailed["order"])
            assert detail["order"]["orderState"] == "CANCELLED"
            assert walk(e, ("detail", "eventId")) is MISSING
            assert walk(e, ("detail", "order", "drinkOrder", "drink")) in {m[0] for m in MENU}
        else:
            shop = detail["eventId"]
            state = detail["ORDERSTATE"]
            assert kind == f"OrderManager.Order{state}"
            assert state in {f"{shop}-COMPLETED", f"{shop}-CANCELLED"}
            kinds[state.split("-")[1].lower()] += 1
            assert set(detail) == set(real_cancel)
            assert detail["Message"] == real_cancel["Message"]
            assert walk(e, ("detail", "drinkOrder")) is MISSING
            assert e["resources"][1].startswith(
                e["resources"][0].replace("stateMachine", "execution")
            )
    assert set(kinds) == {"waiting", "completed", "cancelled", "detailed cancel"}
    assert kinds["cancelled"] > kinds["detailed cancel"] > 0


def test_every_order_is_one_waiting_completion_then_at_most_one_end_at_its_shop() -> None:
    sim = simulate_days(orders=2500, days=2, duplicates=0.1, seed=8, start=START)
    orders = by_order(sim.events)
    assert len(orders) == 2500
    ends: Counter[str] = Counter()
    for events in orders.values():
        first, *rest = events
        assert first["detail-type"] == WAITING
        assert len(rest) <= 1  # completed or cancelled, never both; or neither
        for end in rest:
            assert at(end) > at(first)
            shop = end["detail"].get("eventId")
            assert shop in {first["detail"]["eventId"], None}
            if shop is None:
                assert end["detail-type"] == DETAILED_CANCEL
                assert end["detail"]["order"]["drinkOrder"] == first["detail"]["drinkOrder"]
                assert end["detail"]["order"]["orderNumber"] == first["detail"]["orderNumber"]
            assert end["detail"]["userId"] == first["detail"]["userId"]
        ends[rest[0]["detail-type"].rsplit("-", 1)[-1] if rest else "none"] += 1
    assert ends["COMPLETED"] > ends["CANCELLED"] + ends[DETAILED_CANCEL] > ends["none"] > 0


def test_order_numbers_count_up_per_shop_and_day() -> None:
    sim = simulate_days(orders=600, days=2, seed=2, start=START)
    numbers: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for e in sim.events:
        if e["detail-type"] == WAITING:
            numbers[e["time"][:10], e["detail"]["eventId"]].append(int(e["detail"]["orderNumber"]))
    for got in numbers.values():
        assert got == list(range(1, len(got) + 1))


# --- shops ------------------------------------------------------------------------------------


def test_default_shops_differ_in_hours_mix_and_share() -> None:
    shops = simulate_days(orders=1, seed=1, start=START).shops
    assert [s.event_id for s in shops] == ["NYC", "BOS", "CHI", "SEA"]
    assert len({(s.opens, s.closes) for s in shops}) == len(shops)
    assert len({tuple(s.drink_weights()) for s in shops}) == len(shops)
    sim = simulate_days(orders=20_000, seed=5, start=START)
    counts = sim.orders_by_shop
    assert [k for k, _ in sorted(counts.items(), key=lambda kv: -kv[1])] == [
        s.event_id for s in sorted(shops, key=lambda s: -s.weight)
    ]
    # Each shop's orders fall in its own opening hours.
    drinks: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for e in sim.events:
        if e["detail-type"] == WAITING:
            shop = next(s for s in shops if s.event_id == e["detail"]["eventId"])
            assert shop.opens <= at(e).time() < shop.closes, (shop.event_id, e["time"])
            drinks[shop.event_id][e["detail"]["drinkOrder"]["drink"]] += 1
    share = {s: {d: n / sum(c.values()) for d, n in c.items()} for s, c in drinks.items()}
    # BOS drinks more Americano (x1.35), CHI more soda (x1.4), SEA more cortado (x1.4).
    assert share["BOS"]["Americano"] > max(share[s]["Americano"] for s in ("NYC", "CHI", "SEA"))
    assert share["CHI"]["James Soda"] > max(share[s]["James Soda"] for s in ("NYC", "BOS", "SEA"))
    assert share["SEA"]["Cortado"] > max(share[s]["Cortado"] for s in ("NYC", "BOS", "CHI"))


def test_shops_can_be_chosen_by_number_or_profile() -> None:
    one = simulate_days(orders=200, seed=1, start=START, shops=1)
    assert {e["detail"]["eventId"] for e in one.events if "eventId" in e["detail"]} == {"NYC"}
    six = simulate_days(orders=3000, seed=1, start=START, shops=6)
    assert set(six.orders_by_shop) == {s.event_id for s in SHOPS}
    assert all(n > 0 for n in six.orders_by_shop.values())
    mine = Shop("Pop1", time(10), time(12), 1, time(10, 30), time(11, 30), 1.0)
    custom = simulate_days(orders=50, seed=1, start=START, shops=[mine])
    assert custom.orders_by_shop == {"Pop1": 50}
    assert all(
        time(10) <= at(e).time() < time(12) for e in custom.events if e["detail-type"] == WAITING
    )


def test_shop_hours_are_local_in_the_time_zone_across_a_daylight_saving_change() -> None:
    zone = ZoneInfo("America/New_York")
    sim = simulate_days(orders=2000, days=3, seed=6, start=date(2026, 3, 7), zone=zone)
    shops = {s.event_id: s for s in sim.shops}
    for e in sim.events:
        if e["detail-type"] == WAITING:
            local = at(e).astimezone(zone)
            shop = shops[e["detail"]["eventId"]]
            assert shop.opens <= local.time() < shop.closes


# --- the queue ----------------------------------------------------------------------------------


def waits_by_placing(
    events: list[dict[str, Any]], shop: str
) -> list[tuple[datetime, float | None, str]]:
    """(placed, wait in seconds or None, how it ended) of each order of ``shop``."""
    out = []
    for first, *rest in by_order(events).values():
        if first["detail"]["eventId"] != shop:
            continue
        end = rest[0]["detail-type"] if rest else "none"
        wait = (at(rest[0]) - at(first)).total_seconds() if rest else None
        out.append((at(first), wait, end))
    return out


def test_waits_grow_at_the_morning_peak_and_shrink_after() -> None:
    sim = simulate_days(orders=2000, days=3, seed=2022, start=START)
    nyc = next(s for s in sim.shops if s.event_id == "NYC")
    orders = waits_by_placing(sim.events, "NYC")

    def mean_wait(lo: time, hi: time) -> float:
        return statistics.mean(
            w for placed, w, end in orders if lo <= placed.time() < hi and end.endswith("COMPLETED")
        )

    peak = datetime.combine(START, nyc.morning_peak)
    around = ((peak - timedelta(minutes=30)).time(), (peak + timedelta(minutes=30)).time())
    opening = mean_wait(nyc.opens, time(7, 30))
    at_peak = mean_wait(*around)
    afternoon = mean_wait(time(14), time(16))
    assert at_peak > 2 * opening and at_peak > 2 * afternoon

    # Customers give up more when the queue is long.
    def cancelled_share(lo: time, hi: time) -> float:
        ends = [end for placed, _, end in orders if lo <= placed.time() < hi]
        return sum(1 for e in ends if "CANCEL" in e.upper()) / len(ends)

    assert cancelled_share(*around) > 2 * cancelled_share(time(13), time(16))


def test_one_barista_makes_one_drink_at_a_time_in_arrival_order() -> None:
    # A small day at one shop: one barista. Orders are made in arrival order, each taking at
    # least the shortest service time after both the order and the barista are free.
    sim = simulate_days(orders=60, seed=3, start=START, shops=1)
    assert sim.shops[0].baristas(60) == 1
    made = [o for o in sim.order_log if o.outcome == COMPLETED]
    assert len(made) > 40
    free = 0
    for o in sim.order_log:
        if o.outcome == COMPLETED:
            assert o.ended_ms is not None
            assert o.ended_ms - max(o.placed_ms, free) >= MIN_SERVICE_SECONDS * 1000 - 1
            free = o.ended_ms
        elif o.cancelled_by == BARISTA:  # the barista's cancellation takes a moment too
            assert o.ended_ms is not None
            free = o.ended_ms


def test_customers_give_up_only_before_they_are_served_and_after_some_patience() -> None:
    sim = simulate_days(orders=5000, seed=4, start=START)
    customers = [o for o in sim.order_log if o.cancelled_by == CUSTOMER]
    assert customers
    for o in customers:
        assert o.ended_ms is not None
        assert o.ended_ms - o.placed_ms >= MIN_PATIENCE_SECONDS * 1000


def test_orders_left_at_closing_are_cancelled_or_time_out() -> None:
    # A booth with far too few baristas: the queue is still long when it closes.
    rushed = Shop("Rush", time(9), time(11), 1, time(9, 30), time(10, 30), 3.0)
    sim = simulate_days(orders=400, seed=7, start=START, shops=[rushed])
    last_start = datetime.combine(START, time(11), UTC) + timedelta(minutes=CLOSING_GRACE_MINUTES)
    closing = [o for o in sim.order_log if o.cancelled_by == CLOSING]
    assert closing and any(o.outcome == ABANDONED for o in sim.order_log)
    for o in closing:
        assert o.ended_ms is not None
        ended = datetime.fromtimestamp(o.ended_ms / 1000, UTC)
        assert last_start <= ended < last_start + timedelta(minutes=2)
    assert all(o.outcome in (COMPLETED, CANCELLED, ABANDONED) for o in sim.order_log)


# --- expected figures -------------------------------------------------------------------------


def recount(events: list[dict[str, Any]], zone: tzinfo) -> dict[str, Any]:
    """The expected figures again, read plainly from the events."""

    def day(e: dict[str, Any]) -> str:
        return at(e).astimezone(zone).date().isoformat()

    sales: Counter[tuple[str, str, str]] = Counter()
    completions: Counter[tuple[str, str]] = Counter()
    cancellations: Counter[tuple[str, str, str]] = Counter()
    without_shop: Counter[tuple[str, str]] = Counter()
    waits: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    abandoned: Counter[tuple[str, str]] = Counter()
    for first, *rest in by_order(events).values():
        shop, drink = first["detail"]["eventId"], first["detail"]["drinkOrder"]["drink"]
        sales[day(first), shop, drink] += 1
        if not rest:
            abandoned[day(first), shop] += 1
        elif rest[0]["detail-type"].endswith("COMPLETED"):
            completions[day(rest[0]), shop] += 1
            waits[day(rest[0]), shop].append(int((at(rest[0]) - at(first)).total_seconds()))
        else:
            cancellations[day(rest[0]), shop, drink] += 1
            if "eventId" not in rest[0]["detail"]:
                without_shop[day(rest[0]), drink] += 1
    return {
        "sales": dict(sales),
        "completions": dict(completions),
        "cancellations": dict(cancellations),
        "cancellations_without_shop": dict(without_shop),
        "wait_seconds": {k: tuple(sorted(v)) for k, v in waits.items()},
        "abandoned": dict(abandoned),
    }


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_expected_figures_match_a_plain_recount_of_the_events(zone: str) -> None:
    tz = ZoneInfo(zone)
    sim = simulate_days(orders=3000, days=3, duplicates=0.1, seed=17, start=START, zone=tz)
    want = recount(sim.events, tz)
    got = sim.expected
    assert got.time_zone == zone
    assert got.sales == want["sales"]
    assert got.completions == want["completions"]
    assert got.cancellations == want["cancellations"]
    assert got.cancellations_without_shop == want["cancellations_without_shop"]
    assert got.wait_seconds == want["wait_seconds"]
    assert got.abandoned == want["abandoned"]
    assert got.wait_time == {k: (len(v), sum(v)) for k, v in want["wait_seconds"].items()}
    assert sum(got.sales.values()) == 3000
    ended = sum(got.completions.values()) + sum(got.cancellations.values())
    assert ended + sum(got.abandoned.values()) == 3000
    # Another zone moves orders between days, never changes the totals.
    utc = sim.expected_in(UTC)
    assert utc.sales == recount(sim.events, UTC)["sales"]
    assert sum(utc.wait_time[k][1] for k in utc.wait_time) == sum(
        got.wait_time[k][1] for k in got.wait_time
    )


def test_expected_days_follow_each_event_not_the_order() -> None:
    # Orders placed before midnight in the counting zone and completed after it: the sale is
    # on one day, the completion and its wait on the next.
    late = Shop("Night", time(22), time(23, 59), 1, time(23, 30), time(23, 45), 3.0)
    sim = simulate_days(orders=300, seed=2, start=START, shops=[late])
    figures = sim.expected
    assert {k[0] for k in figures.sales} == {"2026-03-02"}
    assert {k[0] for k in figures.completions} == {"2026-03-02", "2026-03-03"}
    assert figures == sim.expected_in(UTC)
    assert recount(sim.events, UTC)["wait_seconds"] == figures.wait_seconds


# --- unchanged helpers ------------------------------------------------------------------------


def test_burst_is_the_workshop_load_test_shape() -> None:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    events = burst(orders=500, seed=3, now=now)
    assert len(events) == 500 and events == burst(orders=500, seed=3, now=now)
    assert {e["time"] for e in events} == {"2026-03-02T09:30:00Z"}
    assert all(set(e["detail"]["drinkOrder"]) == {"userId", "drink"} for e in events)
    assert len({e["id"] for e in events}) == 500


def test_with_duplicates_repeats_a_share_a_little_later() -> None:
    import random

    events = [{"id": str(i)} for i in range(1000)]
    stream, repeats = with_duplicates(events, 0.2, random.Random(1))
    assert repeats == 250 and len(stream) == 1250
    seen: set[str] = set()
    firsts = [e for e in stream if not (e["id"] in seen or seen.add(e["id"]))]
    assert firsts == events
    assert all(stream.index(e) >= i for i, e in enumerate(events))
