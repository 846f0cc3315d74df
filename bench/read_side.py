"""The read side: a year of daily sales with 12 drinks, from SQLite, as the report and the API
read it."""

from __future__ import annotations

import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counting import CountedEvent, CounterKey
from presso_metrics.views import pivot, report_rows

DRINKS = [f"Drink {i}" for i in range(1, 13)]


def run(repeats: int = 20) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        stack = bootstrap.build(Settings(db=f"{tmp}/year.db"), provision=True)
        try:
            first = date(2025, 1, 1)
            events = []
            for d in range(365):
                day = (first + timedelta(days=d)).isoformat()
                for i, drink in enumerate(DRINKS):
                    events.append(
                        CountedEvent(
                            f"{day}-{i}",
                            {
                                CounterKey("Aggregate", day, drink): 10 + i,
                                CounterKey("Aggregate", day, "TotalSales"): 10 + i,
                            },
                        )
                    )
            stack.store.apply(events)
            last = first + timedelta(days=364)
            timings = []
            for _ in range(repeats):
                start = time.perf_counter()
                rows = report_rows(stack.store, stack.metrics, ["sales"], first, last)
                table = pivot(stack.metrics.get("sales"), rows)
                timings.append(time.perf_counter() - start)
        finally:
            stack.close()
    timings.sort()
    assert len(table.rows) == 365 and len(table.columns) == 13
    return {
        "rows": len(rows),
        "report_ms_365_days": round(1000 * timings[len(timings) // 2], 2),
        "report_ms_365_days_best": round(1000 * timings[0], 2),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
