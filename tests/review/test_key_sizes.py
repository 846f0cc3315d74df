"""Counter keys at DynamoDB's 1,024-byte sort-key limit, measured in UTF-8 after the JSON escaping
of a two-dimension text: the same record counts, or is refused, on both backends."""

from __future__ import annotations

import pytest

from presso_metrics.domain.metrics_file import load_metrics
from tests.review.support import DAY, Stores, batch_counter, figures, sqs_event, waiting

TWO_DIMENSIONS = """
[metrics.sales_by_shop]
total = "TotalSales"
[[metrics.sales_by_shop.dimensions]]
label = "shop"
path = "detail.eventId"
max_length = 1000
max_values = 10
[[metrics.sales_by_shop.dimensions]]
label = "drink"
path = "detail.drinkOrder.drink"
max_length = 1000
max_values = 10
[metrics.sales_by_shop.events]
detail-type = ["OrderManager.WaitingCompletion"]
"""


@pytest.mark.parametrize("extra_bytes", [0, 1], ids=["1024-bytes", "1025-bytes"])
def test_a_two_dimension_key_at_the_limit(stores: Stores, extra_bytes: int) -> None:
    metrics = load_metrics(TWO_DIMENSIONS, "two.toml")
    # '"' and '\\' double when escaped: the sort key is 18 + 500 + 506 (+1) bytes.
    shop = '"' * 250
    drink = "\\" * 200 + "é" * 53 + "x" * extra_bytes
    sort_key = f'{DAY}#["{shop.replace(chr(34), chr(92) + chr(34))}",'
    sort_key += '"' + drink.replace("\\", "\\\\") + '"]'
    assert len(sort_key.encode()) == 1024 + extra_bytes
    counter = batch_counter(stores.store(metrics), metrics)
    outcome = counter.process(sqs_event(waiting("w1", None, drink, shop=shop)))
    if extra_bytes:
        assert (outcome.counted, outcome.rejected) == (0, 1)
        assert outcome.rejections[0][1].reason == "dimension_too_long"
    else:
        assert (outcome.counted, outcome.rejected, outcome.failed) == (1, 0, 0)
        got = figures(counter.store, metrics)
        assert got[f"sales_by_shop#day|{sort_key}"] == 1
