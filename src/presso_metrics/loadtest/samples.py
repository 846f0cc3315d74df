"""The load test's samples and what they add up to: rates over a trailing window, the peaks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the burst started
    published: int  # cumulative events accepted by the bus
    visible: int  # messages waiting in the queue
    in_flight: int  # messages received by a consumer, not yet deleted
    counted: int  # cumulative burst events counted into the table
    transactions: int | None  # cumulative store write transactions (None: not visible from here)
    dead_lettered: int  # records dead-lettered since the start

    @property
    def depth(self) -> int:
        return self.visible + self.in_flight


@dataclass
class LoadTestResult:
    samples: list[Sample]
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        """Drained, and every order counted exactly once."""
        return bool(self.summary["drained"] and self.summary["counted_exactly_once"])

    def as_dict(self) -> dict[str, Any]:
        """What ``loadtest.json`` holds."""
        return {"samples": [asdict(s) for s in self.samples], "summary": self.summary}


def trailing_rates(samples: Sequence[Sample], name: str, window: float) -> list[float | None]:
    """Field ``name`` per second over the trailing ``window`` seconds, at each sample: its rise
    since the last sample at least ``window`` earlier, over the time between the two; before
    ``window`` seconds have passed, its rise since the start over ``window`` (nothing happened
    before the start). None where the field is unknown."""
    if window <= 0:
        raise ValueError("the rate window must be above 0 seconds")
    values = [getattr(s, name) for s in samples]
    rates: list[float | None] = []
    j = 0
    for i, s in enumerate(samples):
        if values[i] is None:
            rates.append(None)
            continue
        start = s.t - window + 1e-9  # times are rounded decimals: 1.2 - 1.0 is 0.19999...
        while j + 1 < i and samples[j + 1].t <= start:
            j += 1
        if samples[j].t <= start:
            rates.append((values[i] - values[j]) / (s.t - samples[j].t))
        else:
            rates.append((values[i] - values[0]) / window)
    return rates


def peaks(samples: Sequence[Sample], rate_window: float = 1.0) -> dict[str, Any]:
    """The highest rates (per second, over the trailing ``rate_window``) and depth."""

    def peak(name: str) -> float | None:
        rates = [r for r in trailing_rates(samples, name, rate_window) if r is not None]
        return round(max(rates), 1) if rates else None

    deepest = max(samples, key=lambda s: s.depth)
    last = samples[-1]
    return {
        "peak_arrival_rate": peak("published"),
        "peak_count_rate": peak("counted"),
        "peak_write_rate": peak("transactions"),
        "peak_depth": deepest.depth,
        "peak_depth_at": deepest.t,
        "transactions": last.transactions,
        "dead_lettered": last.dead_lettered,
        "duration": last.t,
        "rate_window": rate_window,
        "samples": len(samples),
    }
