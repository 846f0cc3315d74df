"""A store that writes at most N transactions a second, shared by every consumer process.

The load test uses it to model a table with provisioned write capacity (or a slow disk), so the
queue's buffering shows on a laptop too. :class:`WritePacer` hands out write slots ``1/N``
seconds apart from one shared clock (``time.monotonic``, system-wide), so the limit holds
exactly across the worker's processes: in any interval of ``L`` seconds at most ``L*N + 1``
writes start. It also counts the writes that committed, for the load test's samples.

:class:`PacedStore` wraps any :class:`~presso_metrics.ports.MetricsStore`: ``apply`` waits for
a slot, then writes; reads pass straight through. One ``apply`` call is one write transaction on
SQLite; on DynamoDB it is one ``TransactWriteItems`` per chunk of 100 actions (one for the
batch sizes the load test uses), and the pacer counts calls.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings, Stack
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.ports import ApplyResult, Counter, MetricsStore
from presso_metrics.service import BatchCounter


class WritePacer:
    """Write slots ``1/limit`` seconds apart (no limit: no waiting), and shared counts of the
    writes that committed and of the consumers that are ready. Picklable to the worker's
    processes when they are started (``spawn``)."""

    def __init__(self, limit: float | None = None, *, sleep: Callable[[float], None] = time.sleep):
        if limit is not None and limit <= 0:
            raise ValueError("the write limit is a number of transactions per second, above 0")
        context = multiprocessing.get_context("spawn")
        self.limit = limit
        self.interval = 1.0 / limit if limit else 0.0
        self.sleep = sleep
        self._next_slot = context.Value("d", 0.0)
        self._committed = context.Value("q", 0)
        self._ready = context.Value("i", 0)

    def wait(self) -> float:
        """Wait for the next write slot; returns its time (``time.monotonic``)."""
        if not self.interval:
            return time.monotonic()
        with self._next_slot.get_lock():
            now = time.monotonic()
            slot = max(now, float(self._next_slot.value))
            self._next_slot.value = slot + self.interval
        if slot > now:
            self.sleep(slot - now)
        return slot

    def committed(self) -> None:
        with self._committed.get_lock():
            self._committed.value += 1

    @property
    def transactions(self) -> int:
        """Write transactions committed so far, by every process."""
        return int(self._committed.value)

    def consumer_ready(self) -> None:
        with self._ready.get_lock():
            self._ready.value += 1

    @property
    def consumers_ready(self) -> int:
        return int(self._ready.value)


class PacedStore:
    """``store`` with its writes paced by ``pacer``; reads are not paced."""

    def __init__(self, store: MetricsStore, pacer: WritePacer) -> None:
        self.store = store
        self.pacer = pacer

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        self.pacer.wait()
        result = self.store.apply(events, deadline=deadline)
        if len(result.failed) < len(events):  # something committed (counted or duplicates)
            self.pacer.committed()
        return result

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        return self.store.read(partition, first_bucket, last_bucket)

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        return self.store.bucket_span(partition)

    def is_empty(self) -> bool:
        return self.store.is_empty()

    def claim_rebuild(self) -> bool:
        return self.store.claim_rebuild()


@dataclass(frozen=True)
class PacedConsumerStack:
    """What each consumer process builds (``worker.run``'s ``build_stack``): the stack of
    ``settings`` with its store paced by ``pacer``. Tells the pacer when it is ready."""

    settings: Settings
    pacer: WritePacer

    def __call__(self) -> Stack:
        stack = bootstrap.build(self.settings)
        store = PacedStore(stack.store, self.pacer)
        processor = BatchCounter(
            stack.metrics,
            store,
            stack.dead_letters,
            replay=self.settings.replay,
            limits=self.settings.limits,
        )
        self.pacer.consumer_ready()
        paced: Stack = replace(stack, store=store, processor=processor)
        return paced
