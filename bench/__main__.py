# ruff: noqa: E501 - the report below is a Markdown template whose table rows cannot wrap.
"""`make bench`: run every benchmark in one process, write bench/results.json and RESULTS.md.

python -m bench            all of it (about 5 minutes)
python -m bench --quick    smaller data, for a smoke run
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import dynamodb_cost, footprint, pipeline, read_side
from bench.data import realistic_stream

HERE = Path(__file__).parent
# On-demand prices, us-east-1, as published in 2025 (DynamoDB after its November 2024 cut).
PRICES = {
    "dynamodb_per_million_write_units": 0.625,
    "sqs_per_million_requests": 0.40,
    "lambda_arm64_per_gb_second": 0.0000133334,
    "lambda_per_million_requests": 0.20,
}


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "fsync_us": round(fsync_latency_us(), 1),
    }


def fsync_latency_us(rounds: int = 200) -> float:
    """What one durable commit costs on this disk: the seed pays it once per event."""
    with tempfile.NamedTemporaryFile(dir=HERE) as f:
        start = time.perf_counter()
        for _ in range(rounds):
            f.write(b"x" * 4096)
            f.flush()
            os.fsync(f.fileno())
        return (time.perf_counter() - start) / rounds * 1e6


def profile_drain(deliveries: int) -> str:
    """A sampling profile of the worker draining the queue (the hot path)."""
    from pyinstrument import Profiler

    from presso_metrics import bootstrap
    from presso_metrics.bootstrap import Settings
    from presso_metrics.entrypoints.worker import WorkerOptions, consume

    events = realistic_stream(deliveries)
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        stack = bootstrap.build(Settings(db=f"{tmp}/profile.db"), provision=True)
        for i in range(0, len(events), 1000):
            stack.bus.publish(events[i : i + 1000])
        profiler = Profiler(interval=0.001)
        profiler.start()
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=pipeline.BATCH, drain=True, poll_seconds=0.01),
        )
        profiler.stop()
        stack.close()
    return profiler.output_text(unicode=False, color=False)


def costs(ddb: dict[str, Any], events_per_order: float) -> dict[str, Any]:
    """What a million orders cost, from the write units the store sent (DynamoDB) and from the
    requests the pipeline makes (SQS, Lambda at batch 100)."""
    out: dict[str, Any] = {"events_per_order": round(events_per_order, 3), "prices": PRICES}
    events = 1_000_000 * events_per_order
    for batch, wcu in ddb["wcu_per_event"].items():
        out[f"dynamodb_usd_batch_{batch}"] = round(
            events * wcu * PRICES["dynamodb_per_million_write_units"] / 1e6, 2
        )
    # SQS: EventBridge's SendMessage per event, then receive and delete in batches of 10.
    sqs_requests = events * (1 + 2 / 10)
    out["sqs_usd"] = round(sqs_requests * PRICES["sqs_per_million_requests"] / 1e6, 2)
    invocations = events / 100
    gb_seconds = invocations * 0.5 * 0.25  # ~0.5 s per batch of 100 at 256 MB (estimate)
    out["lambda_usd_batch_100"] = round(
        gb_seconds * PRICES["lambda_arm64_per_gb_second"]
        + invocations * PRICES["lambda_per_million_requests"] / 1e6,
        2,
    )
    out["seed_dynamodb_usd"] = round(
        1_000_000 * ddb["seed_wcu_per_event"] * PRICES["dynamodb_per_million_write_units"] / 1e6, 2
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    args = parser.parse_args()
    deliveries = 10_000 if args.quick else 100_000
    results: dict[str, Any] = {"machine": machine()}
    print("embedded pipeline ...", flush=True)
    results["pipeline"] = pipeline.run(deliveries)
    print("DynamoDB write cost on the emulator ...", flush=True)
    if args.quick:
        dynamodb_cost.DELIVERIES = {1: 50, 10: 100, 100: 300, 1000: 1000}
    results["dynamodb"] = dynamodb_cost.run()
    print("read side ...", flush=True)
    results["read_side"] = read_side.run()
    print("footprint ...", flush=True)
    results["footprint"] = footprint.run()
    gc.unfreeze()
    print("profile ...", flush=True)
    profile = profile_drain(deliveries // 5)
    (HERE / "profile.txt").write_text(profile)
    orders = 10_000
    from presso_metrics.simulation import simulate_days

    per_order = len(simulate_days(orders=orders, seed=1).events) / orders
    results["cost_per_million_orders"] = costs(results["dynamodb"], per_order)
    results["summary"] = summary(results)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "RESULTS.md").write_text(report(results))
    print(json.dumps(results["summary"], indent=2))


def summary(r: dict[str, Any]) -> dict[str, Any]:
    p, d = r["pipeline"], r["dynamodb"]
    return {
        "pipeline_events_per_s": p["pipeline_events_per_s"],
        "seed_strategy_events_per_s": p["seed_strategy_events_per_s"],
        "sqlite_ceiling_events_per_s": p["sqlite_ceiling_events_per_s"],
        "pipeline_over_seed": p["pipeline_over_seed"],
        "pipeline_over_ceiling": p["pipeline_over_ceiling"],
        "pipeline_concurrent_events_per_s": p["pipeline_concurrent_events_per_s"],
        "wcu_per_event": d["wcu_per_event"],
        "ddb_requests_per_1000_events": d["ddb_requests_per_1000_events"],
        "seed_wcu_per_event": d["seed_wcu_per_event"],
        "sales_only_wcu_per_event_batch_100": d["sales_only_batch_100"]["wcu_per_event"],
        "report_ms_365_days": r["read_side"]["report_ms_365_days"],
        "worker_peak_rss_mb": r["footprint"]["worker_peak_rss_mb"],
        "lambda_package_zip_mb": r["footprint"]["lambda_package_zip_mb"],
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(r: dict[str, Any]) -> str:
    m, p, d = r["machine"], r["pipeline"], r["dynamodb"]
    c, f = r["cost_per_million_orders"], r["footprint"]
    rows = "\n".join(
        f"| {x['batch_size']} | {x['deliveries']} | {x['events_counted']} | {x['transactions']} | "
        f"{x['requests']} | {x['counter_updates']} | {x['write_units']} | **{x['wcu_per_event']}** | "
        f"**{x['ddb_requests_per_1000_events']}** |"
        for x in d["by_batch_size"]
    )
    sales = d["sales_only_batch_100"]
    return f"""# Benchmark results

