"""The DynamoDB store on the emulator: transactions, duplicates via CancellationReasons,
chunking, write-unit accounting, and faults injected at the botocore level."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from presso_metrics.adapters.dynamodb_store import DynamoDBMetricsStore
from presso_metrics.domain.counting import CountedEvent, CounterKey

TABLE = "serverlesspresso-metrics-table"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


def dynamodb_error(status: int, code: str, **extra: Any) -> AWSResponse:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code, **extra}
    )
    return AWSResponse("http://emulator", status, {"x-amzn-requestid": "x"}, _Raw(body.encode()))


class Faults:
    """Answers the next TransactWriteItems calls with the given faults, then lets calls through;
    records every call's action count."""

    def __init__(self, client: Any) -> None:
        self.queue: list[Callable[[], Any]] = []
        self.calls: list[int] = []
        client.meta.events.register("before-send.dynamodb.TransactWriteItems", self._hook)

    def _hook(self, request: Any, **_: Any) -> Any:
        self.calls.append(len(json.loads(request.body)["TransactItems"]))
        if self.queue:
            return self.queue.pop(0)()
        return None

    def next(self, *faults: Callable[[], Any]) -> None:
        self.queue.extend(faults)


def store_for(client: Any, **kw: Any) -> DynamoDBMetricsStore:
    return DynamoDBMetricsStore(client, TABLE, sleep=lambda s: None, **kw)


def sale(event_id: str, drink: str = "Latte", day: str = "2022-10-14") -> CountedEvent:
    return CountedEvent(
        event_id,
        {CounterKey("Aggregate", day, drink): 1, CounterKey("Aggregate", day, "TotalSales"): 1},
    )


def item(client: Any, pk: str, sk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")


def test_seed_items_and_markers_are_written(client: Any) -> None:
    store = store_for(client, clock=lambda: 1_700_000_000)
    store.apply([sale("e1"), sale("e2", "Mocha")])
    assert item(client, "Aggregate", "2022-10-14#TotalSales") == {
        "PK": {"S": "Aggregate"},
        "SK": {"S": "2022-10-14#TotalSales"},
        "val": {"N": "2"},
    }
    assert item(client, "Aggregate", "2022-10-14#Latte")["val"] == {"N": "1"}  # type: ignore[index]
    marker = item(client, "EVENT#e1", "EVENT")
    assert marker is not None
    # The dedup horizon: 90 days (a redriven copy must find its marker, see domain/dedup.py).
    assert marker["expires_at"] == {"N": str(1_700_000_000 + 90 * 24 * 3600)}


def test_duplicates_are_found_through_cancellation_reasons(client: Any) -> None:
    store = store_for(client)
    store.apply([sale("e1"), sale("e2")])
    faults = Faults(client)
    result = store.apply([sale("e2"), sale("e3"), sale("e1"), sale("e4", "Mocha")])
    # One cancelled transaction (markers e1, e2 exist), then one with the rest.
    assert result.duplicates == {"e1", "e2"} and result.counted == {"e3", "e4"}
    assert faults.calls == [4 + 3, 2 + 3]
    assert store.stats.cancelled == 1
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "4"}  # type: ignore[index]
    assert item(client, "Aggregate", "2022-10-14#Latte")["val"] == {"N": "3"}  # type: ignore[index]


def test_all_duplicates_write_nothing(client: Any) -> None:
    store = store_for(client)
    store.apply([sale("e1")])
    result = store.apply([sale("e1")])
    assert result.duplicates == {"e1"} and not result.counted
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "1"}  # type: ignore[index]


def test_chunks_respect_the_transaction_limits(client: Any) -> None:
    store = store_for(client)
    faults = Faults(client)
    events = [sale(f"e{i}", f"drink-{i % 40}") for i in range(250)]
    assert len(store.apply(events).counted) == 250
    assert max(faults.calls) <= 100 and sum(faults.calls) == store.stats.actions
    assert store.stats.markers == 250 and store.stats.transactions == len(faults.calls)
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "250"}  # type: ignore[index]


