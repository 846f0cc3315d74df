"""Whole orders at several shops over two weeks, counted by the real consumer, and what the
dashboard must show for them, computed here in Python from the API's rows (the percentiles with
the server's own ``quantile()`` on the summed histograms).

Two shops have hostile names (markup, ``__proto__``), some orders carry no shop (``unknown``) and
one cancellation has no order the consumer knows (its drink is ``unknown``).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from presso_metrics import bootstrap
from presso_metrics.domain.histogram import quantile
from presso_metrics.entrypoints.worker import WorkerOptions, consume
from presso_metrics.publisher import publish_all
from presso_metrics.simulation import simulate_days

START = date(2024, 3, 1)
DAYS = 14
LAST = START + timedelta(days=DAYS - 1)
IMG = "<img src=x onerror=alert(1)>"
PROTO = "__proto__"
RENAMED = {"BOS": IMG, "CHI": PROTO}
SHOPS = sorted(["NYC", IMG, PROTO, "unknown"])  # by code point, as the selector lists them
MINUS = "\u2212"

Row = dict[str, Any]


def day(d: date) -> str:
    return d.isoformat()


def shop_events(orders: int = 1400, seed: int = 13) -> list[dict[str, Any]]:
    """Orders at NYC, a shop named like markup and one named __proto__; every 15th order of
    NYC without a shop; and a cancellation of an order never seen."""
    events = simulate_days(orders=orders, days=DAYS, start=START, seed=seed, shops=3).events
    nyc_orders = sorted(
        {e["detail"]["orderId"] for e in events if e["detail"].get("eventId") == "NYC"}
    )
    shopless = set(nyc_orders[::15])
    for event in events:
        detail = event["detail"]
        if detail["orderId"] in shopless:
            del detail["eventId"]
        elif detail.get("eventId") in RENAMED:
            detail["eventId"] = RENAMED[detail["eventId"]]
    orphan = {
        "id": "orphan-cancellation",
        "source": "awsserverlessda.serverlesspresso",
        "detail-type": "OrderManager.OrderNYC-CANCELLED",
        "time": f"{day(START + timedelta(days=9))}T10:00:00Z",
        "detail": {"orderId": "never-seen", "eventId": "NYC"},
    }
    return [*events, orphan]


def fill(db: Path, events: Sequence[Mapping[str, Any]]) -> None:
    """Publish ``events`` to the database's bus and count them with the worker, to the end."""
    stack = bootstrap.build(bootstrap.Settings(db=str(db)), provision=True)
    try:
        result = publish_all(stack.bus, events)
        assert not result.failed, result.failed[:3]
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=100, drain=True, poll_seconds=0.05),
        )
    finally:
        stack.close()


def api(url: str, path: str, **query: str) -> Any:
    q = f"?{urllib.parse.urlencode(query)}" if query else ""
    with urllib.request.urlopen(f"{url}{path}{q}", timeout=30) as response:
        return json.load(response)


def rows(url: str, name: str, first: str, last: str) -> list[Row]:
    found: list[Row] = api(url, f"/api/metrics/{name}", **{"from": first, "to": last})
    return found


# ---------------------------------------------------------------------------------------------
# What the page must show, from the API's rows.


def tenth(x: float) -> str:
    return f"{x:.1f}"


def pct(part: int, whole: int) -> str:
    return f"{tenth(100 * part / whole)} %"


def add(values: Iterable[float]) -> float:
    """Left to right, as the page adds (Python 3.12's sum compensates float rounding)."""
    total: float = 0
    for v in values:
        total += v
    return total


