"""Durations as histograms: an exact count and sum, and a count per bucket of seconds.

A duration metric keeps, per time bucket and dimension values, one item whose attributes are
``count``, ``sum_ms`` (the exact sum in milliseconds) and one ``seconds_<low>_<high>`` per bucket
of its bounds (``seconds_0_30``, ``seconds_30_60``, ..., ``seconds_3600_inf``), each event adding
1 to the bucket its duration falls in (``low < seconds <= high``; 0 falls in the first).

Percentiles are estimated from the buckets the way Prometheus' ``histogram_quantile`` does: find
the bucket holding the rank, and interpolate linearly inside it, which assumes durations are
spread evenly within a bucket. The error is at most the bucket's width; in the open last bucket
the estimate is its lower bound (a floor: the true value is at least that).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

COUNT = "count"
SUM_MS = "sum_ms"
QUANTILES = (("p50_seconds", 0.5), ("p90_seconds", 0.9), ("p99_seconds", 0.99))


def bucket_names(bounds: Sequence[int]) -> list[str]:
    """The name of each bucket, in order: ``seconds_0_30`` ... ``seconds_3600_inf``."""
    lows = [0, *bounds]
    highs = [*(str(b) for b in bounds), "inf"]
    return [f"seconds_{low}_{high}" for low, high in zip(lows, highs, strict=True)]


def bucket_of(ms: int, bounds: Sequence[int]) -> str:
    """The bucket a duration of ``ms`` milliseconds falls in."""
    i = bisect.bisect_left([b * 1000 for b in bounds], ms)
    low = 0 if i == 0 else bounds[i - 1]
    high = str(bounds[i]) if i < len(bounds) else "inf"
    return f"seconds_{low}_{high}"


def quantile(q: float, counts: Mapping[str, int], bounds: Sequence[int]) -> float | None:
    """The estimated ``q`` quantile in seconds, from the bucket counts (None when empty)."""
    names = bucket_names(bounds)
    ns = [max(counts.get(name, 0), 0) for name in names]
    total = sum(ns)
    if total == 0:
        return None
    rank = q * total
    below = 0
    lows = [0, *bounds]
    for i, n in enumerate(ns):
        if n and below + n >= rank:
            if i == len(bounds):  # the open last bucket: its lower bound
                return float(lows[i])
            low, high = lows[i], bounds[i]
            return round(low + (high - low) * (rank - below) / n, 1)
        below += n
    return float(lows[-1])
