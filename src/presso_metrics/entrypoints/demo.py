"""``presso-metrics demo``: the whole pipeline on the embedded default, start to finish."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from rich.text import Text

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.dead_letters import list_dead_letters
from presso_metrics.entrypoints.terminal import err, out, print_report, progress_bar, shown
from presso_metrics.entrypoints.worker import WorkerOptions, run
from presso_metrics.publisher import publish_all
from presso_metrics.simulation import SOURCE, simulate_days
from presso_metrics.views import report_rows


def broken_event(day: date) -> dict[str, Any]:
    """An order event from a client that forgot the drink: the demo's dead letter."""
    return {
        "id": f"demo-broken-{day.isoformat()}",
        "source": SOURCE,
        "detail-type": "OrderManager.WaitingCompletion",
        "time": f"{day.isoformat()}T09:30:00Z",
        "detail": {"orderId": "no-drink", "drinkOrder": {"modifiers": ["Oat"]}},
    }


def run_demo(settings: Settings, *, orders: int, days: int, seed: int, shops: int = 4) -> None:
    say = err.print
    described = bootstrap.provision_stack(settings)
    stack = bootstrap.build(settings)
    try:
        say(
            f"[bold]embedded stack[/] in {described['database']}: bus {settings.names.bus} -> "
            f"rule {settings.names.rule} -> queue {settings.names.queue} "
            f"(dead letters: {settings.names.dead_letter_queue}) -> worker -> counters"
        )
        simulation = simulate_days(
            orders=orders,
            days=days,
            duplicates=0.05,
            seed=seed,
            zone=stack.metrics.time_zone,
            shops=shops,
        )
        first_day = simulation.start
        events = [*simulation.events, broken_event(first_day)]
        say(
            f"simulated {orders} orders at {shops} shop(s) over {days} day(s) from {first_day}: "
            f"{len(events)} deliveries, {simulation.duplicates} of them duplicates, 1 broken"
        )
        with progress_bar(f"publishing to {stack.bus.name}", len(events)) as advance:
            published = publish_all(stack.bus, events, 500, advance)
        depth = stack.queue.depth().total
    finally:
        stack.close()
    build = functools.partial(bootstrap.build, settings)
    options = WorkerOptions(batch_size=100, drain=True, poll_seconds=0.2)
    with progress_bar(f"draining {settings.names.queue}", depth) as advance:
        stats = run(build, options, on_batch=lambda s: advance(s["received"] - s["failed"]))
    say(
        f"published {published.published} events; the worker counted {stats.counted} events, "
        f"dropped {stats.duplicates} duplicate deliveries, dead-lettered {stats.rejected}"
    )
    stack = bootstrap.build(settings, readonly=True)
    try:
        last_day = first_day + timedelta(days=days - 1)
        rows = report_rows(stack.store, stack.metrics, None, first_day, last_day)
        letters = list_dead_letters(stack.dead_letters)
    finally:
        stack.close()
    out.print()
    print_report(stack.metrics, rows, "table", stack.metrics.names())
    if letters:
        out.print(f"dead-letter queue: {len(letters)} message(s); the latest:")
        latest = letters[-1]
        out.print(Text.assemble("  ", shown(latest.reason), ": ", shown(latest.message)))
        out.print("  (see them all with `presso-metrics dlq list`)")
    out.print(
        "next: `presso-metrics serve` for the dashboard, `presso-metrics report --format json`, "
        "`presso-metrics --help`"
    )
