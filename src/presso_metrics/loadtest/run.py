"""Running the load test: publish the burst, consume it, sample until the queue is drained.

"Counted" is exact: every burst event is dated the same second, so each one increments the same
total (``TotalSales`` of today, with the default metrics) once; its rise since the start is the
number of burst events counted. At the end every counter the burst touches is checked against
the burst's own tally (:func:`expected_counters`, the domain's counting): that is
``counted_exactly_once``. Both assume that nothing else counts events of the same day meanwhile
(true on a laptop; on a live shop's stack its own orders would add to the figures).

The local consumers are the worker (``entrypoints.worker.run``, passed in: the library does not
import entrypoints), in a thread of this process, which runs ``concurrency`` processes when it
is above 1. With ``--aws`` and no local consumers, the deployed Lambda function consumes; its
writes cannot be seen from here, so ``transactions`` is then None.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings, Stack
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent, count_event
from presso_metrics.domain.envelope import Rejection, parse_envelope
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.exceptions import ConfigError, QueueError
from presso_metrics.loadtest.pacing import PacedConsumerStack, WritePacer
from presso_metrics.loadtest.samples import LoadTestResult, Sample, peaks
from presso_metrics.ports import Bus, MetricsStore, PublishResult
from presso_metrics.publisher import publish_all
from presso_metrics.simulation import burst


class WorkerSettings(Protocol):
    """The consumers' settings (``entrypoints.worker.WorkerOptions``)."""

    @property
    def batch_size(self) -> int: ...

    @property
    def batching_window(self) -> float: ...

    @property
    def concurrency(self) -> int: ...


# How the consumers run: ``entrypoints.worker.run(build_stack, options, stop=...)``, the
# local equivalent of Lambda's SQS event source mapping.
ConsumerRunner = Callable[..., Any]


@dataclass(frozen=True)
class LoadTestOptions:
    """``worker`` (the local consumers' settings) is None when the deployed function consumes:
    then its event source mapping's BatchSize, MaximumBatchingWindowInSeconds and
    MaximumConcurrency apply, and ``write_limit`` cannot either."""

    orders: int = 500
    worker: WorkerSettings | None = None
    write_limit: float | None = None
    interval: float = 0.1
    timeout: float = 600.0
    seed: int | None = None
    rate_window: float = 1.0
    # Events per publish call; None: 10 on AWS (one PutEvents call each, so "published" follows
    # them), the whole burst embedded (one transaction, as the load-test function's one call).
    publish_chunk: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.orders <= 100_000:
            raise ValueError("orders must be from 1 to 100000")
        if not 0 < self.interval <= 10:
            raise ValueError("the sampling interval must be above 0 and at most 10 seconds")
        if self.timeout <= 0:
            raise ValueError("the timeout must be above 0 seconds")
        if self.write_limit is not None and self.write_limit <= 0:
            raise ValueError("the write limit is a number of transactions per second, above 0")
        if self.write_limit is not None and self.worker is None:
            raise ValueError(
                "the write limit paces local consumers; the deployed function's pace is its "
                "BatchSize and MaximumConcurrency"
            )

    @property
    def consumers(self) -> str:
        return "lambda" if self.worker is None else "local"


def expected_counters(
    events: Sequence[Mapping[str, Any]], metrics: MetricSet
) -> dict[CounterKey, int]:
    """What counting ``events`` once must add to each counter (the domain's own counting)."""
    now = datetime.now(UTC)
    total: dict[CounterKey, int] = {}
    for event in events:
        parsed = parse_envelope(orjson.dumps(event).decode(), now=now)
        counted = parsed if isinstance(parsed, Rejection) else count_event(parsed, metrics)
        if not isinstance(counted, CountedEvent):
            raise ConfigError(
                f"the metrics ({metrics.origin}) do not count the burst's "
                "OrderManager.WaitingCompletion events; the load test needs a metric that does"
            )
        for key, n in counted.increments.items():
            total[key] = total.get(key, 0) + n
    return total


