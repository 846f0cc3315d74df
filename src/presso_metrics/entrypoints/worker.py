"""The worker: what Lambda's SQS event source mapping does, for the embedded queue or a real SQS
queue.

It receives up to ``batch_size`` messages (waiting up to ``batching_window`` seconds to fill a
batch), builds the exact Lambda SQS event, hands it to the same batch processor the Lambda
handler uses, deletes the messages that succeeded and leaves the reported failures to come back
after their visibility timeout. ``concurrency`` runs that many consumer processes.

Each batch has a deadline below its messages' visibility timeout (``VISIBILITY_SHARE`` of it,
from the first receive): what is not stored by then is left to come back, rather than being
processed while another consumer receives the same messages. On SIGTERM or SIGINT every
consumer finishes the batch in hand, deletes what succeeded, and stops.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue as queue_module
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

from presso_metrics.ports import Queue, ReceivedMessage
from presso_metrics.service import BatchCounter, BatchCounts, BatchOutcome

log = logging.getLogger("presso_metrics.worker")

VISIBILITY_SHARE = 0.8  # a batch's deadline: this share of the visibility timeout
DEFAULT_VISIBILITY_TIMEOUT = 30  # SQS's default, for a queue that does not say
STOP_TIMEOUT = 15 * 60  # how long stopping waits for a consumer's batch in hand


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 10
    batching_window: float = 0.0
    concurrency: int = 1
    visibility_timeout: int | None = None
    drain: bool = False
    poll_seconds: float = 1.0  # how long an idle receive waits (long polling)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError("batch size must be from 1 to 10000 (Lambda's limit for SQS)")
        if not 0 <= self.batching_window <= 300:
            raise ValueError("the batching window is from 0 to 300 seconds (Lambda's limit)")
        if not 1 <= self.concurrency <= 64:
            raise ValueError("concurrency must be from 1 to 64")


@dataclass
class WorkerStats(BatchCounts):
    """The figures of every batch the worker processed."""

    batches: int = 0

    def add(self, summary: Mapping[str, int]) -> None:
        self.batches += 1
        super().add(summary)

    def as_dict(self) -> dict[str, int]:
        return {"batches": self.batches, **self.summary()}


def lambda_record(message: ReceivedMessage, queue_arn: str, region: str) -> dict[str, Any]:
    """``message`` as a record of the Lambda SQS event (what the event source sends)."""
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(message.sent_timestamp_ms),
            "SenderId": "presso-metrics",
            "ApproximateFirstReceiveTimestamp": str(message.first_receive_timestamp_ms),
        },
        "messageAttributes": {
            name: {
                "stringValue": value,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
            for name, value in message.attributes.items()
        },
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def lambda_event(messages: Sequence[ReceivedMessage], queue: Queue) -> dict[str, Any]:
    """The Lambda SQS event for ``messages`` received from ``queue``."""
    return {"Records": [lambda_record(m, queue.arn, queue.region) for m in messages]}


def collect(queue: Queue, options: WorkerOptions) -> list[ReceivedMessage]:
    """One batch: what the event source mapping would hand to one invocation."""
    wait = options.poll_seconds if options.batching_window == 0 else 0.0
    messages = queue.receive(
        options.batch_size, wait_seconds=wait, visibility_timeout=options.visibility_timeout
    )
    if options.batching_window > 0:
        deadline = time.monotonic() + options.batching_window
        while len(messages) < options.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            messages += queue.receive(
                options.batch_size - len(messages),
                wait_seconds=min(left, 1.0),
                visibility_timeout=options.visibility_timeout,
            )
    return messages


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class _EitherFlag:
    def __init__(self, *flags: StopFlag) -> None:
        self.flags = flags

    def is_set(self) -> bool:
        return any(f.is_set() for f in self.flags)


def visibility_timeout_of(queue: Queue, options: WorkerOptions) -> int:
    """The visibility timeout the worker's receives get: the option, else the queue's."""
    if options.visibility_timeout is not None:
        return options.visibility_timeout
    own = getattr(queue, "visibility_timeout", None)
    return int(own) if isinstance(own, int) else DEFAULT_VISIBILITY_TIMEOUT


def batch_budget(queue: Queue, options: WorkerOptions) -> float:
    """The seconds a batch has from its first receive (``VISIBILITY_SHARE`` of the visibility
    timeout); a visibility timeout or batching window that leaves none is refused."""
    timeout = visibility_timeout_of(queue, options)
    if timeout < 1:
        raise ValueError(
            f"a visibility timeout of {timeout} s leaves no time to process a batch: its "
            "messages would be visible to another consumer at once; give at least 1 s (SQS's "
            f"default is {DEFAULT_VISIBILITY_TIMEOUT})"
        )
    budget = VISIBILITY_SHARE * timeout
    if options.batching_window >= budget:
        raise ValueError(
            f"a batching window of {options.batching_window:g} s leaves no time to process a "
            f"batch before its messages' visibility timeout ({timeout} s) ends; use a window "
            f"under {budget:g} s or a longer visibility timeout"
        )
    return budget


def consume(
    queue: Queue,
    processor: BatchCounter,
    options: WorkerOptions,
    *,
    stop: StopFlag | None = None,
    on_batch: Callable[[BatchOutcome], None] | None = None,
) -> WorkerStats:
    """Poll ``queue`` until ``stop`` is set (or, with ``drain``, until it is empty)."""
    stats = WorkerStats()
    stop = stop if stop is not None else threading.Event()
    budget = batch_budget(queue, options)
    empty_checks = 0
    while not stop.is_set():
        received_at = time.monotonic()
        messages = collect(queue, options)
        if not messages:
            if options.drain:
                # Nothing visible: done when nothing is in flight either (another worker's
                # messages, or failures waiting out their visibility timeout).
                empty_checks = empty_checks + 1 if queue.depth().total == 0 else 0
                if empty_checks >= 2:
                    break
                if empty_checks == 0:
                    time.sleep(min(options.poll_seconds, 0.2))
            continue
        empty_checks = 0
        outcome = processor.process(lambda_event(messages, queue), deadline=received_at + budget)
        failed = set(outcome.item_failures)
        done = [m.receipt_handle for m in messages if m.message_id not in failed]
        if done:
            queue.delete(done)
        summary = outcome.summary()
        stats.add(summary)
        log.info("batch processed", extra={"batch": summary, "queue": queue.name})
        if on_batch is not None:
            on_batch(outcome)
    return stats


def run(
    build_stack: Callable[[], Any],
    options: WorkerOptions,
    *,
    on_batch: Callable[[dict[str, int]], None] | None = None,
    stop: threading.Event | None = None,
) -> WorkerStats:
    """Run ``options.concurrency`` consumers. ``build_stack`` (picklable when concurrency > 1)
    returns a bootstrap Stack; each consumer process builds its own."""
    stop = stop or threading.Event()
    if options.concurrency == 1:
        stack = build_stack()
        try:
            return consume(
                stack.queue,
                stack.processor,
                options,
                stop=stop,
                on_batch=(lambda o: on_batch(o.summary())) if on_batch else None,
            )
        finally:
            stack.close()
    context = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[tuple[str, dict[str, int]]] = context.Queue()
    stop_flag = context.Event()
    workers = [
        context.Process(target=_child, args=(build_stack, options, reports, stop_flag), daemon=True)
        for _ in range(options.concurrency)
    ]
    # A child inherits a blocked SIGTERM and unblocks it once its handler is in place: a
    # SIGTERM to the process group while it starts waits for it instead of killing it.
    with _sigterm_blocked():
        for w in workers:
            w.start()
    stats = WorkerStats()
    finished = 0
    try:
        while finished < len(workers):
            if stop.is_set():
                stop_flag.set()
            try:
                kind, summary = reports.get(timeout=0.2)
            except queue_module.Empty:
                if not any(w.is_alive() for w in workers):
                    break
                continue
            if kind == "batch":
                stats.add(summary)
                if on_batch:
                    on_batch(summary)
            else:
                finished += 1
    finally:
        stop_flag.set()
        for w in workers:  # each finishes its batch in hand, bounded by its deadline
            w.join(timeout=STOP_TIMEOUT)
    crashed = [w.exitcode for w in workers if w.exitcode not in (0, None)]
    if crashed:
        raise RuntimeError(f"{len(crashed)} worker process(es) failed (exit codes {crashed})")
    return stats


@contextlib.contextmanager
def _sigterm_blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _child(
    build_stack: Callable[[], Any],
    options: WorkerOptions,
    reports: Any,
    stop_flag: Any,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    # SIGTERM to the whole process group (systemd, a container's init, kill -- -PGID): finish
    # the batch in hand, as the parent asks the others to.
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: terminated.set())
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # see run()
    # Only poll the flag: a process that exits while blocked in Event.wait() leaves the
    # event's condition waiting for it, and the parent's set() would then hang.
    stack = build_stack()
    try:
        consume(
            stack.queue,
            stack.processor,
            options,
            stop=_EitherFlag(stop_flag, terminated),
            on_batch=lambda o: reports.put(("batch", o.summary())),
        )
    finally:
        stack.close()
        reports.put(("done", {}))


def stop_on_signals(stop: threading.Event) -> None:
    """Finish the batch in hand, then stop, on SIGINT or SIGTERM."""

    def handler(signum: int, frame: FrameType | None) -> None:
        log.warning("signal %d: stopping after the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
