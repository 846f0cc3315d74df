"""Count a batch: parse, reject, aggregate, apply, report failures.

:class:`BatchCounter` takes a Lambda SQS event and returns the partial batch response. The
Lambda handler and the local worker both call it, so they behave identically.

- A record that cannot be used is *rejected*: sent to the dead-letter queue with its reason and
  acknowledged. Rejection is permanent; retrying would not help.
- A record whose event could not be stored (throttling, conflicts, the network) *failed*: it is
  reported in ``batchItemFailures`` and SQS delivers it again later.
- Several records carrying the same event are counted once; they succeed or fail together.
- An event the store refuses for good (DynamoDB finds a key or an item too large) is rejected
  like a record that cannot be parsed; the other events of the batch are counted at once.
- A deadline (a ``time.monotonic()`` value, below the Lambda timeout or the visibility
  timeout): what is not stored or dead-lettered by then is reported in ``batchItemFailures``,
  and ``process`` returns.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from presso_metrics.dead_letters import dead_letter
from presso_metrics.domain.counting import (
    SKIP_REPLAYS,
    CountedEvent,
    ReplayPolicy,
    Skipped,
    count_event,
    differing_fields,
)
from presso_metrics.domain.envelope import (
    DEFAULT_MAX_RECORD_BYTES,
    Rejection,
    parse_envelope,
)
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.exceptions import ConfigError
from presso_metrics.ports import ApplyResult, MetricsStore, Queue
from presso_metrics.sqs_records import body_of, message_id_of

log = logging.getLogger("presso_metrics.service")


def _count(cloudwatch: str) -> Any:
    return field(default=0, metadata={"cloudwatch": cloudwatch})


@dataclass
class BatchCounts:
    """The figures of one batch or many: the worker prints them, the Lambda function logs them
    and publishes each as a CloudWatch metric (the name in its metadata)."""

    received: int = _count("RecordsReceived")
    counted: int = _count("EventsCounted")  # distinct events newly counted
    # records whose event was already counted (or repeated in the batch)
    duplicates: int = _count("DuplicatesDropped")
    rejected: int = _count("RecordsRejected")
    replays_skipped: int = _count("ReplaysSkipped")
    unmatched: int = _count("RecordsUnmatched")
    failed: int = _count("RecordsFailed")

    def summary(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(BatchCounts)}

    def add(self, summary: Mapping[str, int]) -> None:
        for f in fields(BatchCounts):
            setattr(self, f.name, getattr(self, f.name) + summary.get(f.name, 0))


CLOUDWATCH_NAMES = {f.name: f.metadata["cloudwatch"] for f in fields(BatchCounts)}


@dataclass
class BatchOutcome(BatchCounts):
    """What happened to a batch; ``item_failures`` are the SQS message ids to retry."""

    item_failures: list[str] = field(default_factory=list)
    rejections: list[tuple[str, Rejection]] = field(default_factory=list)

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.item_failures]}


@dataclass(frozen=True)
class Limits:
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _unbounded(deadline: float | None) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


# Bounds the network calls made inside it (the AWS adapters' ``calls_bounded_by``).
DeadlineScope = Callable[[float | None], AbstractContextManager[None]]


class BatchCounter:
    def __init__(
        self,
        metrics: MetricSet,
        store: MetricsStore,
        dead_letters: Queue | None,
        *,
        replay: ReplayPolicy = SKIP_REPLAYS,
        limits: Limits = Limits(),
        clock: Callable[[], datetime] = _utcnow,
        deadline_scope: DeadlineScope = _unbounded,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.dead_letters = dead_letters
        self.replay = replay
        self.limits = limits
        self.clock = clock
        self.deadline_scope = deadline_scope
        self.monotonic = monotonic

    def process(self, event: Mapping[str, Any], deadline: float | None = None) -> BatchOutcome:
        """Process a Lambda SQS event; never raises for bad records or a failing store.

        ``deadline`` (a ``time.monotonic()`` value): nothing is written after it, and what was
        not stored or dead-lettered by then is reported for redelivery."""
        with self.deadline_scope(deadline):
            return self._process(event, deadline)

    def _process(self, event: Mapping[str, Any], deadline: float | None) -> BatchOutcome:
        records = event.get("Records") if isinstance(event, Mapping) else None
        out = BatchOutcome()
        if not isinstance(records, list):
            log.error("not a Lambda SQS event: no Records array")
            return out
        out.received = len(records)
        now = self.clock()
        events: dict[str, CountedEvent] = {}
        carriers: dict[str, list[str]] = {}  # marker -> message ids of the records carrying it
        by_id: dict[str, Mapping[str, Any]] = {}
        rejected: list[tuple[Mapping[str, Any], Rejection]] = []
        for index, record in enumerate(records):
            message_id = message_id_of(record, index)
            by_id[message_id] = record
            try:
                result = self._count(record, now)
            except Exception:  # a bug, not the record's fault: let SQS deliver it again
                log.exception("unexpected error on record %s; it will be retried", message_id)
                out.failed += 1
                out.item_failures.append(message_id)
                continue
            if isinstance(result, CountedEvent):
                if result.marker not in carriers:
                    events[result.marker] = result
                    carriers[result.marker] = []
                else:
                    _warn_if_reused(result.marker, events[result.marker].fingerprint, result)
                carriers[result.marker].append(message_id)
            elif isinstance(result, Skipped):
                if result.reason == "replay":
                    out.replays_skipped += 1
                else:
                    out.unmatched += 1
            else:
                rejected.append((record, result))
                out.rejections.append((message_id, result))
        refused = self._apply(events, carriers, out, deadline)
        for marker, why in refused.items():
            for message_id in carriers[marker]:
                rejected.append((by_id[message_id], why))
                out.rejections.append((message_id, why))
        self._dead_letter(rejected, out, now, deadline)
        return out

    def _count(
        self, record: Mapping[str, Any], now: datetime
    ) -> CountedEvent | Rejection | Skipped:
        if type(record) is not dict and not isinstance(record, Mapping):
            return Rejection("not_a_record", "the SQS record is not an object")
        body = body_of(record)
        bounds = self.metrics.event_time
        parsed = parse_envelope(
            body,
            now=now,
            max_bytes=self.limits.max_record_bytes,
            max_future=bounds.max_ahead,
            earliest=bounds.earliest,
        )
        if isinstance(parsed, Rejection):
            return parsed
        return count_event(parsed, self.metrics, self.replay)

    def _apply(
        self,
        events: dict[str, CountedEvent],
        carriers: dict[str, list[str]],
        out: BatchOutcome,
        deadline: float | None,
    ) -> dict[str, Rejection]:
        """Apply the batch's events; returns those the store refused for good."""
        if not events:
            return {}
        try:
            if deadline is None:  # stores written before the deadline existed still work
                result = self.store.apply(list(events.values()))
            else:
                result = self.store.apply(list(events.values()), deadline=deadline)
        except Exception as e:  # never crash the consumer: everything comes back later
            log.exception("the store failed; %d events will be retried", len(events))
            failed = {m: f"{type(e).__name__}: {e}" for m in events}
            result = ApplyResult()
        else:
            failed = result.failed
            out.counted += len(result.counted)
            # Every record beyond the first carrying a counted event is a duplicate; every
            # record carrying an event counted before is one.
            out.duplicates += sum(len(carriers[m]) - 1 for m in result.counted)
            out.duplicates += sum(len(carriers[m]) for m in result.duplicates)
            for marker, first in result.previous.items():
                _warn_if_reused(marker, first, events[marker])
        for marker, why in failed.items():
            ids = carriers[marker]
            out.failed += len(ids)
            out.item_failures.extend(ids)
            log.warning("event %s not stored (%s); will be retried", marker, why)
        return result.rejected

    def _dead_letter(
        self,
        rejected: list[tuple[Mapping[str, Any], Rejection]],
        out: BatchOutcome,
        now: datetime,
        deadline: float | None,
    ) -> None:
        if not rejected:
            return
        for record, why in rejected:
            log.warning(
                "rejected record %s: %s (%s)",
                message_id_of(record, -1),
                why.reason,
                why.message,
                extra={"reason": why.reason, "field": why.field, "metric": why.metric},
            )
        if self.dead_letters is None:
            log.error(
                "no dead-letter queue configured: %d rejected records are left to the "
                "queue's redrive policy",
                len(rejected),
            )
            out.failed += len(rejected)
            out.item_failures.extend(message_id_of(r, -1) for r, _ in rejected)
            return
        letters = [dead_letter(record, why, now) for record, why in rejected]
        try:
            if deadline is not None and self.monotonic() >= deadline:
                errors = ["the deadline was reached before it was dead-lettered"] * len(letters)
            else:
                errors = self.dead_letters.send(letters)
        except Exception as e:
            log.exception("could not reach the dead-letter queue")
            errors = [f"{type(e).__name__}: {e}"] * len(letters)
        for (record, _), error in zip(rejected, errors, strict=True):
            if error:
                # Not dead-lettered: keep it on the queue rather than lose it.
                out.failed += 1
                out.item_failures.append(message_id_of(record, -1))
                log.error("could not dead-letter %s: %s", message_id_of(record, -1), error)
            else:
                out.rejected += 1


