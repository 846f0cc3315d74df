"""An event's identity must hold across the two places markers live: the plain markers
(``EVENT#<id>`` / the ``markers`` table) and an order's state (its events' markers). Today each
path only looks at its own, so one event can be counted once by each."""

from __future__ import annotations

import pytest

from tests.review.support import (
    DAY,
    Stores,
    counted,
    default_metrics,
    figures,
    waiting,
    without_orders,
)

XFAIL_PATHS = pytest.mark.xfail(
    strict=True,
    reason=(
        "order events are deduplicated only against their order's state, plain events only "
        "against plain markers: an event that changes path between deliveries (metrics file "
        "changed, upgrade from the previous round's plain markers) is counted twice"
    ),
)


@XFAIL_PATHS
def test_an_event_counted_before_the_upgrade_is_a_duplicate_after_it(stores: Stores) -> None:
    """The previous round counted every event under a plain marker. A copy still in flight at
    the deploy (SQS redelivery, EventBridge's 24 h retries, a DLQ redrive) reaches the new
    consumer, which follows orders: it must be a duplicate."""
    old_metrics, new_metrics = without_orders(default_metrics()), default_metrics()
    event = waiting("w1", "o1", "Latte")
    old = stores.store(old_metrics)
    assert old.apply([counted(event, old_metrics)]).counted == {"w1"}

    new = stores.store(new_metrics)
    again = new.apply([counted(event, new_metrics)])
    assert (again.counted, again.duplicates) == (set(), {"w1"})
    assert figures(new, new_metrics)[f"Aggregate|{DAY}#Latte"] == 1


@XFAIL_PATHS
def test_an_order_event_stays_counted_when_the_metrics_stop_following_orders(
    stores: Stores,
) -> None:
    """The operator removes the order-following metrics (or changes `correlate`); a redelivery
    of an event already counted through its order then takes the plain path."""
    new_metrics, plain_metrics = default_metrics(), without_orders(default_metrics())
    event = waiting("w1", "o1", "Latte")
    first = stores.store(new_metrics)
    assert first.apply([counted(event, new_metrics)]).counted == {"w1"}

    second = stores.store(plain_metrics)
    again = second.apply([counted(event, plain_metrics)])
    assert (again.counted, again.duplicates) == (set(), {"w1"})
    assert figures(second, plain_metrics)[f"Aggregate|{DAY}#Latte"] == 1


@pytest.mark.xfail(
    strict=True,
    reason=(
        "a reused id is a duplicate only inside the same order: the same id in another order, "
        "or without an order id, is counted again (README: 'the first one counted stands')"
    ),
)
@pytest.mark.parametrize("second_order", ["o2", None], ids=["other-order", "no-order"])
def test_a_reused_id_in_another_order_is_not_counted_again(
    stores: Stores, second_order: str | None
) -> None:
    metrics = default_metrics()
    store = stores.store(metrics)
    assert store.apply([counted(waiting("w1", "o1", "Latte"), metrics)]).counted == {"w1"}
    again = store.apply([counted(waiting("w1", second_order, "Mocha"), metrics)])
    assert (again.counted, again.duplicates) == (set(), {"w1"})
    got = figures(store, metrics)
    assert (got[f"Aggregate|{DAY}#TotalSales"], got.get(f"Aggregate|{DAY}#Mocha", 0)) == (1, 0)


@XFAIL_PATHS
def test_an_order_event_stays_counted_when_the_order_path_changes(stores: Stores) -> None:
    """`correlate` moves to another field (the order manager's orderNumber): the same event now
    belongs to an order with another key, whose state does not hold its marker."""
    from presso_metrics.bootstrap import default_metrics_text
    from presso_metrics.domain.metrics_file import load_metrics

    before = default_metrics()
    after = load_metrics(
        default_metrics_text().replace(
            'correlate = "detail.orderId"', 'correlate = "detail.orderNumber"'
        ),
        "renumbered.toml",
    )
    event = waiting("w1", "o1", "Latte", orderNumber="17")
    assert stores.store(before).apply([counted(event, before)]).counted == {"w1"}
    store = stores.store(after)
    again = store.apply([counted(event, after)])
    assert (again.counted, again.duplicates) == (set(), {"w1"})
    assert figures(store, after)[f"Aggregate|{DAY}#Latte"] == 1