Written by `make bench` (`python -m bench`) on {m["date"]}. Every comparison below was measured
in the same run on the same data, so the machine's noise cancels in the ratios; absolute numbers
move from run to run on this shared machine.

**Machine**: {m["cpu"]}, {m["cores"]} cores, {m["memory_gib"]} GiB, {m["platform"]};
Python {m["python"]}, SQLite {m["sqlite"]}. An fsync of a 4 KB append takes **{m["fsync_us"]} µs**
here (the seed's strategy pays one per event; on a disk that really flushes, a durable commit
often takes a millisecond or more, which widens every ratio against the seed accordingly).

## Embedded pipeline ({p["events"]:,} deliveries: a realistic day, 10 % duplicates)

| figure | events/s | what it is |
|---|---:|---|
| `pipeline_events_per_s` | **{p["pipeline_events_per_s"]:,}** | publish on the embedded bus, route to the queue, drain with the worker (batches of {pipeline.BATCH}), counters committed; one process, durable (WAL, `synchronous=FULL`) |
| `pipeline_concurrent_events_per_s` | {p["pipeline_concurrent_events_per_s"]:,} | the same, as deployed: the shop publishes while two worker processes drain |
| `seed_strategy_events_per_s` | {p["seed_strategy_events_per_s"]:,} | the same pipeline with the seed's consumer strategy: one transaction per event with two counter updates, no markers, same durability |
| `seed_consumer_only_events_per_s` | {p["seed_consumer_only_events_per_s"]:,} | the seed's counter writes alone on parsed events (no bus, no queue) |
| `sqlite_ceiling_events_per_s` | {p["sqlite_ceiling_events_per_s"]:,} | the durable work the pipeline cannot avoid, as plain SQL in large transactions: the same bodies enqueued, their markers inserted, the messages deleted, on the product's schema |

| target | measured | |
|---|---:|---|
| pipeline ≥ 5 × seed strategy | {p["pipeline_over_seed"]} × ({p["pipeline_concurrent_over_seed"]} × concurrent) | {verdict(p["pipeline_over_seed"] >= 5)} |
| pipeline ≥ 0.5 × SQLite ceiling | {p["pipeline_over_ceiling"]} ({p["pipeline_concurrent_over_ceiling"]} concurrent) | {verdict(p["pipeline_over_ceiling"] >= 0.5)} |

What bounds it (see `bench/profile.txt`, a sampling profile of the drain):
- The seed's cost is one fsync per event, and an fsync is cheap on this VM ({m["fsync_us"]} µs):
  the ratio against the seed grows with fsync latency (on a disk where a durable commit costs
  1 ms the seed runs at most ~1,000 events/s while the pipeline, committing once per batch,
  barely changes).
