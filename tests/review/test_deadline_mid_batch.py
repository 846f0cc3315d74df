"""The deadline reached between two transactions of one batch (DynamoDB): what was written is
reported counted, what was not is failed, and redelivering the failed records (and copies of
the counted ones) gives exact figures."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.review.support import (
    DAY,
    Stores,
    batch_counter,
    cancelled,
    completed,
    default_metrics,
    figures,
    sqs_event,
    waiting,
)

pytestmark = pytest.mark.aws


def test_a_deadline_between_transactions_reports_exactly_what_was_written(
    stores: Stores,
) -> None:
    if stores.kind != "aws":
        pytest.skip("transactions are DynamoDB's")
    metrics = default_metrics()
    store: Any = stores.store(metrics)
    counter = batch_counter(store, metrics)
    events = [waiting(f"p{n}", None, "Latte") for n in range(120)]
    events += [waiting("w1", "o1", "Mocha"), cancelled("c1", "o1"), completed("k1", "o1")]
    events += [cancelled("c2", "o2"), waiting("w2", "o2", "Chai", time="11:00:00")]
    batch = sqs_event(*events)

    commits: list[int] = []
    late = [False]
    deadline = time.monotonic() + 120

    def after(**_: Any) -> None:
        commits.append(1)
        if len(commits) == 1:
            late[0] = True  # the deadline passes right after the first transaction

    store.client.meta.events.register("after-call.dynamodb.TransactWriteItems", after)
    store.runner.monotonic = lambda: deadline + 1 if late[0] else time.monotonic()
    outcome = counter.process(batch, deadline=deadline)
    assert len(commits) == 1
    assert outcome.counted > 0 and outcome.failed > 0
    assert outcome.counted + outcome.failed == len(events)
    # Lambda deletes what succeeded; the failed records come back, with a copy of everything.
    failed = set(outcome.item_failures)
    late[0] = False
    again = [r for r in batch["Records"] if r["messageId"] in failed]
    counter.process({"Records": again + batch["Records"]}, deadline=time.monotonic() + 120)
    got = figures(store, metrics)
    assert got[f"Aggregate|{DAY}#Latte"] == 120
    assert got[f"Aggregate|{DAY}#TotalSales"] == 122
    assert got[f"Cancelled|{DAY}#Mocha"] == 1 and got[f"Cancelled|{DAY}#Chai"] == 1
    assert got[f"Cancelled|{DAY}#TotalCancelled"] == 2
    assert f"Cancelled|{DAY}#unknown" not in got
    assert got[f"wait_time#day|{DAY}#all|count"] == 1
    assert got[f"wait_time#day|{DAY}#all|sum_ms"] == 95_000


def test_a_store_failure_on_one_transaction_fails_only_its_events(stores: Stores) -> None:
    """The second of three transactions is refused with an error retrying cannot fix (access
    denied): its events are failed, the others counted; the redelivery makes the figures exact."""
    if stores.kind != "aws":
        pytest.skip("transactions are DynamoDB's")
    from tests.aws.test_dynamodb_store import dynamodb_error

    metrics = default_metrics()
    store: Any = stores.store(metrics)
    counter = batch_counter(store, metrics)
    events = [waiting(f"p{n}", None, "Latte") for n in range(200)]
    events += [cancelled("c1", "o1"), waiting("w1", "o1", "Mocha"), completed("k1", "o1")]
    batch = sqs_event(*events)
    calls: list[int] = []

    def deny_the_second(**_: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            return dynamodb_error(400, "AccessDeniedException")
        return None

    store.client.meta.events.register("before-send.dynamodb.TransactWriteItems", deny_the_second)
    outcome = counter.process(batch)
    assert len(calls) >= 3 and outcome.counted > 0 and outcome.failed > 0
    assert outcome.counted + outcome.failed == len(events)
    failed = set(outcome.item_failures)
    again = [r for r in batch["Records"] if r["messageId"] in failed]
    counter.process({"Records": again + batch["Records"][:50]})
    got = figures(store, metrics)
    assert got[f"Aggregate|{DAY}#Latte"] == 200
    assert got[f"Aggregate|{DAY}#TotalSales"] == 201
    assert got[f"Cancelled|{DAY}#Mocha"] == got[f"Cancelled|{DAY}#TotalCancelled"] == 1
    assert got[f"wait_time#day|{DAY}#all|count"] == 1
