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


def expected_counts(events: Iterable[dict[str, Any]]) -> Counter[Key]:
    """Counts of the default metrics (UTC) over the distinct events (by id) of ``events``."""
    distinct = {e["id"]: e for e in events}
    want: Counter[Key] = Counter()
    for e in distinct.values():
        day, hour = e["time"][:10], e["time"][:13]
        kind, detail = e["detail-type"], e["detail"]
        if e.get("source") != "awsserverlessda.serverlesspresso":
            continue
        if kind == "OrderManager.WaitingCompletion":
            drink = (detail.get("drinkOrder") or {}).get("drink")
            if not drink:
                continue  # broken: dead-lettered, not counted
            want["sales", day, drink] += 1
            want["sales", day, "TotalSales"] += 1
            want["hourly_sales", hour, "HourlyTotal"] += 1
            for m in (detail.get("drinkOrder") or {}).get("modifiers", []):
                want["modifiers", day, m] += 1
        elif kind.startswith("OrderManager.Order") and kind.upper().endswith("COMPLETED"):
            want["completions", day, "TotalCompleted"] += 1
        elif kind.startswith("OrderManager.Order") and kind.upper().endswith("CANCELLED"):
            order = detail.get("order") or {}
            drink = (detail.get("drinkOrder") or order.get("drinkOrder") or {}).get("drink")
            want["cancellations", day, drink or "unknown"] += 1
            want["cancellations", day, "TotalCancelled"] += 1
    return want


def report_counts(rows: Iterable[dict[str, Any]]) -> Counter[Key]:
    """The same shape from ``report --format json`` rows."""
    return Counter({(r["metric"], r["bucket"], r["dimension"]): r["value"] for r in rows})
