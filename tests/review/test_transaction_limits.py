"""Events whose writes do not fit one DynamoDB transaction once their order's changes are added,
and counters of order-following metrics whose keys DynamoDB cannot store."""

from __future__ import annotations

import pytest

from presso_metrics.domain.metrics_file import load_metrics
from tests.review.support import (
    DAY,
    SOURCE,
    Stores,
    batch_counter,
    cancelled,
    default_metrics,
    figures,
    sqs_event,
    waiting,
    xfail_on,
)

DRINKS = [f"Drink{n:02d}" for n in range(50)]


def detailed_cancellation(event_id: str, order: str, drinks: list[str]) -> dict[str, object]:
    """The other ordering system's cancellation, naming its drink(s) itself: an array of 50."""
    return {
        "id": event_id,
        "source": SOURCE,
        "detail-type": "OrderManager.OrderCancelled",
        "time": f"{DAY}T12:05:00Z",
        "detail": {"orderId": order, "eventId": "NYC", "order": {"drinkOrder": {"drink": drinks}}},
    }


@pytest.mark.xfail(
    strict=True,
    reason=(
        "DynamoDB: an order event whose figures need more than 100 actions is split down to "
        "itself and then reported FAILED (transient) instead of rejected as store_refused: it is "
        "retried maxReceiveCount times and ends as max_receives; SQLite counts it"
    ),
)
@pytest.mark.aws
def test_an_order_event_too_large_for_one_transaction_is_rejected_not_retried_forever(
    stores: Stores,
) -> None:
    if stores.kind != "aws":
        pytest.skip("the transaction limit is DynamoDB's")
    metrics = default_metrics()
    counter = batch_counter(stores.store(metrics), metrics)
    outcome = counter.process(
        sqs_event(detailed_cancellation("x1", "o1", DRINKS), waiting("w2", "o2", "Latte"))
    )
    # The good record of the batch is counted either way.
    assert figures(counter.store, metrics)[f"Aggregate|{DAY}#Latte"] == 1
    # The oversized one: a permanent refusal, dead-lettered with its reason, like a plain event
    # with more than 100 counters (README, "Dead letters and limits": store_refused).
    assert (outcome.failed, outcome.rejected) == (0, 1)
    assert [why.reason for _, why in outcome.rejections] == ["store_refused"]


LONG_NAMES = """
[metrics.sales]
dimension = "detail.drinkOrder.drink"
max_dimension_length = 200
total = "TotalSales"
partition = "Aggregate"
[metrics.sales.events]
detail-type = ["OrderManager.WaitingCompletion"]

[metrics.cancellations_by_shop]
correlate = "detail.orderId"
[[metrics.cancellations_by_shop.dimensions]]
label = "shop"
path = "detail.eventId"
on_missing = "count"
max_length = 200
[[metrics.cancellations_by_shop.dimensions]]
label = "drink"
path = "detail.drinkOrder.drink"
on_missing = "count"
max_length = 200
from_order = { detail-type = ["OrderManager.WaitingCompletion"] }
[metrics.cancellations_by_shop.events]
detail-type = [{ wildcard = "OrderManager.Order*CANCELLED" }]
"""


def test_a_valid_waiting_completion_is_not_refused_for_its_cancellations_key(
    stores: Stores, request: pytest.FixtureRequest
) -> None:
    xfail_on(
        request,
        stores,
        "aws",
        "counters of order-following metrics are never checked against DynamoDB's 1,024-byte "
        "sort key (lifecycle._count has no key_too_long): the WaitingCompletion whose arrival "
        "moves a cancellation to a too-long key is refused on AWS (store_refused, its sales "
        "dead-lettered) and counted on SQLite",
    )
    metrics = load_metrics(LONG_NAMES, "long.toml")
    shop, drink = "\U0001d11e" * 150, "\U0001d160" * 150  # 600 bytes each in UTF-8
    counter = batch_counter(stores.store(metrics), metrics)
    first = counter.process(sqs_event(cancelled("c1", "o1", shop=shop)))
    assert (first.counted, first.rejected, first.failed) == (1, 0, 0)
    second = counter.process(sqs_event(waiting("w1", "o1", drink, shop=shop)))
    # The same disposition on both backends, decided by the domain before any write: either
    # the moved figure is refused with a clear reason while the sale counts, or all of it
    # counts. What must not happen: the sale lost to a store refusal on one backend only.
    assert (second.counted, second.rejected, second.failed) == (1, 0, 0)
    got = figures(counter.store, metrics)
    assert got[f"Aggregate|{DAY}#{drink}"] == 1
    key = f'cancellations_by_shop#day|{DAY}#["{shop}","{drink}"]'
    assert len(key.split("|", 1)[1].encode()) > 1024  # the sort key DynamoDB cannot store
