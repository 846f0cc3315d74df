from __future__ import annotations

import json
import re

import pytest

from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.domain.patterns import compile_pattern
from presso_metrics.exceptions import ConfigError
from tests.conftest import load_event

MINIMAL = """
[metrics.sales]
total = "TotalSales"

[metrics.sales.events]
detail-type = ["OrderManager.WaitingCompletion"]
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_metrics(text, "shop.toml")
    return str(raised.value)


DEFAULT_METRICS = [
    "sales",
    "sales_by_shop",
    "completions",
    "completions_by_shop",
    "cancellations",
    "cancellations_by_shop",
    "modifiers",
    "hourly_sales",
    "wait_time",
    "wait_time_by_shop",
    "hourly_wait_time",
]


def test_default_file_declares_the_metrics(metrics: MetricSet) -> None:
    assert metrics.names() == DEFAULT_METRICS
    sales = metrics.get("sales")
    assert (sales.partition, sales.total, sales.granularity) == ("Aggregate", "TotalSales", "day")
    assert sales.dimension_paths == ["detail.drinkOrder.drink", "detail.order.drinkOrder.drink"]
    assert metrics.get("completions").total == "TotalCompleted"
    assert metrics.get("cancellations").total == "TotalCancelled"
    assert metrics.get("cancellations").on_missing == "count"
    assert metrics.get("modifiers").total is None
    assert metrics.get("hourly_sales").granularity == "hour"
    assert str(metrics.time_zone) == "UTC"
    # The order lifecycle (issue #13): by shop, by the drink of the order, wait times.
    assert metrics.get("sales_by_shop").labels == ("shop", "drink")
    assert metrics.get("cancellations").correlated
    assert metrics.get("cancellations").dimensions[0].from_order is not None
    wait = metrics.get("wait_time")
    assert (wait.kind, wait.correlate, wait.granularity) == (
        "duration",
        ("detail", "orderId"),
        "day",
    )
    assert metrics.order_key == ("detail", "orderId")


def test_rule_pattern_routes_exactly_the_counted_sample_events(metrics: MetricSet) -> None:
    rule = compile_pattern(metrics.rule_pattern())
    for name in [
        "waiting-completion.json",
        "waiting-completion-loadtest-shape.json",
        "order-cancelled-detailed.json",
        "order-cancelled-state-machine.json",
    ]:
        assert rule.matches(load_event(name)), name
    routed = {
        e["detail-type"]
        for e in load_event("recorded-serverlesspresso-trace.json")
        if rule.matches(e)
    }
    assert routed == {
        "OrderManager.WaitingCompletion",
        "OrderManager.OrderNYC-COMPLETED",
        "OrderManager.OrderNYC-CANCELLED",
    }


def test_minimal_metric_gets_defaults() -> None:
    m = load_metrics(MINIMAL).get("sales")
    assert (m.granularity, m.partition, m.on_missing) == ("day", "sales#day", "reject")


def test_events_may_be_json_text_to_express_null() -> None:
    text = MINIMAL.replace(
        '[metrics.sales.events]\ndetail-type = ["OrderManager.WaitingCompletion"]',
        'events = \'{"detail": {"coupon": [null]}}\'',
    )
    m = load_metrics(text).get("sales")
    assert m.pattern.matches({"detail": {"coupon": None}})


def test_time_zone_override(metrics: MetricSet) -> None:
    assert str(metrics.with_time_zone("Europe/Paris").time_zone) == "Europe/Paris"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[metrics.sales\n", r"shop\.toml: not valid TOML: .*at line 1, column 15"),
        (
            "time_zone = 'Mars/Olympus'\n" + MINIMAL,
            r"shop\.toml:1: unknown time zone 'Mars/Olympus'; use an IANA name",
        ),
        ("timezone = 'UTC'\n" + MINIMAL, r"shop\.toml:1: unknown key 'timezone'"),
        ("time_zone = 'UTC'\n", r"declares no metrics"),
        (
            MINIMAL.replace('total = "TotalSales"', 'total = "T"\ngranularity = "week"'),
            r"shop\.toml:4: granularity 'week' is not one of hour, day, month",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', 'totl = "x"'),
            r"shop\.toml:3: unknown key 'totl' in metrics\.sales; known keys:",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', 'on_missing = "ignore"\ntotal = "T"'),
            r"shop\.toml:3: on_missing must be one of reject, skip, count",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', ""),
            r"shop\.toml:2: metrics\.sales has neither a dimension nor a total",
        ),
        (
            MINIMAL.replace('"OrderManager.WaitingCompletion"', '{ prefx = "O" }'),
            r"shop\.toml:5: metrics\.sales: bad event pattern at events\.detail-type\[0\]: "
            r"unknown matcher 'prefx'",
        ),
        (
            MINIMAL.replace("[metrics.sales.events]\n", "").replace(
                'detail-type = ["OrderManager.WaitingCompletion"]', ""
            ),
            r"shop\.toml:2: metrics\.sales needs 'events'",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', 'total = "T"\ndimension = "detail..drink"'),
            r"shop\.toml:4: .*is not a dotted path",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', 'total = "T"\npartition = "EVENT#x"'),
            r"shop\.toml:4: partition 'EVENT#x' is reserved",
        ),
        (
            MINIMAL.replace('total = "TotalSales"', 'total = "T"\nmax_dimension_values = 0'),
            r"shop\.toml:4: metrics\.sales\.max_dimension_values must be a whole number "
            r"from 1 to 10000",
        ),
        (
            MINIMAL.replace("[metrics.sales]", "[metrics.Sales]").replace(
                "[metrics.sales.events]", "[metrics.Sales.events]"
            ),
            r"metric name 'Sales' must be lower case",
        ),
        (
            MINIMAL
            + MINIMAL.replace("sales", "more").replace(
                'total = "TotalSales"', 'total = "T"\npartition = "sales#day"'
            ),
            r"shop\.toml:\d+: metrics sales and more both use partition 'sales#day'",
        ),
    ],
)
def test_errors_name_file_line_key_and_fix(text: str, expected: str) -> None:
    assert re.search(expected, error_of(text)), error_of(text)


def test_default_text_is_the_packaged_file() -> None:
    assert "[metrics.sales]" in default_metrics_text()


@pytest.mark.parametrize(
    "events",
    [
        'events = \'{"detail": {"n": [{"numeric": [">", 1e-400]}]}}\'',
        'events = { detail = { n = [{ numeric = [">", 1e-400] }] } }',
        'events = { detail = { n = [{ numeric = [">", 0.0000001] }] } }',
    ],
)
def test_a_number_eventbridge_cannot_represent_is_refused(events: str) -> None:
    """EventBridge reads pattern numbers exactly, with at most six decimal places: 1e-400 is not
    zero to it, it is refused (event-ruler's ComparableNumber). A float parser would read 0.0 and
    let the pattern through; the metrics file is read with exact decimals (issue #11)."""
    text = f'[metrics.m]\ntotal = "T"\n{events}\n'
    with pytest.raises(ConfigError, match=r"metrics\.m: bad event pattern at events\.detail\.n"):
        load_metrics(text, "m.toml")


def test_exact_decimals_still_compile_to_patterns_that_match_json_numbers() -> None:
    metrics = load_metrics(
        '[metrics.m]\ntotal = "T"\nevents = { detail = { n = [{ numeric = [">", 0.5] }] } }\n'
    )
    (metric,) = metrics
    assert metric.pattern.matches({"detail": {"n": 0.75}})
    assert not metric.pattern.matches({"detail": {"n": 0.25}})
    assert json.dumps(metric.pattern.source) == '{"detail": {"n": [{"numeric": [">", 0.5]}]}}'
