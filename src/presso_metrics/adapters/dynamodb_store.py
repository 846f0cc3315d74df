"""The DynamoDB metrics table: exactly-once counting with ``TransactWriteItems``.

Events are grouped into chunks that fit one transaction (at most 100 actions, 4 MB, one action
per item). Each chunk is one transaction holding a conditional ``Put`` of each event's marker
(``attribute_not_exists(PK)``) and one ``Update ... ADD val :n`` per distinct counter with the
chunk's summed delta. A counter never moves without its markers and a marker never exists
without its counters, so a batch is safe to retry at any point.

If the transaction is cancelled because markers exist, those events are duplicates: they are
dropped, the sums recomputed and the rest retried. Conflicts, throttling and server errors are
retried with capped, jittered backoff; a chunk that still fails reports its events as failed.

The seed's items are kept exactly: ``PK = "Aggregate"``, ``SK = "<day>#TotalSales"`` and
``SK = "<day>#<drink>"``, number ``val``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from presso_metrics.domain.caps import DimensionCap, apply_caps
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent, sum_increments
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, marker_expiry
from presso_metrics.exceptions import StoreUnavailableError
from presso_metrics.ports import ApplyResult, Counter

log = logging.getLogger("presso_metrics.dynamodb_store")

MAX_ACTIONS = 100  # TransactWriteItems' limit
MAX_REQUEST_BYTES = 4_000_000  # 4 MB per transaction
MARKER_SK = "EVENT"
REGISTRY_PK = "DIMENSIONS"
META_PK = "META"  # the table's own facts (a rebuild's claim)
REBUILD_SK = "rebuild"
RETRYABLE_ERRORS = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
}
# Errors after which the transaction may or may not have been applied.
AMBIGUOUS_ERRORS = {"InternalServerError", "ServiceUnavailable"}
RETRYABLE_REASONS = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "InternalServerError",
}


@dataclass
class WriteStats:
    """What the store sent, to measure cost: write units are 2 per transactional item per KB."""

    requests: int = 0  # TransactWriteItems calls, failed ones included
    transactions: int = 0  # committed
    actions: int = 0  # actions in committed transactions
    markers: int = 0
    counter_updates: int = 0
    registry_updates: int = 0
    write_units: int = 0  # estimated WCU of committed transactions
    cancelled: int = 0
    retried: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _Chunk:
    events: list[CountedEvent]


def _wcu(size_bytes: int) -> int:
    """Write units of one transactional write: 2 per started KB."""
    return 2 * max(1, -(-size_bytes // 1024))


def marker_key(marker: str) -> dict[str, Any]:
    return {"PK": {"S": f"EVENT#{marker}"}, "SK": {"S": MARKER_SK}}


class DynamoDBMetricsStore:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        caps: Mapping[str, DimensionCap] | None = None,
        partitions: Iterable[str] = (),
        marker_ttl: timedelta = DEFAULT_DEDUP_HORIZON,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.table = table
        self.caps = dict(caps or {})
        self.partitions = list(partitions)
        self.marker_ttl = marker_ttl
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter
        self.stats = WriteStats()
        self._registry: dict[str, set[str]] | None = None

    # --- writing -------------------------------------------------------------------------

    def apply(self, events: Sequence[CountedEvent]) -> ApplyResult:
        result = ApplyResult()
        unique = list({e.marker: e for e in events}.values())
        # Events that touch the same counters go in the same transaction: each transaction
        # pays 2 write units per distinct counter it updates, so grouping them (sales of a
        # drink together, completions together) spends fewer counter updates per event.
        unique.sort(key=lambda e: sorted(e.increments))
        expires = marker_expiry(self.clock(), self.marker_ttl)
        for chunk in self._chunks(unique):
            self._apply_chunk(chunk, expires, result)
        return result

    def _chunks(self, events: list[CountedEvent]) -> list[list[CountedEvent]]:
        """Greedy: add events to a chunk while its markers, distinct counters and registry
        updates fit in one transaction."""
        chunks: list[list[CountedEvent]] = []
        current: list[CountedEvent] = []
        counters: set[CounterKey] = set()
        registering: set[str] = set()
        size = 0
        for event in events:
            keys = set(event.increments) - counters
            new_partitions = {
                k.partition for k in event.increments if self._needs_registration(k)
            } - registering
            event_size = 200 + len(event.marker) + sum(80 + len(k.sort_key) for k in keys)
            actions = (
                len(current) + 1 + len(counters) + len(keys) + len(registering | new_partitions)
            )
            if current and (actions > MAX_ACTIONS or size + event_size > MAX_REQUEST_BYTES):
                chunks.append(current)
                current, counters, registering, size = [], set(), set(), 0
                keys = set(event.increments)
                new_partitions = {k.partition for k in keys if self._needs_registration(k)}
            if 1 + len(keys) + len(new_partitions) > MAX_ACTIONS:
                raise ValueError(
                    f"event {event.marker} alone touches more than {MAX_ACTIONS} items"
                )
            current.append(event)
            counters |= keys
            registering |= new_partitions
            size += event_size
        if current:
            chunks.append(current)
        return chunks

    def _apply_chunk(self, events: list[CountedEvent], expires: int, result: ApplyResult) -> None:
        live = list(events)
        attempt = 0
        salt = 0  # changes after a definite failure, so a retry is a new request
        while live:
            sums = sum_increments(live)
            sums, registrations = self._capped(sums)
            items = [self._marker_put(e.marker, expires) for e in live]
            items += [self._counter_update(k, n) for k, n in sums.items()]
            items += [self._registry_update(p, values) for p, values in registrations.items()]
            self.stats.requests += 1
            try:
                self.client.transact_write_items(
                    TransactItems=items, ClientRequestToken=_token(items, salt)
                )
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code == "TransactionCanceledException":
                    self.stats.cancelled += 1
                    reasons = [
                        r.get("Code", "None") for r in e.response.get("CancellationReasons", [])
                    ]
                    duplicates = {
                        live[i].marker
                        for i, reason in enumerate(reasons[: len(live)])
                        if reason == "ConditionalCheckFailed"
                    }
                    registry_stale = "ConditionalCheckFailed" in reasons[len(live) + len(sums) :]
                    if duplicates or registry_stale:
                        result.duplicates |= duplicates
                        live = [ev for ev in live if ev.marker not in duplicates]
                        if registry_stale:
                            self._registry = None  # another writer registered values: reload
                            attempt += 1
                            if attempt >= self.max_attempts:
                                self._fail(live, "dimension registry kept changing", result)
                                return
                        continue  # not a failure: recompute and retry at once
                    if not any(r in RETRYABLE_REASONS for r in reasons):
                        self._fail(live, f"transaction cancelled: {reasons}", result)
                        return
                elif code not in RETRYABLE_ERRORS:
                    self._fail(
                        live, f"{code}: {e.response.get('Error', {}).get('Message', '')}", result
                    )
                    return
                why = code
                if code not in AMBIGUOUS_ERRORS:
                    salt += 1  # nothing was written: the retry must not be taken for a replay
            except BotoCoreError as e:  # connection errors, timeouts: the call may have committed
                why = type(e).__name__
            else:
                self._committed(live, sums, registrations, items)
                result.counted |= {ev.marker for ev in live}
                return
            attempt += 1
            if attempt >= self.max_attempts:
                self._fail(live, f"gave up after {attempt} attempts ({why})", result)
                return
            self.stats.retried += 1
            delay = self.jitter() * min(self.max_delay, self.base_delay * 2**attempt)
            log.info("transaction not applied (%s); retrying in %.3fs", why, delay)
            self.sleep(delay)

    def _fail(self, events: list[CountedEvent], why: str, result: ApplyResult) -> None:
        log.warning("%d events not stored: %s", len(events), why)
        for e in events:
            result.failed[e.marker] = why

    def _committed(
        self,
        events: list[CountedEvent],
        sums: Mapping[CounterKey, int],
        registrations: Mapping[str, list[str]],
        items: list[dict[str, Any]],
    ) -> None:
        s = self.stats
        s.transactions += 1
        s.actions += len(items)
        s.markers += len(events)
        s.counter_updates += len(sums)
        s.registry_updates += len(registrations)
        s.write_units += 2 * (len(events) + len(sums))  # marker and counter items are < 1 KB
        for partition, values in registrations.items():
            known = self._known(partition)
            known.update(values)
            s.write_units += _wcu(sum(len(v.encode()) + 3 for v in known) + 40)

    def _marker_put(self, marker: str, expires: int) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**marker_key(marker), "expires_at": {"N": str(expires)}},
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _counter_update(self, key: CounterKey, n: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"PK": {"S": key.partition}, "SK": {"S": key.sort_key}},
                "UpdateExpression": "ADD #val :n",
                "ExpressionAttributeNames": {"#val": "val"},
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            }
        }

    # --- the cap on distinct dimension values ---------------------------------------------

    def _known(self, partition: str) -> set[str]:
        if self._registry is None:
            self._registry = self._load_registry()
        return self._registry.setdefault(partition, set())

    def _needs_registration(self, key: CounterKey) -> bool:
        cap = self.caps.get(key.partition)
        if cap is None or key.dimension in cap.exempt:
            return False
        known = self._known(key.partition)
        return key.dimension not in known and len(known) < cap.max_values

    def _load_registry(self) -> dict[str, set[str]]:
        if not self.caps:
            return {}
        registry: dict[str, set[str]] = {}
        for item in self._query({"PK": REGISTRY_PK}, consistent=True):
            registry[item["SK"]["S"]] = set(item.get("vals", {}).get("SS", []))
        return registry

    def _capped(
        self, sums: dict[CounterKey, int]
    ) -> tuple[dict[CounterKey, int], dict[str, list[str]]]:
        """Apply the metrics' caps on distinct values; return the sums and the new values to
        register, per partition (registered in the same transaction)."""
        if not self.caps:
            return sums, {}

        def registry(partition: str, values: list[str]) -> tuple[set[str], int]:
            known = self._known(partition)
            return known.intersection(values), len(known)

        capped = apply_caps(sums, self.caps, registry)
        return capped.sums, capped.admitted

    def _registry_update(self, partition: str, values: list[str]) -> dict[str, Any]:
        room = self.caps[partition].max_values - len(values)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"PK": {"S": REGISTRY_PK}, "SK": {"S": partition}},
                "UpdateExpression": "ADD vals :new",
                # Fails if another writer has filled the registry meanwhile: reload, retry.
                "ConditionExpression": "attribute_not_exists(vals) OR size(vals) <= :room",
                "ExpressionAttributeValues": {
                    ":new": {"SS": values},
                    ":room": {"N": str(room)},
                },
            }
        }

    # --- reading --------------------------------------------------------------------------

    def _query(
        self,
        key: Mapping[str, str],
        *,
        between: tuple[str, str] | None = None,
        consistent: bool = False,
        **extra: Any,
    ) -> Iterable[dict[str, Any]]:
        condition = "PK = :pk"
        values: dict[str, Any] = {":pk": {"S": key["PK"]}}
        if between:
            condition += " AND SK BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = {"S": between[0]}, {"S": between[1]}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": consistent,
            **extra,
        }
        while True:
            page = self.client.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page or "Limit" in extra:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def read(self, partition: str, first_bucket: str, last_bucket: str) -> list[Counter]:
        return [
            Counter(CounterKey.parse(partition, item["SK"]["S"]), int(item["val"]["N"]))
            for item in self._query({"PK": partition}, between=(first_bucket, last_bucket + "~"))
        ]

    def bucket_span(self, partition: str) -> tuple[str, str] | None:
        first = list(self._query({"PK": partition}, Limit=1, ScanIndexForward=True))
        if not first:
            return None
        last = list(self._query({"PK": partition}, Limit=1, ScanIndexForward=False))
        return first[0]["SK"]["S"].partition("#")[0], last[0]["SK"]["S"].partition("#")[0]

    def is_empty(self) -> bool:
        return all(not list(self._query({"PK": p}, Limit=1)) for p in self.partitions)

    def claim_rebuild(self) -> bool:
        claim = {"PK": {"S": META_PK}, "SK": {"S": REBUILD_SK}}
        if list(self._query({"PK": META_PK}, between=(REBUILD_SK, REBUILD_SK), consistent=True)):
            return True
        if not self.is_empty():
            return False
        try:  # in a transaction: the consumer may write only inside transactions
            self.client.transact_write_items(
                TransactItems=[{"Put": {"TableName": self.table, "Item": claim}}]
            )
        except ClientError as e:
            raise StoreUnavailableError(f"could not record the rebuild claim: {e}") from e
        return True


def _token(items: list[dict[str, Any]], salt: int) -> str:
    """An idempotency token for this exact request: if a call commits but its response is lost
    (a timeout, a 500), the identical retry succeeds instead of finding its own markers."""
    text = f"{salt}:{items!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:36]
