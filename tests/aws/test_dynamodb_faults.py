"""The DynamoDB store under the faults production meets: an event DynamoDB refuses among good
ones, a transaction still in progress, a deadline, an endpoint that hangs."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.config import Config

from presso_metrics.adapters import aws as product_aws
from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.domain.counting import CountedEvent, CounterKey
from tests.aws.test_dynamodb_store import TABLE, Faults, dynamodb_error, item, sale, store_for
from tests.aws_emulator import Emulator
from tests.hanging import HangingServer

# A dimension DynamoDB refuses: its sort key "<day>#<value>" is over 1,024 bytes (UTF-8).
TOO_LONG = "é" * 600


def poisoned(event_id: str) -> CountedEvent:
    """An event whose counter key DynamoDB refuses (it reaches the store: nothing before it
    measures key bytes in this test)."""
    return CountedEvent(
        event_id,
        {
            CounterKey("Aggregate", "2022-10-14", TOO_LONG): 1,
            CounterKey("Aggregate", "2022-10-14", "TotalSales"): 1,
        },
    )


def test_one_refused_event_does_not_fail_the_good_ones(client: Any) -> None:
    # GIVEN 20 good sales and one event whose sort key is over DynamoDB's 1,024 bytes
    store = store_for(client)
    good = [sale(f"good-{i}", ["Latte", "Mocha"][i % 2]) for i in range(20)]
    events = [*good[:7], poisoned("poison"), *good[7:]]
    # WHEN they are applied once
    result = store.apply(events)
    # THEN the 20 are counted at once, and the poisoned one is rejected with DynamoDB's message
    assert result.counted == {e.marker for e in good}
    assert not result.failed and not result.duplicates
    assert set(result.rejected) == {"poison"}
    why = result.rejected["poison"]
    assert why.reason == "store_refused"
    assert "range keys has exceeded the size limit of 1024 bytes" in why.message
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "20"}  # type: ignore[index]
    assert item(client, "Aggregate", "2022-10-14#Latte")["val"] == {"N": "10"}  # type: ignore[index]
    assert item(client, "EVENT#poison", "EVENT") is None  # counts nothing, leaves no marker
    # Found by halving: about 2 log2(21) refused transactions, not one per event.
    assert store.stats.isolated == 1 and store.stats.refused <= 2 * 5
    # And it stays refused: applied again, the good ones are duplicates.
    again = store.apply(events)
    assert again.duplicates == result.counted and set(again.rejected) == {"poison"}


def test_a_refusal_named_in_cancellation_reasons_is_isolated(client: Any) -> None:
    # DynamoDB may cancel the transaction with a ValidationError reason instead of refusing it
    # outright; the event is isolated the same way.
    store = store_for(client)
    poison_key = json.dumps({"S": "EVENT#b"})

    def refuse_b(request: Any, **_: Any) -> Any:
        items = json.loads(request.body)["TransactItems"]
        if any(json.dumps(i.get("Put", {}).get("Item", {}).get("PK")) == poison_key for i in items):
            reasons = [{"Code": "None"}] * len(items)
            reasons[0] = {
                "Code": "ValidationError",
                "Message": "Item size has exceeded the maximum allowed size",
            }
            return dynamodb_error(400, "TransactionCanceledException", CancellationReasons=reasons)
        return None

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", refuse_b)
    result = store.apply([sale("a"), sale("b"), sale("c"), sale("d")])
    assert result.counted == {"a", "c", "d"}
    assert result.rejected["b"].message.endswith("Item size has exceeded the maximum allowed size")
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "3"}  # type: ignore[index]


def test_an_event_touching_too_many_counters_is_rejected_alone(client: Any) -> None:
    store = store_for(client)
    wide = CountedEvent(
        "wide", {CounterKey("Aggregate", "2022-10-14", f"m{i}"): 1 for i in range(120)}
    )
    result = store.apply([sale("a"), wide, sale("b")])
    assert result.counted == {"a", "b"} and set(result.rejected) == {"wide"}
    assert "120 counters" in result.rejected["wide"].message


def test_a_transaction_in_progress_is_retried_with_the_same_token(client: Any) -> None:
    # TransactionInProgressException: the first request may still commit. The retry must be the
    # same request (same ClientRequestToken) so DynamoDB completes that one, not a second.
    store = store_for(client)
    tokens: list[str] = []

    def record(request: Any, **_: Any) -> Any:
        tokens.append(json.loads(request.body)["ClientRequestToken"])
        if len(tokens) <= 7:  # more than botocore's own attempts: the store retries too
            return dynamodb_error(400, "TransactionInProgressException")
        return None

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", record)
    result = store.apply([sale("e1")])
    assert result.counted == {"e1"}
    assert len(tokens) == 8 and len(set(tokens)) == 1


def test_after_a_definite_failure_the_retry_is_a_new_request(client: Any) -> None:
    store = store_for(client)
    tokens: list[str] = []

    def record(request: Any, **_: Any) -> Any:
        tokens.append(json.loads(request.body)["ClientRequestToken"])
        if len(tokens) <= 7:
            return dynamodb_error(400, "ThrottlingException")
        return None

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", record)
    assert store.apply([sale("e1")]).counted == {"e1"}
    # botocore's 3 attempts are one request; each of the store's retries is a new one
    assert len(tokens) == 8 and len(set(tokens)) == 3
    assert tokens[0:3] == [tokens[0]] * 3 and tokens[3:6] == [tokens[3]] * 3


def test_a_deadline_already_past_writes_nothing(client: Any) -> None:
    store = store_for(client)
    faults = Faults(client)
    result = store.apply([sale("e1"), sale("e2")], deadline=time.monotonic() - 1)
    assert set(result.failed) == {"e1", "e2"} and faults.calls == []
    assert item(client, "Aggregate", "2022-10-14#TotalSales") is None


def test_the_deadline_stops_the_retries(client: Any) -> None:
    # Throttled for ever: the store stops retrying at the deadline, not after max_attempts.
    store = DynamoDBMetricsStore(client, TABLE, max_attempts=1000, base_delay=0.05, max_delay=0.2)
    faults = Faults(client)
    faults.next(*[lambda: dynamodb_error(400, "ThrottlingException")] * 10_000)
    start = time.monotonic()
    # An attempt may take up to 10 s (3 s to connect, 5 s to read, 2 s of botocore's wait): with
    # 12 s left, one is started; botocore stops its retries when they might not end in time.
    result = store.apply([sale("e1")], deadline=start + 12)
    elapsed = time.monotonic() - start
    assert set(result.failed) == {"e1"} and len(faults.calls) >= 1
    assert elapsed < 12, elapsed


def test_a_hanging_endpoint_is_given_up_before_the_deadline(hanging: HangingServer) -> None:
    # GIVEN a DynamoDB endpoint that accepts connections and never answers, and a client with
    # the product's configuration but shorter timeouts (to keep the test short)
    config = product_aws.CLIENT_CONFIG.merge(Config(connect_timeout=0.5, read_timeout=1.0))
    session = Emulator(hanging.url).session()
    dynamodb = product_aws.client(session, "dynamodb", config, endpoint_url=hanging.url)
    store = DynamoDBMetricsStore(dynamodb, TABLE, max_attempts=8)
    # WHEN a batch is applied with 5 s left
    start = time.monotonic()
    result = store.apply([sale("e1"), sale("e2")], deadline=start + 5)
    elapsed = time.monotonic() - start
    # THEN it gave up in time (each attempt waits at most 1.5 s, and none starts that might
    # end after the deadline), having tried, and reports the events for redelivery
    assert set(result.failed) == {"e1", "e2"}
    assert hanging.connections >= 1
    assert elapsed < 5, elapsed
