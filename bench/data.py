"""The benchmarks' data: a realistic Serverlesspresso stream with 10 % duplicate deliveries."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from presso_metrics.simulation import simulate_days

START = date(2026, 3, 2)


@functools.cache
def realistic_stream(deliveries: int, seed: int = 1) -> list[dict[str, Any]]:
    """At least ``deliveries`` deliveries of a realistic day, 10 % of them repeats."""
    # An order makes about 2.06 events (its WaitingCompletion, then its outcome).
    orders = int(deliveries * 0.9 / 2.06) + 1
    stream = simulate_days(orders=orders, duplicates=0.1, seed=seed, start=START).events
    while len(stream) < deliveries:
        orders += max(1, (deliveries - len(stream)) // 2)
        stream = simulate_days(orders=orders, duplicates=0.1, seed=seed, start=START).events
    return stream
