"""Expected counts computed independently of the product: plain reading of the generated or
recorded events, written out by hand (no patterns, no counting code from presso_metrics)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

Key = tuple[str, str, str]  # metric, bucket, dimension

# The recorded Serverlesspresso trace (tests/events/), counted by hand: sales on 2022-10-14.
RECORDED_DRINKS = {
    "Americano": 7,
    "Espresso": 7,
    "Caffe Latte": 6,
    "Flat White": 4,
    "Bens Brew": 3,
    "James Soda": 2,
}
RECORDED_SALES = {"TotalSales": 29, **RECORDED_DRINKS}

# tests/events/sqs-batch.json: three records of two events, two broken records.
SAMPLE_BATCH_SUMMARY = {
    "received": 5,
    "counted": 2,
    "duplicates": 1,
    "rejected": 2,
    "replays_skipped": 0,
    "unmatched": 0,
    "failed": 0,
}


Dims = tuple[tuple[str, str], ...]
Key2 = tuple[str, str, str, Dims]  # metric, bucket, dimension, dimensions
WAIT_BOUNDS = (15, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600)
SOURCE = "awsserverlessda.serverlesspresso"


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _wait_bucket(seconds: float) -> str:
    low = 0
    for bound in WAIT_BOUNDS:
        if seconds <= bound:
            return f"seconds_{low}_{bound}"
        low = bound
    return f"seconds_{low}_inf"


def _drink(detail: dict[str, Any]) -> str | None:
    order = detail.get("order") or {}
    drink = (detail.get("drinkOrder") or order.get("drinkOrder") or {}).get("drink")
    return drink or None


def expected_counts(events: Iterable[dict[str, Any]]) -> Counter[Key2]:
    """Figures of the default metrics (UTC) over the distinct events (by id) of ``events``,
    as in-order processing gives them: a cancellation counts under its order's drink (its own,
    else its order's WaitingCompletion's, else "unknown"); a completion's wait is the seconds since
    its order's earliest WaitingCompletion, counted on the completion's day."""
    distinct = {e["id"]: e for e in events}
    want: Counter[Key2] = Counter()
    none: Dims = ()
    orders: dict[str, list[dict[str, Any]]] = {}
    for e in distinct.values():
        if e.get("source") != SOURCE:
            continue
        day, hour = e["time"][:10], e["time"][:13]
        kind, detail = e["detail-type"], e["detail"]
        shop = detail.get("eventId") or "unknown"
        if detail.get("orderId"):
            orders.setdefault(detail["orderId"], []).append(e)
        if kind == "OrderManager.WaitingCompletion":
            drink = _drink(detail)
            if not drink:
                continue  # broken: dead-lettered, not counted
            want["sales", day, drink, (("drink", drink),)] += 1
            want["sales", day, "TotalSales", none] += 1
            want["sales_by_shop", day, f"{shop} / {drink}", (("shop", shop), ("drink", drink))] += 1
            want["sales_by_shop", day, "TotalSales", none] += 1
            want["hourly_sales", hour, "HourlyTotal", none] += 1
            for m in set((detail.get("drinkOrder") or {}).get("modifiers", [])):
                want["modifiers", day, m, (("modifier", m),)] += 1
        elif kind.startswith("OrderManager.Order") and kind.upper().endswith("COMPLETED"):
            want["completions", day, "TotalCompleted", none] += 1
            want["completions_by_shop", day, shop, (("shop", shop),)] += 1
    for e in distinct.values():
        kind, detail, day, hour = e["detail-type"], e["detail"], e["time"][:10], e["time"][:13]
        if e.get("source") != SOURCE or not kind.startswith("OrderManager.Order"):
            continue
        shop = detail.get("eventId") or "unknown"
        order = sorted(
            orders.get(detail.get("orderId") or "", []), key=lambda x: (x["time"], x["id"])
        )
        starts = [x for x in order if x["detail-type"] == "OrderManager.WaitingCompletion"]
        if kind.upper().endswith("CANCELLED"):
            drink = _drink(detail) or next((d for x in starts if (d := _drink(x["detail"]))), None)
            drink = drink or "unknown"
            want["cancellations", day, drink, (("drink", drink),)] += 1
            want["cancellations", day, "TotalCancelled", none] += 1
            dims = (("shop", shop), ("drink", drink))
            want["cancellations_by_shop", day, f"{shop} / {drink}", dims] += 1
        elif kind.upper().endswith("COMPLETED") and starts:
            wait = max(0.0, _seconds(e["time"]) - _seconds(starts[0]["time"]))
            for metric, bucket, dims in (
                ("wait_time", day, none),
                ("wait_time_by_shop", day, (("shop", shop),)),
                ("hourly_wait_time", hour, (("shop", shop),)),
            ):
                want[metric, bucket, "count", dims] += 1
                want[metric, bucket, "sum_seconds", dims] += wait  # type: ignore[assignment]
                want[metric, bucket, _wait_bucket(wait), dims] += 1
    return +want


def report_counts(rows: Iterable[dict[str, Any]]) -> Counter[Key2]:
    """The same shape from ``report --format json`` rows: the exact figures (estimated
    percentiles and empty histogram buckets left out)."""
    return +Counter(
        {
            (r["metric"], r["bucket"], r["dimension"], tuple(r["dimensions"].items())): r["value"]
            for r in rows
            if not r["dimension"].startswith("p") or not r["dimension"].endswith("_seconds")
        }
    )
