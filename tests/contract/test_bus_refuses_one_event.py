"""Both buses (the embedded one and EventBridge through boto3) refuse an event that cannot travel
as JSON text, alone: its index and a sentence saying which field and what is wrong, while every
other event of the call is published. Neither raises."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from presso_metrics.adapters.event_json import MAX_NESTING, problem_of
from presso_metrics.domain.metrics import MetricSet
from tests.conftest import load_event
from tests.contract.backends import AwsBackend, Backend, embedded
from tests.contract.test_bus_contract import drain


@pytest.fixture(params=["embedded", pytest.param("aws", marks=pytest.mark.aws)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "embedded":
        yield from embedded(tmp_path)
    else:
        yield AwsBackend(request.getfixturevalue("aws"))


def good(n: int) -> dict[str, Any]:
    event = copy.deepcopy(load_event("waiting-completion.json"))
    event["id"] = f"good-{n}"
    return event


def nested(levels: int) -> dict[str, Any]:
    """``levels`` levels of objects."""
    top: dict[str, Any] = {}
    node = top
    for _ in range(levels - 1):
        node["x"] = {}
        node = node["x"]
    return top


def with_detail(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = good(99)
    event["id"] = "hostile"
    change(event)
    return event


def put(where: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = where.split(".")
        node = event
        for part in parents:
            node = node[part]
        node[last] = value

    return change


HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "lone surrogate in a value": (
        with_detail(put("detail.drinkOrder.drink", "Bad\ud800drink")),
        "detail.drinkOrder.drink holds text that is not Unicode (a lone surrogate, U+D800, "
        "at character 3)",
    ),
    "lone surrogate in a name": (
        with_detail(put("detail.drinkOrder.x\udfffy", 1)),
        "detail.drinkOrder has a name that is not Unicode text (a lone surrogate, U+DFFF, "
        "at character 1)",
    ),
    "lone surrogate in the source": (
        with_detail(put("source", "awsserverlessda.serverlesspresso\ud83d")),
        "source holds text that is not Unicode",
    ),
    "nested one level too deep": (
        with_detail(put("detail.deep", nested(MAX_NESTING - 1))),
        f"it is nested more than {MAX_NESTING} levels deep (at detail.deep.x.x.x.x...)",
    ),
    "nested 5,000 levels deep": (
        with_detail(put("detail.deep", nested(5000))),
        f"it is nested more than {MAX_NESTING} levels deep",
    ),
    "an integer over 64 bits": (
        with_detail(put("detail.amount", 2**63)),
        "detail.amount is an integer out of the 64-bit range EventBridge accepts "
        "('9223372036854775808')",
    ),
    "an integer of 5,000 bits": (
        with_detail(put("detail.amount", -(2**5000))),
        "detail.amount is an integer out of the 64-bit range EventBridge accepts "
        "(a 5001-bit integer)",
    ),
    "NaN": (with_detail(put("detail.price", float("nan"))), "detail.price is nan"),
    "infinity in an array": (
        with_detail(put("detail.prices", [1.5, float("-inf")])),
        "detail.prices[1] is -inf, which is not a JSON number",
    ),
    "a value JSON has none for": (
        with_detail(put("detail.when", datetime(2022, 10, 14, tzinfo=UTC))),
        "detail.when is a datetime, which JSON has no value for",
    ),
    "a name that is not text": (
        with_detail(put("detail.drinkOrder", {1: "Latte"})),
        "detail.drinkOrder has a key that is not text ('1')",
    ),
    "a PutEvents entry whose Detail is nested too deeply to read": (
        {
            "Source": "awsserverlessda.serverlesspresso",
            "DetailType": "OrderManager.WaitingCompletion",
            "Detail": '{"x":' * 5000 + "1" + "}" * 5000,
        },
        f"its Detail is nested too deeply to read; events are at most {MAX_NESTING} levels",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_one_event_that_cannot_travel_is_refused_and_the_others_published(
    backend: Backend, metrics: MetricSet, case: str
) -> None:
    hostile, why = HOSTILE[case]
    queue = backend.queue("MetricsQueue")
    bus = backend.bus_to("MetricsQueue", metrics.rule_pattern())
    result = bus.publish([good(1), hostile, good(2)])
    assert result.published == 2
    assert len(result.failed) == 1
    index, said = result.failed[0]
    assert index == 1 and why in said, said
    delivered = [json.loads(body) for body in drain(queue)]
    assert [e["detail"] for e in delivered] == [good(1)["detail"]] * 2


def test_the_deepest_event_both_buses_take_is_the_deepest_orjson_writes(
    backend: Backend, metrics: MetricSet
) -> None:
    deepest = with_detail(put("detail.deep", nested(MAX_NESTING - 2)))  # envelope, detail: +2
    orjson.dumps(deepest)  # writable
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(with_detail(put("detail.deep", nested(MAX_NESTING - 1))))
    assert problem_of(deepest) is None
    queue = backend.queue("MetricsQueue")
    bus = backend.bus_to("MetricsQueue", metrics.rule_pattern())
    result = bus.publish([deepest])
    assert result.published == 1 and result.failed == []
    (body,) = drain(queue)
    assert json.loads(body)["detail"]["deep"] == deepest["detail"]["deep"]