def test_write_units_per_event_at_batch_100(client: Any) -> None:
    store = store_for(client)
    events = [sale(f"e{i}", ["Latte", "Mocha", "Espresso"][i % 3]) for i in range(100)]
    store.apply(events)
    # 100 markers and 4 distinct counters, in 2 transactions (104 actions > 100).
    assert store.stats.transactions == 2
    assert store.stats.write_units == 2 * 100 + 2 * store.stats.counter_updates
    assert store.stats.write_units / 100 < 2.2


@pytest.mark.parametrize(
    "fault",
    [
        lambda: dynamodb_error(400, "ThrottlingException"),
        lambda: dynamodb_error(400, "ProvisionedThroughputExceededException"),
        lambda: dynamodb_error(500, "InternalServerError"),
        lambda: dynamodb_error(
            400,
            "TransactionCanceledException",
            CancellationReasons=[
                {"Code": "TransactionConflict"},
                {"Code": "None"},
                {"Code": "None"},
            ],
        ),
        lambda: dynamodb_error(
            400,
            "TransactionCanceledException",
            CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError"}, {"Code": "None"}],
        ),
    ],
    ids=["throttling", "throughput", "500", "conflict", "throttled-item"],
)
def test_transient_faults_are_retried_until_they_pass(
    client: Any, fault: Callable[[], Any]
) -> None:
    store = store_for(client)
    faults = Faults(client)
    faults.next(fault, fault, fault)  # botocore retries some itself; the store retries the rest
    result = store.apply([sale("e1")])
    assert result.counted == {"e1"} and not result.failed
    assert len(faults.calls) == 4
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "1"}  # type: ignore[index]


def test_a_store_that_keeps_throttling_reports_the_events_failed(client: Any) -> None:
    store = store_for(client, max_attempts=3)
    faults = Faults(client)
    faults.next(*[lambda: dynamodb_error(400, "ThrottlingException")] * 50)
    result = store.apply([sale("e1"), sale("e2")])
    assert set(result.failed) == {"e1", "e2"} and "ThrottlingException" in result.failed["e1"]
    assert item(client, "Aggregate", "2022-10-14#TotalSales") is None
    assert item(client, "EVENT#e1", "EVENT") is None


def test_a_lost_response_after_commit_is_not_counted_twice(client: Any) -> None:
    # GIVEN a transaction that commits but whose response never arrives
    store = store_for(client)
    real = client.transact_write_items
    calls: list[int] = []

    def commit_then_time_out(**kwargs: Any) -> Any:
        calls.append(1)
        response = real(**kwargs)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="http://emulator")
        return response

    client.transact_write_items = commit_then_time_out
    # WHEN the store retries
    result = store.apply([sale("e1"), sale("e2")])
    # THEN the retry finds its own markers and nothing is counted twice (on AWS the identical
    # retry with the same ClientRequestToken would simply succeed; the emulator ignores tokens)
    assert not result.failed and result.counted | result.duplicates == {"e1", "e2"}
    assert item(client, "Aggregate", "2022-10-14#TotalSales")["val"] == {"N": "2"}  # type: ignore[index]


def test_validation_errors_are_not_retried(client: Any) -> None:
    store = store_for(client)
    faults = Faults(client)
    faults.next(lambda: dynamodb_error(400, "ValidationException"))
    result = store.apply([sale("e1")])
    # A lone event DynamoDB refuses is rejected for good (dead-lettered), not failed.
    assert "ValidationException" in result.rejected["e1"].message and len(faults.calls) == 1
    assert not result.failed and not result.counted


def test_reading_ranges_and_span(client: Any) -> None:
    store = store_for(client, partitions=["Aggregate"])
    assert store.is_empty()
    store.apply([sale(f"e{d}", "Latte", f"2022-10-{d:02d}") for d in range(1, 31)])
    assert not store.is_empty()
    assert store.bucket_span("Aggregate") == ("2022-10-01", "2022-10-30")
    got = store.read("Aggregate", "2022-10-10", "2022-10-12")
    assert sorted((c.key.bucket, c.key.dimension, c.value) for c in got) == [
        (f"2022-10-{d}", dim, 1) for d in (10, 11, 12) for dim in ("Latte", "TotalSales")
    ]