class View:
    """The API's rows for a range and one shop (None: all shops), and the page's figures."""

    def __init__(self, url: str, first: str, last: str, shop: str | None) -> None:
        self.first, self.last, self.shop = first, last, shop
        self.bounds: list[int] = next(
            d["bounds_seconds"] for d in api(url, "/api/metrics") if d["name"] == "wait_time"
        )

        def get(all_shops: str, by_shop: str) -> list[Row]:
            if shop is None:
                return rows(url, all_shops, first, last)
            return [
                r for r in rows(url, by_shop, first, last) if r["dimensions"].get("shop") == shop
            ]

        self.sales = get("sales", "sales_by_shop")
        self.completions = get("completions", "completions_by_shop")
        self.cancellations = get("cancellations", "cancellations_by_shop")
        self.waits = get("wait_time", "wait_time_by_shop")
        hourly = rows(url, "hourly_wait_time", first, last)
        self.hourly_waits = [
            r for r in hourly if shop is None or r["dimensions"].get("shop") == shop
        ]

    # Counts: the total counter for all shops, the shop's rows added up for a shop.
    def _total(self, found: list[Row], total: str | None) -> int:
        if self.shop is None and total is not None:
            return sum(r["value"] for r in found if r["dimension"] == total)
        return sum(r["value"] for r in found if r["dimensions"])

    def _by(self, found: list[Row], key: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in found:
            if r["dimensions"]:
                k = key(r)
                out[k] = out.get(k, 0) + r["value"]
        return out

    def sold(self) -> int:
        return self._total(self.sales, "TotalSales")

    def completed(self) -> int:
        return self._total(self.completions, "TotalCompleted")

    def cancelled(self) -> int:
        return self._total(self.cancellations, "TotalCancelled")

    def sold_by_drink(self) -> dict[str, int]:
        return self._by(self.sales, lambda r: r["dimensions"]["drink"])

    def cancelled_by_drink(self) -> dict[str, int]:
        return self._by(self.cancellations, lambda r: r["dimensions"]["drink"])

    def sold_by_day_and_drink(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.sales:
            if r["dimensions"]:
                cells = out.setdefault(r["bucket"], {})
                drink = r["dimensions"]["drink"]
                cells[drink] = cells.get(drink, 0) + r["value"]
        return out

    def daily(self, found: list[Row], total: str) -> dict[str, int]:
        """Per day: the total counter (all shops), or the shop's rows added up."""
        out: dict[str, int] = {}
        for r in found:
            counted = r["dimension"] == total if self.shop is None else bool(r["dimensions"])
            if counted:
                out[r["bucket"]] = out.get(r["bucket"], 0) + r["value"]
        return out

    # Durations: histograms added up, percentiles from the sum.
    def histograms(self, found: list[Row], key: Any) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for r in found:
            name = r["dimension"]
            if name in ("count", "sum_seconds") or name.startswith("seconds_"):
                figures = out.setdefault(key(r), {})
                figures[name] = add([figures.get(name, 0), r["value"]])
        return out

    def wait_cells(self, figures: dict[str, float]) -> list[str]:
        count = int(figures["count"])
        buckets = {k: int(v) for k, v in figures.items() if k.startswith("seconds_")}
        p50, p90 = quantile(0.5, buckets, self.bounds), quantile(0.9, buckets, self.bounds)
        assert p50 is not None and p90 is not None
        return [str(count), tenth(p50), tenth(p90), tenth(figures["sum_seconds"] / count)]

    def wait_by_day(self) -> dict[str, list[str]]:
        found = self.histograms(self.waits, lambda r: r["bucket"])
        return {d: self.wait_cells(f) for d, f in found.items()}

    def wait_by_hour(self) -> dict[str, list[str]]:
        found = self.histograms(self.hourly_waits, lambda r: r["bucket"][11:13])
        return {f"{h}:00": self.wait_cells(f) for h, f in found.items() if f["count"]}

    def median_wait(self) -> float | None:
        found = self.histograms(self.waits, lambda r: "all").get("all")
        if not found:
            return None
        return quantile(0.5, {k: int(v) for k, v in found.items()}, self.bounds)


def signed(text: str, delta: float) -> str:
    return f"{'+' if delta > 0 else MINUS if delta < 0 else '±'}{text}"


def trend(now: View, before: View) -> dict[str, dict[str, str]]:
    """The comparison cards: {card: {now, before, change, direction, verdict}}."""

    def card(n: float | None, b: float | None, shown: Any, unit: str, up_good: bool, rel: bool):
        assert n is not None and b is not None
        delta = float(shown(n - b))
        direction = "up" if delta > 0 else "down" if delta < 0 else "same"
        verdict = "same" if delta == 0 else "better" if (delta > 0) == up_good else "worse"
        text = signed(shown(abs(n - b)), delta) + unit
        if rel and b:
            text += f" ({signed(tenth(abs(100 * (n - b) / b)), delta)} %)"
        arrow = {"up": "▲", "down": "▼", "same": "="}[direction]
        return {"change": f"{arrow} {text}", "direction": direction, "verdict": verdict}

    rate_now = 100 * now.completed() / now.sold()
    rate_before = 100 * before.completed() / before.sold()
    wait_now, wait_before = now.median_wait(), before.median_wait()
    assert wait_now is not None and wait_before is not None
    return {
        "trend-sales": {
            "now": str(now.sold()),
            "before": f"before: {before.sold()}",
            **card(now.sold(), before.sold(), str, "", True, True),
        },
        "trend-completion": {
            "now": f"{tenth(rate_now)} %",
            "before": f"before: {tenth(rate_before)} %",
            **card(rate_now, rate_before, tenth, " pt", True, False),
        },
        "trend-wait": {
            "now": f"{tenth(wait_now)} s",
            "before": f"before: {tenth(wait_before)} s",
            **card(wait_now, wait_before, tenth, " s", False, True),
        },
    }
