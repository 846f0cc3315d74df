"""Writing chunks of events with ``TransactWriteItems``: retries, duplicates, a deadline, and the
isolation of an event DynamoDB refuses.

- Cancelled because markers exist: those events are duplicates; they are dropped, the sums
  recomputed and the rest retried at once.
- Conflicts, throttling and server errors: retried with capped, jittered backoff. After an
  answer that leaves the outcome unknown (a lost response, a 500, a transaction still in
  progress) the retry is the identical request with the same ``ClientRequestToken``, so
  DynamoDB completes or confirms the first one instead of running a second.
- Refused as invalid (``ValidationException``, or a cancellation with a ``ValidationError``
  reason: a key or an item too large): the chunk is split in halves until the offending event
  is alone; it is rejected with DynamoDB's message and the others are written as usual.
- A deadline: no attempt is started (by this loop or by botocore) that might not end before
  it; the events not written by then are reported failed, to be delivered again.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from presso_metrics.adapters.aws import DeadlineReachedError, calls_bounded_by
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.domain.envelope import Rejection
from presso_metrics.exceptions import StoreUnavailableError
from presso_metrics.ports import ApplyResult

log = logging.getLogger("presso_metrics.dynamodb_store")

RETRYABLE_ERRORS = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
}
# Errors after which the transaction may or may not have been applied (or may still be being
# applied): the retry must be the same request, with the same token.
AMBIGUOUS_ERRORS = {"InternalServerError", "ServiceUnavailable", "TransactionInProgressException"}
RETRYABLE_REASONS = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "InternalServerError",
}
MAX_TRANSACTION_ACTIONS = 100  # TransactWriteItems' limit
REFUSED_ERROR = "ValidationException"  # the request is invalid: retrying cannot help
REFUSED_REASON = "ValidationError"  # the same, for one item of a cancelled transaction
STORE_REFUSED = "store_refused"  # the rejection reason of an event DynamoDB refuses


@dataclass
class WriteStats:
    """What the store sent, to measure cost: write units are 2 per transactional item per KB."""

    requests: int = 0  # TransactWriteItems calls, failed ones included
    transactions: int = 0  # committed
    actions: int = 0  # actions in committed transactions
    markers: int = 0
    orders: int = 0  # order items written
    counter_updates: int = 0
    registry_updates: int = 0
    write_units: int = 0  # estimated WCU of committed transactions
    cancelled: int = 0
    retried: int = 0
    refused: int = 0  # transactions DynamoDB refused as invalid
    isolated: int = 0  # events it refused, found by splitting their chunk

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Transaction:
    """One attempt's request: the markers come first (of ``marker_ids``), then the orders (of
    ``orders``), the counters, and the registry. What it decides is applied to the result only
    when it commits: ``counted``, ``duplicates`` known before writing (an order already holding
    an event), ``previous`` fingerprints and ``rejected`` events."""

    items: list[dict[str, Any]]
    markers: int
    counters: int
    registrations: Mapping[str, list[str]] = field(default_factory=dict)  # partition: values
    marker_ids: Sequence[str] = ()
    orders: Sequence[str] = ()
    counted: frozenset[str] = frozenset()
    duplicates: frozenset[str] = frozenset()
    previous: Mapping[str, str] = field(default_factory=dict)
    rejected: Mapping[str, Rejection] = field(default_factory=dict)
    order_units: int = 0  # write units of the order items (2 per started KB)


class TransactionPlan(Protocol):
    """What to write for a set of events; told when it committed."""

    def transaction(self, events: Sequence[CountedEvent]) -> Transaction: ...

    def committed(self, transaction: Transaction) -> None: ...

    def registry_changed(self) -> None: ...

    def orders_changed(self, orders: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class _TooMany:
    """The events' writes do not fit one transaction (an order's changes touch more counters
    than estimated): written in halves instead."""

    events: list[CountedEvent]


@dataclass(frozen=True)
class _Refused:
    events: list[CountedEvent]
    message: str


class _Stop:
    """The deadline was reached: nothing more is attempted."""


_STOP = _Stop()


class TransactionRunner:
    def __init__(
        self,
        client: Any,
        stats: WriteStats,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.stats = stats
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter
        self.monotonic = monotonic

    def run(
        self,
        chunks: Sequence[list[CountedEvent]],
        plan: TransactionPlan,
        result: ApplyResult,
        deadline: float | None = None,
    ) -> None:
        """Write each chunk in transactions, recording each event's outcome in ``result``."""
        pending = deque(chunks)
        with calls_bounded_by(deadline):
            while pending:
                chunk = pending.popleft()
                try:
                    outcome = self._write(chunk, plan, result, deadline)
                # Reading the registry or the orders' state failed.
                except (ClientError, BotoCoreError, StoreUnavailableError) as e:
                    outcome = _STOP
                    self._fail(chunk, f"{type(e).__name__}: {e}", result)
                if isinstance(outcome, _Stop):
                    for rest in pending:
                        self._fail(rest, "not written: an earlier transaction stopped", result)
                    return
                if isinstance(outcome, _Refused):
                    self._isolate(outcome, pending, result)
                if isinstance(outcome, _TooMany):
                    if len(outcome.events) == 1:
                        self._fail(outcome.events, "its writes exceed one transaction", result)
                    else:
                        half = len(outcome.events) // 2
                        pending.appendleft(outcome.events[half:])
                        pending.appendleft(outcome.events[:half])

    def _isolate(
        self, refused: _Refused, pending: deque[list[CountedEvent]], result: ApplyResult
    ) -> None:
        events = refused.events
        if len(events) == 1:
            self.stats.isolated += 1
            marker = events[0].marker
            log.warning("event %s refused by DynamoDB: %s", marker, refused.message)
            result.rejected[marker] = Rejection(
                STORE_REFUSED, f"DynamoDB refused the event's writes: {refused.message}"
            )
            return
        half = len(events) // 2
        pending.appendleft(events[half:])
        pending.appendleft(events[:half])

    def _past(self, deadline: float | None) -> bool:
        return deadline is not None and self.monotonic() >= deadline

    def _write(
        self,
        events: list[CountedEvent],
        plan: TransactionPlan,
        result: ApplyResult,
        deadline: float | None,
    ) -> _Refused | _TooMany | _Stop | None:
        live = list(events)
        attempt = 0
        salt = 0  # changes after a definite failure, so a retry is a new request
        while live:
            if self._past(deadline):
                self._fail(live, "the deadline was reached before it was written", result)
                return _STOP
            try:
                tx = plan.transaction(live)  # may read the registry of dimension values
            except DeadlineReachedError as e:
                self._fail(live, str(e), result)
                return _STOP
            if len(tx.items) > MAX_TRANSACTION_ACTIONS:
                return _TooMany(live)
            if not tx.items:  # nothing to write: every event a duplicate or refused
                self._settled(tx, result)
                return None
            self.stats.requests += 1
            try:
                self.client.transact_write_items(
                    TransactItems=tx.items, ClientRequestToken=_token(tx.items, salt)
                )
            except DeadlineReachedError as e:
                # Nothing sent by this attempt; an earlier one may have committed, and then
                # the redelivery finds its markers.
                self._fail(live, str(e), result)
                return _STOP
            except ClientError as e:
                error = e.response.get("Error", {})
                code, message = error.get("Code", ""), error.get("Message", "")
                if code == "TransactionCanceledException":
                    self.stats.cancelled += 1
                    reasons = e.response.get("CancellationReasons", [])
                    codes = [r.get("Code", "None") for r in reasons]
                    failed_check = [c == "ConditionalCheckFailed" for c in codes]
                    duplicates = {
                        marker
                        for marker, dup in zip(
                            tx.marker_ids, failed_check[: tx.markers], strict=False
                        )
                        if dup
                    }
                    for marker, reason in zip(tx.marker_ids, reasons[: tx.markers], strict=False):
                        first = reason.get("Item", {}).get("fp", {}).get("S")
                        if marker in duplicates and first:
                            result.previous[marker] = first
                    after_orders = tx.markers + len(tx.orders)
                    stale = [
                        order
                        for order, changed in zip(
                            tx.orders, failed_check[tx.markers :], strict=False
                        )
                        if changed
                    ]
                    registry_stale = any(failed_check[after_orders + tx.counters :])
                    if duplicates or stale or registry_stale:
                        result.duplicates |= duplicates
                        live = [ev for ev in live if ev.marker not in duplicates]
                        if stale:
                            plan.orders_changed(stale)  # another writer updated them: re-read
                        if registry_stale:
                            plan.registry_changed()  # another writer registered values
                        if stale or registry_stale:
                            attempt += 1
                            if attempt >= self.max_attempts:
                                self._fail(live, "orders or the registry kept changing", result)
                                return None
                        continue  # not a failure: recompute and retry at once
                    invalid = [
                        r.get("Message") or REFUSED_REASON
                        for r in reasons
                        if r.get("Code") == REFUSED_REASON
                    ]
                    if invalid:
                        self.stats.refused += 1
                        return _Refused(live, invalid[0])
                    if not any(r in RETRYABLE_REASONS for r in codes):
                        self._fail(live, f"transaction cancelled: {codes}", result)
                        return None
                elif code == REFUSED_ERROR:
                    self.stats.refused += 1
                    return _Refused(live, f"{code}: {message}")
                elif code not in RETRYABLE_ERRORS:
                    self._fail(live, f"{code}: {message}", result)
                    return None
                why = code
                if code not in AMBIGUOUS_ERRORS:
                    salt += 1  # nothing was written: the retry must not be taken for a replay
            except BotoCoreError as e:  # connection errors, timeouts: the call may have committed
                why = type(e).__name__
            else:
                self._committed(tx, plan)
                self._settled(tx, result)
                return None
            attempt += 1
            if attempt >= self.max_attempts:
                self._fail(live, f"gave up after {attempt} attempts ({why})", result)
                return None
            self.stats.retried += 1
            delay = self.jitter() * min(self.max_delay, self.base_delay * 2**attempt)
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - self.monotonic()))
            log.info("transaction not applied (%s); retrying in %.3fs", why, delay)
            self.sleep(delay)
        return None

    def _committed(self, tx: Transaction, plan: TransactionPlan) -> None:
        s = self.stats
        s.transactions += 1
        s.actions += len(tx.items)
        s.markers += tx.markers
        s.orders += len(tx.orders)
        s.counter_updates += tx.counters
        s.registry_updates += len(tx.registrations)
        # Marker and counter items are under 1 KB: 2 units each; an order's by its size.
        s.write_units += 2 * (tx.markers + tx.counters) + tx.order_units
        plan.committed(tx)

    def _settled(self, tx: Transaction, result: ApplyResult) -> None:
        """What the transaction decided, now that it is written (or had nothing to write)."""
        result.counted |= tx.counted
        result.duplicates |= tx.duplicates
        result.previous.update(tx.previous)
        result.rejected.update(tx.rejected)

    def _fail(self, events: Sequence[CountedEvent], why: str, result: ApplyResult) -> None:
        if not events:
            return
        log.warning("%d events not stored: %s", len(events), why)
        for e in events:
            result.failed[e.marker] = why


def _token(items: list[dict[str, Any]], salt: int) -> str:
    """An idempotency token for this exact request: if a call commits but its response is lost
    (a timeout, a 500), the identical retry succeeds instead of finding its own markers."""
    text = f"{salt}:{items!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:36]