- The ceiling leaves out work SQS semantics require: each received message is rewritten to hide
  it (visibility timeout, receive count, receipt handle), which costs about as much SQL again
  as enqueuing it. And every event is parsed from JSON (orjson, chosen on measurement: 3.0 µs
  against the standard library's 5.8 µs per body), validated as an envelope, routed to its
  metrics (one cached lookup per event), aggregated, and handed over as a Lambda SQS event.
  The profile splits the drain roughly into a third SQL and two thirds Python per event.

## DynamoDB write cost (the store's own accounting, on moto's server)

A transactional write costs 2 write units per item up to 1 KB. Consecutive Lambda batches of a
realistic stream (10 % duplicates) through the batch processor the Lambda handler uses:

| batch | deliveries | events counted | transactions | requests | counter updates | write units | `wcu_per_event` | `ddb_requests_per_1000_events` |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

The seed's consumer: **`seed_wcu_per_event` = {d["seed_wcu_per_event"]}** and
{d["seed_ddb_requests_per_1000_events"]} requests per 1,000 events, for one metric, and it counts
every redelivery again.

| target (batch 100) | measured | |
|---|---:|---|
| ≤ 2.3 write units per event | {d["wcu_per_event"]["100"]} (five default metrics); {sales["wcu_per_event"]} (the seed's metric alone) | {verdict(d["wcu_per_event"]["100"] <= 2.3)} with all five metrics, {verdict(sales["wcu_per_event"] <= 2.3)} for the seed's metric |
| ≤ 15 requests per 1,000 events | {d["ddb_requests_per_1000_events"]["100"]}; {sales["ddb_requests_per_1000_events"]} (the seed's metric alone) | {verdict(d["ddb_requests_per_1000_events"]["100"] <= 15)} |

What bounds it: the cost is 2 per event (its marker) plus 2 per distinct counter per
transaction. The five default metrics touch about {round(d["by_batch_size"][2]["counter_updates_per_event"] * 100)} distinct counters per 100 events
(sales by drink, each modifier, the hour, completions, cancellations): hence
{d["wcu_per_event"]["100"]} at batch 100; the seed's metric alone touches about
{round(sales["counter_updates_per_event"] * 100)} and meets the target. Events are grouped by the counters they touch before being
packed into transactions, which keeps counter updates near one per counter per transaction.
Requests: a transaction holds at most 100 actions, so a batch of 100 events, each with its own
marker, always needs two transactions (20 per 1,000 events at least), and a duplicate delivered
in an earlier batch costs one cancelled attempt before the retry. Larger batches (the template's
default is 100 with a 5-second window; a batching window lets Lambda reach 10,000) bring both
figures down: {d["wcu_per_event"]["1000"]} write units and {d["ddb_requests_per_1000_events"]["1000"]} requests per 1,000 events at batch 1,000.

## What a million orders cost (on-demand, us-east-1)

A Serverlesspresso order makes {c["events_per_order"]} counted events (its WaitingCompletion and
its completion or cancellation).

| | cost |
|---|---:|
| DynamoDB writes, batch 10 / 100 / 1,000 (measured write units × ${PRICES["dynamodb_per_million_write_units"]} per million) | ${c["dynamodb_usd_batch_10"]} / ${c["dynamodb_usd_batch_100"]} / ${c["dynamodb_usd_batch_1000"]} |
| SQS (one send per event from EventBridge, receive and delete in tens; ${PRICES["sqs_per_million_requests"]} per million requests) | ${c["sqs_usd"]} |
| Lambda, arm64 256 MB, batch 100 (estimate: 0.5 s per batch) | ${c["lambda_usd_batch_100"]} |
| the seed's DynamoDB writes for its one metric | ${c["seed_dynamodb_usd"]} |

EventBridge's own charge is the core stack's (it publishes these events anyway); rules and
delivery to targets are free. Markers expire through TTL, which deletes for free.

## Read side and footprint

| figure | value | what it is |
|---|---:|---|
| `report_ms_365_days` | {r["read_side"]["report_ms_365_days"]} ms | a year of daily sales with 12 drinks ({r["read_side"]["rows"]} counters) read from SQLite and pivoted (median of 20) |
| `worker_peak_rss_mb` | {f["worker_peak_rss_mb"]} MB | peak resident memory of `presso-metrics worker --drain` over {f["worker_deliveries"]:,} deliveries in batches of {f["worker_batch_size"]} |
| Lambda package | {f["lambda_package_mb"]} MB ({f["lambda_package_zip_mb"]} MB zipped) | the consumer's package for arm64 as `sam build` makes it, without boto3 (the runtime's) |
"""


if __name__ == "__main__":
    main()