def _warn_if_reused(marker: str, first: str, again: CountedEvent) -> None:
    """Two events with one id and different content: the first one counted stands (an id is
    the event's identity); a producer that reuses ids is worth knowing about."""
    if not first or not again.fingerprint or first == again.fingerprint:
        return
    log.warning(
        "event id %s arrived again with different content (%s differ); the event first counted "
        "under this id stands and this one is not counted: EventBridge ids are unique, so a "
        "producer is reusing ids",
        marker,
        ", ".join(differing_fields(first, again.fingerprint)),
        extra={"event_id": marker, "fields": differing_fields(first, again.fingerprint)},
    )


def check_replay_policy(policy: ReplayPolicy, metrics: MetricSet, store: MetricsStore) -> None:
    """Refuse a replay policy that cannot be honoured, before anything is counted with it: a
    backfill of a metric that does not exist, or a rebuild into a table that holds counts (its
    markers may have expired, so replayed events could count twice). A rebuild claims the table
    when it starts on an empty one; later workers and Lambda containers resume that claim."""
    unknown = set(policy.metrics) - set(metrics.names())
    if unknown:
        raise ConfigError(
            f"backfill: unknown metric(s) {', '.join(sorted(unknown))}; "
            f"the metrics are {', '.join(metrics.names())}"
        )
    followed = sorted(m.name for m in metrics.correlated if m.name in policy.metrics)
    if followed:
        raise ConfigError(
            f"backfill: {', '.join(followed)} follow orders across events, whose state belongs "
            "to the original events; such metrics are rebuilt (--replays rebuild into a new "
            "database or table), not backfilled"
        )
    if policy.mode == "rebuild" and not store.claim_rebuild():
        raise ConfigError(
            "a rebuild counts replayed events from scratch and needs an empty table; this one "
            "has counters. Use a new database (--db) or table, or backfill named metrics instead"
        )
