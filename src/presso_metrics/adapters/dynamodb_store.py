"""The DynamoDB metrics table: exactly-once counting with ``TransactWriteItems``, and its reads.

Events are grouped into chunks that fit one transaction (:mod:`.dynamodb_chunks`). Each chunk is
one transaction holding a conditional ``Put`` of each event's marker
(``attribute_not_exists(PK)``) and one ``Update ... ADD val :n`` per distinct counter with the
chunk's summed delta. A counter never moves without its markers and a marker never exists
without its counters, so a batch is safe to retry at any point. Retries, duplicates, the
deadline and the isolation of an event DynamoDB refuses are :mod:`.dynamodb_transactions`'.

The seed's items are kept exactly: ``PK = "Aggregate"``, ``SK = "<day>#TotalSales"`` and
``SK = "<day>#<drink>"``, number ``val``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from presso_metrics.adapters.aws import DeadlineReachedError, calls_bounded_by
from presso_metrics.adapters.dynamodb_chunks import MAX_ACTIONS, MAX_REQUEST_BYTES, in_transactions
from presso_metrics.adapters.dynamodb_orders import State, item_bytes, order_put, read_orders
from presso_metrics.adapters.dynamodb_transactions import (
    Transaction,
    TransactionRunner,
    WriteStats,
)
from presso_metrics.domain.caps import DimensionCap, apply_caps
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent, sum_increments
from presso_metrics.domain.dedup import DEFAULT_DEDUP_HORIZON, marker_expiry
from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.lifecycle import decode_state, merge, order_too_large
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.exceptions import StoreUnavailableError
from presso_metrics.ports import ApplyResult, Counter

__all__ = ["MAX_ACTIONS", "MAX_REQUEST_BYTES", "DynamoDBMetricsStore", "WriteStats", "marker_key"]

log = logging.getLogger("presso_metrics.dynamodb_store")

MARKER_SK = "EVENT"
_NOT_COUNTERS = {"PK", "SK", "expires_at"}
REGISTRY_PK = "DIMENSIONS"
META_PK = "META"  # the table's own facts (a rebuild's claim)
REBUILD_SK = "rebuild"


def _wcu(size_bytes: int) -> int:
    """Write units of one transactional write: 2 per started KB."""
    return 2 * max(1, -(-size_bytes // 1024))


def marker_key(marker: str) -> dict[str, Any]:
    return {"PK": {"S": f"EVENT#{marker}"}, "SK": {"S": MARKER_SK}}


class _Writes:
    """What one ``apply`` writes: the plan its transactions follow. It keeps the state of the
    orders it has read or written, so a retry reads only what another writer changed."""

    def __init__(self, store: DynamoDBMetricsStore, expires: int) -> None:
        self.store = store
        self.expires = expires
        self.orders: dict[str, State] = {}

    def transaction(self, events: Sequence[CountedEvent]) -> Transaction:
        store = self.store
        plain = [e for e in events if e.order_key is None]
        by_order: dict[str, list[CountedEvent]] = {}
        for e in events:
            if e.order_key is not None:
                by_order.setdefault(e.order_key, []).append(e)
        unread = [o for o in by_order if o not in self.orders]
        if unread:
            self.orders.update(read_orders(store.client, store.table, unread))
        sums = sum_increments(plain)
        counted = {e.marker for e in plain}
        duplicates: set[str] = set()
        previous: dict[str, str] = {}
        rejected: dict[str, Rejection] = {}
        order_items: list[dict[str, Any]] = []
        order_ids: list[str] = []
        order_units = 0
        for order, arriving in by_order.items():
            known, version = self.orders[order]
            merged = merge(
                known, [e.order_event for e in arriving if e.order_event], store.lifecycle
            )
            now_counted = {e.marker for e in merged.counted}
            for e in arriving:
                if e.marker in now_counted:
                    for key, n in e.increments.items():
                        sums[key] = sums.get(key, 0) + n
            for key, n in merged.delta.items():
                sums[key] = sums.get(key, 0) + n
            counted |= now_counted
            duplicates |= set(merged.duplicates)
            previous.update({m: f for m, f in merged.duplicates.items() if f})
            rejected.update({e.marker: order_too_large(order) for e in merged.refused})
            if now_counted:
                put = order_put(store.table, order, merged.events, version, self.expires)
                order_items.append(put)
                order_ids.append(order)
                order_units += _wcu(item_bytes(put["Put"]["Item"]))
        sums, registrations = store._capped(sums)
        counters = store._counter_updates(sums)
        items = [store._marker_put(e.marker, e.fingerprint, self.expires) for e in plain]
        items += order_items
        items += counters
        items += [store._registry_update(p, values) for p, values in registrations.items()]
        return Transaction(
            items,
            len(plain),
            len(counters),
            registrations,
            marker_ids=[e.marker for e in plain],
            orders=order_ids,
            counted=frozenset(counted),
            duplicates=frozenset(duplicates),
            previous=previous,
            rejected=rejected,
            order_units=order_units,
        )

    def committed(self, transaction: Transaction) -> None:
        for partition, values in transaction.registrations.items():
            known = self.store._known(partition)
            known.update(values)
            self.store.stats.write_units += _wcu(sum(len(v.encode()) + 3 for v in known) + 40)
        for put in transaction.items[transaction.markers :][: len(transaction.orders)]:
            item = put["Put"]["Item"]
            order = item["PK"]["S"].removeprefix("ORDER#")
            self.orders[order] = (decode_state(item["state"]["S"]), int(item["v"]["N"]))

    def registry_changed(self) -> None:
        self.store._registry = None  # reloaded on the next transaction

    def orders_changed(self, orders: Sequence[str]) -> None:
        for order in orders:
            self.orders.pop(order, None)  # read again on the next transaction


class DynamoDBMetricsStore:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        caps: Mapping[str, DimensionCap] | None = None,
        metrics: MetricSet | None = None,
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
        self.metrics = metrics  # needed to count the events of orders
        self.partitions = list(partitions)
        self.marker_ttl = marker_ttl
        self.clock = clock
        self.stats = WriteStats()
        self.runner = TransactionRunner(
            client,
            self.stats,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            jitter=jitter,
        )
        self._registry: dict[str, set[str]] | None = None

    # --- writing -------------------------------------------------------------------------

    def apply(
        self, events: Sequence[CountedEvent], *, deadline: float | None = None
    ) -> ApplyResult:
        result = ApplyResult()
        unique = list({e.marker: e for e in events}.values())
        # Events that touch the same counters go in the same transaction: each transaction
        # pays 2 write units per distinct counter it updates, so grouping them (sales of a
        # drink together, completions together) spends fewer counter updates per event.
        unique.sort(key=lambda e: sorted(e.increments))
        try:
            with calls_bounded_by(deadline):  # reading the registry of values is a call too
                planned = in_transactions(unique, self._needs_registration)
        except DeadlineReachedError as e:
            result.failed = {ev.marker: str(e) for ev in unique}
            return result
        result.rejected.update(planned.too_large)
        for marker, why in planned.too_large.items():
            log.warning("event %s refused: %s", marker, why.message)
        writes = _Writes(self, marker_expiry(self.clock(), self.marker_ttl))
        self.runner.run(planned.chunks, writes, result, deadline)
        return result

    @property
    def lifecycle(self) -> MetricSet:
        if self.metrics is None:
            raise RuntimeError("counting the events of orders needs the store's metrics")
        return self.metrics

    def _marker_put(self, marker: str, fingerprint: str, expires: int) -> dict[str, Any]:
        item = {**marker_key(marker), "expires_at": {"N": str(expires)}}
        if fingerprint:
            item["fp"] = {"S": fingerprint}
        return {
            "Put": {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(PK)",
                # A duplicate's cancellation reason then carries what the first one was.
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _counter_updates(self, sums: Mapping[CounterKey, int]) -> list[dict[str, Any]]:
        """One ``Update`` per item: the attributes of an item that change together (a
        duration's count, sum and bucket) in one action, one write."""
        items: dict[tuple[str, str], dict[str, int]] = {}
        for key, n in sums.items():
            if n:
                attributes = items.setdefault((key.partition, key.sort_key), {})
                attributes[key.attribute] = attributes.get(key.attribute, 0) + n
        updates = []
        for (partition, sort_key), attributes in items.items():
            adds = [(name, n) for name, n in attributes.items() if n]
            if not adds:
                continue
            updates.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"PK": {"S": partition}, "SK": {"S": sort_key}},
                        "UpdateExpression": "ADD "
                        + ", ".join(f"#a{i} :n{i}" for i in range(len(adds))),
                        "ExpressionAttributeNames": {
                            f"#a{i}": name for i, (name, _) in enumerate(adds)
                        },
                        "ExpressionAttributeValues": {
                            f":n{i}": {"N": str(n)} for i, (_, n) in enumerate(adds)
                        },
                    }
                }
            )
        return updates

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
        out = []
        for item in self._query({"PK": partition}, between=(first_bucket, last_bucket + "~")):
            sort_key = item["SK"]["S"]
            for name, value in sorted(item.items()):
                if name not in _NOT_COUNTERS and "N" in value:
                    out.append(
                        Counter(CounterKey.parse(partition, sort_key, name), int(value["N"]))
                    )
        return out

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
