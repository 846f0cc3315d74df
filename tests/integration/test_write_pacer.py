"""The load test's write limit: one pace shared by every consumer process, exact in count."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.loadtest.pacing import PacedConsumerStack, PacedStore, WritePacer
from tests.fakes import FakeStore


def _take_slots(
    pacer: WritePacer, n: int, slots: multiprocessing.Queue[tuple[float, float]]
) -> None:
    for _ in range(n):
        slot = pacer.wait()
        slots.put((slot, time.monotonic()))
        pacer.committed()


def test_two_processes_share_one_pace() -> None:
    limit, each = 40.0, 12
    pacer = WritePacer(limit)
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[tuple[float, float]] = context.Queue()
    workers = [context.Process(target=_take_slots, args=(pacer, each, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    taken = [queue.get(timeout=60) for _ in range(2 * each)]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert pacer.transactions == 2 * each
    # The slots of both processes are 1/limit apart on one clock, and nobody wrote early.
    slots = sorted(slot for slot, _ in taken)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 1 / limit - 1e-9
    assert all(started >= slot for slot, started in taken)


def test_no_limit_means_no_waiting() -> None:
    pacer = WritePacer(None)
    before = time.monotonic()
    slots = [pacer.wait() for _ in range(5)]
    assert slots == sorted(slots) and slots[-1] - before < 0.5


def test_the_paced_store_counts_the_writes_that_committed() -> None:
    store = FakeStore()
    pacer = WritePacer(None)
    paced = PacedStore(store, pacer)
    key = CounterKey("Aggregate", "2024-05-01", "TotalSales")
    event = CountedEvent("a", {key: 1})
    assert paced.apply([event]).counted == {"a"}
    assert paced.apply([event]).duplicates == {"a"}  # a transaction that changed nothing
    store.fail_next = 1
    assert paced.apply([CountedEvent("b", {key: 1})]).failed  # rolled back: not a write
    assert pacer.transactions == 2 and store.applies == 3
    assert paced.read("Aggregate", "2024-05-01", "2024-05-01")[0].value == 1


def test_the_consumer_stack_is_paced_and_says_it_is_ready(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "paced.db"))
    bootstrap.provision_stack(settings)
    pacer = WritePacer(1000)
    stack = PacedConsumerStack(settings, pacer)()
    try:
        assert pacer.consumers_ready == 1
        assert isinstance(stack.store, PacedStore) and stack.processor.store is stack.store
        key = CounterKey("Aggregate", "2024-05-01", "TotalSales")
        stack.processor.store.apply([CountedEvent("x", {key: 1})])
        assert pacer.transactions == 1
    finally:
        stack.close()