def tally_key(expected: Mapping[CounterKey, int], metrics: MetricSet, events: int) -> CounterKey:
    """The total that every burst event increments once: it says how many were counted."""
    for metric in metrics:
        for key, n in expected.items():
            if key.partition == metric.partition and key.dimension == metric.total and n == events:
                return key
    raise ConfigError(
        f"no metric of {metrics.origin} has a total that every burst event increments; the "
        "load test reads such a total (TotalSales by default) to tell how many were counted"
    )


def read_counters(store: MetricsStore, keys: Sequence[CounterKey]) -> dict[CounterKey, int]:
    values = dict.fromkeys(keys, 0)
    for partition, bucket in sorted({(k.partition, k.bucket) for k in keys}):
        for counter in store.read(partition, bucket, bucket):
            if counter.key in values:
                values[counter.key] = counter.value
    return values


class _CountingBus:
    """The bus, counting what it accepted so far (read by the sampler)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.name = bus.name
        self.published = 0

    def publish(self, events: Sequence[Mapping[str, Any]]) -> PublishResult:
        result = self.bus.publish(events)
        self.published += result.published
        return result


@dataclass
class _Consumers:
    """The worker, in a thread of this process (its processes, with concurrency above 1)."""

    settings: Settings
    worker: WorkerSettings
    pacer: WritePacer
    run_consumers: ConsumerRunner
    stop: threading.Event = field(default_factory=threading.Event)
    stats: Any = None
    error: BaseException | None = None

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="loadtest-consumers", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        try:
            build = PacedConsumerStack(self.settings, self.pacer)
            self.stats = self.run_consumers(build, self.worker, stop=self.stop)
        except BaseException as e:  # reported by the load test
            self.error = e

    def wait_ready(self, thread: threading.Thread, timeout: float = 120.0) -> None:
        wanted = self.worker.concurrency
        deadline = time.monotonic() + timeout
        while self.pacer.consumers_ready < wanted:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the consumers did not start: {self.error!r}")
            time.sleep(0.02)


def run_load_test(
    settings: Settings,
    options: LoadTestOptions,
    *,
    run_consumers: ConsumerRunner | None = None,
    on_sample: Callable[[Sample], None] | None = None,
) -> LoadTestResult:
    """Publish the burst, consume it, sample until the queue is drained (or ``timeout``).

    Local consumers (``options.worker``) run through ``run_consumers`` (the worker's ``run``);
    without ``options.worker`` the deployed function consumes (``--aws`` only).
    """
    if options.worker is None and not settings.aws:
        raise ValueError(
            "the embedded stack has no deployed function: give the consumers' settings"
        )
    if options.worker is not None and run_consumers is None:
        raise ValueError("local consumers need run_consumers (entrypoints.worker.run)")
    if not settings.aws:
        bootstrap.provision_stack(settings)
    reader = bootstrap.build(settings)
    try:
        waiting = reader.queue.depth().total
        if waiting:
            raise QueueError(
                f"queue {reader.queue.name} holds {waiting} messages; drain it first "
                "(`presso-metrics worker --drain`) so the load test measures its own burst"
            )
        if options.worker is not None:
            bootstrap.start_consuming(settings)  # the replay policy; expired markers pruned
        events = burst(orders=options.orders, seed=options.seed, now=datetime.now(UTC))
        expected = expected_counters(events, reader.metrics)
        consumers = None
        if options.worker is not None and run_consumers is not None:
            consumers = _Consumers(
                settings, options.worker, WritePacer(options.write_limit), run_consumers
            )
        return _run(settings, options, reader, events, expected, consumers, on_sample)
    finally:
        reader.close()


def _run(
    settings: Settings,
    options: LoadTestOptions,
    reader: Stack,
    events: list[dict[str, Any]],
    expected: dict[CounterKey, int],
    consumers: _Consumers | None,
    on_sample: Callable[[Sample], None] | None,
) -> LoadTestResult:
    tally = tally_key(expected, reader.metrics, len(events))
    before = read_counters(reader.store, list(expected))
    dead_before = reader.dead_letters.depth().total
    consumer_thread = consumers.start() if consumers is not None else None
    publisher_stack = bootstrap.build(settings)
    bus = _CountingBus(publisher_stack.bus)
    published: list[PublishResult] = []

    def sample(t: float) -> Sample:
        depth = reader.queue.depth()
        counted = read_counters(reader.store, [tally])[tally] - before[tally]
        return Sample(
            t=round(t, 3),
            published=bus.published,
            visible=depth.visible,
            in_flight=depth.in_flight,
            counted=counted,
            transactions=consumers.pacer.transactions if consumers is not None else None,
            dead_lettered=reader.dead_letters.depth().total - dead_before,
        )

    chunk = options.publish_chunk or (10 if settings.aws else len(events))
    publishing_done = threading.Event()
    publish_error: list[BaseException] = []

    def publish() -> None:
        try:
            published.append(publish_all(bus, events, chunk))
        except BaseException as e:  # raised by the load test below
            publish_error.append(e)
        finally:
            publishing_done.set()

    publisher = threading.Thread(target=publish, name="loadtest-publisher", daemon=True)
    # SQS's counts are approximate and EventBridge delivers asynchronously: on AWS an empty
    # queue must stay empty a while before it counts as drained, unless all is accounted for.
    settle = 10.0 if settings.aws else 1.0
    published_at: float | None = None
    zero_since: float | None = None
    drained = False
    try:
        if consumers is not None and consumer_thread is not None:
            consumers.wait_ready(consumer_thread)
        t0 = time.monotonic()
        samples = [sample(0.0)]
        publisher.start()
        due = t0
        while True:
            due += options.interval
            wait = max(0.0, due - time.monotonic())
            if published_at is None:
                # A sample the moment the burst has landed, then one every interval.
                if publishing_done.wait(wait):
                    published_at = time.monotonic() - t0
                    due = time.monotonic()
            else:
                time.sleep(wait)
            now = time.monotonic()
            s = sample(now - t0)
            samples.append(s)
            if on_sample is not None:
                on_sample(s)
            if published_at is not None and s.depth == 0:
                zero_since = s.t if zero_since is None else zero_since
                if s.counted + s.dead_lettered >= bus.published or s.t - zero_since >= settle:
                    drained = True
                    break
            else:
                zero_since = None
            if publish_error or (consumers is not None and consumers.error is not None):
                break
            if now - t0 > options.timeout:
                break
            if due < now - options.interval:  # fell behind (a slow read): keep pace from now
                due = now
    finally:
        if consumers is not None:
            consumers.stop.set()
        if consumer_thread is not None:
            consumer_thread.join(timeout=60)
        if publisher.ident is not None:
            publisher.join(timeout=60)
        publisher_stack.close()
    if publish_error:
        raise publish_error[0]
    if consumers is not None and consumers.error is not None:
        raise RuntimeError(f"the consumers failed: {consumers.error}") from consumers.error
    after = read_counters(reader.store, list(expected))
    moved = {k: after[k] - before[k] for k in expected}
    result = published[0] if published else PublishResult(bus.published)
    mismatches = [
        {"counter": f"{k.partition} {k.sort_key}", "expected": n, "moved": moved[k]}
        for k, n in expected.items()
        if moved[k] != n
    ]
    worker = options.worker
    summary = peaks(samples, options.rate_window)
    summary.update(
        orders=len(events),
        published=result.published,
        not_published=len(result.failed),
        publish_seconds=None if published_at is None else round(published_at, 3),
        counted=moved[tally],
        counted_exactly_once=not mismatches and result.published == len(events),
        mismatches=mismatches[:10],
        drained=drained,
        time_to_drain=zero_since if drained else None,
        backend="aws" if settings.aws else "embedded",
        where=settings.names.queue if settings.aws else settings.db,
        consumers=options.consumers,
        batch_size=worker.batch_size if worker else None,
        batching_window=worker.batching_window if worker else None,
        concurrency=worker.concurrency if worker else None,
        write_limit=options.write_limit,
        sample_interval=options.interval,
        worker=consumers.stats.as_dict() if consumers and consumers.stats else None,
    )
    return LoadTestResult(samples, summary)
