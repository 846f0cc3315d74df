"""Orders in the DynamoDB metrics table: one item per order holding the events its correlated
metrics need (with their markers), and a version.

``PK = "ORDER#<order id>"``, ``SK = "ORDER"``; attributes ``state`` (the events, compact JSON),
``n`` (how many), ``v`` (the version) and ``expires_at`` (the dedup horizon past its last write,
for TTL). An order is read (``BatchGetItem``, strongly consistent) before the transaction that
changes it; the transaction writes it back on the condition that its version is still the one
read (``attribute_not_exists(PK)`` for a new order), so two consumers cannot both count on the
same old state: the loser re-reads and recomputes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from presso_metrics.domain.lifecycle import OrderEvent, decode_state, encode_state
from presso_metrics.exceptions import StoreUnavailableError

ORDER_SK = "ORDER"
MAX_KEYS_PER_READ = 100  # BatchGetItem's limit
READ_ATTEMPTS = 5

State = tuple[list[OrderEvent], int]  # an order's events and version (0: not stored yet)


def order_key(order: str) -> dict[str, Any]:
    return {"PK": {"S": f"ORDER#{order}"}, "SK": {"S": ORDER_SK}}


def read_orders(
    client: Any,
    table: str,
    orders: Iterable[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, State]:
    """The stored state of each of ``orders`` (absent ones: no events, version 0)."""
    wanted = list(dict.fromkeys(orders))
    found: dict[str, State] = {order: ([], 0) for order in wanted}
    for i in range(0, len(wanted), MAX_KEYS_PER_READ):
        keys = [order_key(o) for o in wanted[i : i + MAX_KEYS_PER_READ]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(READ_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                order = item["PK"]["S"].removeprefix("ORDER#")
                found[order] = (decode_state(item["state"]["S"]), int(item["v"]["N"]))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            sleep(min(1.0, 0.05 * 2**attempt))  # throttled: DynamoDB asks to come back
        else:
            raise StoreUnavailableError(
                f"DynamoDB kept {len(request[table]['Keys'])} order reads unprocessed"
            )
    return found


def order_put(
    table: str, order: str, events: Sequence[OrderEvent], version: int, expires: int
) -> dict[str, Any]:
    """The transaction's write of an order: its events, on the version it was read at."""
    put: dict[str, Any] = {
        "TableName": table,
        "Item": {
            **order_key(order),
            "state": {"S": encode_state(events)},
            "n": {"N": str(len(events))},
            "v": {"N": str(version + 1)},
            "expires_at": {"N": str(expires)},
        },
    }
    if version == 0:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        put["ConditionExpression"] = "#v = :v"
        put["ExpressionAttributeNames"] = {"#v": "v"}
        put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
    return {"Put": put}


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names and values, roughly as it bills them."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        for v in value.values():
            size += len(str(v).encode("utf-8", "surrogatepass"))
    return size
