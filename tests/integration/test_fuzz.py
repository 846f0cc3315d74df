"""Fuzzing the batch processor with arbitrary SQS records and bodies: random JSON, wrong types,
huge and deeply nested documents, invalid UTF-8 and lone surrogates, 1 MB bodies, a `time` in
the year 9999, 10,000-character drink names, mixed with good events in the same batch.

Never an exception out of the processor; every record is accounted for; every bad record is
dead-lettered with a reason; every good record of the same batch is counted exactly once.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.dead_letters import list_dead_letters
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints.worker import lambda_event
from presso_metrics.ports import OutgoingMessage
from presso_metrics.service import BatchCounter
from tests.chaos import scale
from tests.fakes import FakeQueue, FakeStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DRINKS = ["Latte", "Espresso", "Mocha"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def good_event(n: int, drink: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"good-{n}",
        "detail-type": "OrderManager.WaitingCompletion",
        "source": "awsserverlessda.serverlesspresso",
        "account": "1",
        "time": "2025-06-01T10:00:00Z",
        "region": "us-west-2",
        "resources": [],
        "detail": {"drinkOrder": {"drink": drink}},
    }


def mutated(base: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(base))
    event["id"] = "mutant"  # its own identity, never a good record's
    node = event
    parts = field.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[parts[-1]] = value
    return event


def countable_bads(bads: list[str]) -> int:
    """How many distinct events among the "bad" bodies are in fact countable: a mutant whose
    ``replay-name`` became null is a plain event (not a replay), a Latte of 2025-06-01; every
    mutant is called "mutant", so at most one is counted. Nothing else generated here can be a
    valid envelope (random keys are at most 8 characters; "detail-type" has 11)."""
    valid = {**good_event(0, "Latte"), "id": "mutant", "replay-name": None}
    for body in bads:
        try:
            if json.loads(body) == valid:
                return 1
        except (ValueError, RecursionError):  # not JSON, or nested beyond the parser
            continue
    return 0


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


bad_bodies = st.one_of(
    st.text(max_size=50),  # anything at all
    json_values.map(json.dumps),  # any JSON
    st.builds(
        lambda f, v: json.dumps(mutated(good_event(0, "Latte"), f, v)),
        st.sampled_from(
            [
                "id",
                "time",
                "source",
                "detail-type",
                "detail",
                "detail.drinkOrder",
                "detail.drinkOrder.drink",
                "replay-name",
            ]
        ),
        st.one_of(
            st.integers(),
            st.lists(st.integers(), max_size=2),
            st.none(),
            st.booleans(),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        ),
    ),
    st.just(json.dumps(mutated(good_event(0, "Latte"), "time", "9999-12-31T23:59:59Z"))),
    st.just(json.dumps(mutated(good_event(0, "Latte"), "detail.drinkOrder.drink", "x" * 10_000))),
    st.just(json.dumps(mutated(good_event(0, "Latte"), "detail.pad", "y" * 1_000_000))),  # 1 MB
    st.just('{"id": "\ud800", "time": "2025-01-01T00:00:00Z"}'),
    st.just("\udcff\udcfe not utf-8"),
    st.just(deep(100_000)),
    st.integers(min_value=1, max_value=60).map(lambda n: '{"a":' * n + "1" + "}" * n),
)

weird_records = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.fixed_dictionaries(
        {"messageId": st.text(string.ascii_letters, max_size=5).map("w".__add__)}
    ),
    st.fixed_dictionaries({"messageId": st.just("w"), "body": json_values}),
)


def record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "h",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


@pytest.mark.chaos
@settings(
    max_examples=scale(400, 5000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    goods=st.lists(st.sampled_from(DRINKS), max_size=8),
    bads=st.lists(bad_bodies, max_size=6),
    weird=st.lists(weird_records, max_size=2),
    repeat_good=st.booleans(),
    seed=st.randoms(use_true_random=False),
)
def test_any_batch_is_processed_without_crashing(
    metrics: MetricSet,
    goods: list[str],
    bads: list[str],
    weird: list[Any],
    repeat_good: bool,
    seed: Any,
) -> None:
    store, dlq = FakeStore(metrics=metrics), FakeQueue()
    records: list[Any] = [
        record(f"g{i}", json.dumps(good_event(i, d))) for i, d in enumerate(goods)
    ]
    if repeat_good and goods:
        records.append(record("g-again", json.dumps(good_event(0, goods[0]))))
    records += [record(f"b{i}", b) for i, b in enumerate(bads)]
    records += weird
    seed.shuffle(records)
    outcome = BatchCounter(metrics, store, dlq, clock=lambda: NOW).process({"Records": records})
    # Every record is accounted for, none is retried (the store and the DLQ are healthy).
    assert outcome.item_failures == []
    assert outcome.received == len(records)
    assert (
        outcome.counted
        + outcome.duplicates
        + outcome.rejected
        + outcome.unmatched
        + outcome.replays_skipped
    ) == len(records)
    # Good records are counted exactly once (and the one countable mutant, if generated) ...
    extra = countable_bads(bads)
    assert store.value("Aggregate", "2025-06-01", "TotalSales") == len(goods) + extra
    for drink in DRINKS:
        mutants = extra if drink == "Latte" else 0
        assert store.value("Aggregate", "2025-06-01", drink) == goods.count(drink) + mutants
    assert outcome.counted == len(goods) + extra
    # ... and every rejected record is in the dead-letter queue with a reason.
    assert len(dlq.sent) == outcome.rejected
    assert all(m.attributes.get("presso.reason") for m in dlq.sent)
    rejected_ids = {m.attributes["presso.message-id"] for m in dlq.sent}
    assert not any(i.startswith("g") for i in rejected_ids), "a good record was dead-lettered"


def test_the_listed_hostile_inputs_are_each_rejected_with_their_reason(metrics: MetricSet) -> None:
    base = good_event(0, "Latte")
    cases = {
        "not_json": "{not json",
        "too_large": json.dumps(mutated(base, "detail.pad", "y" * 1_000_000)),
        "time_out_of_range": json.dumps(mutated(base, "time", "9999-12-31T23:59:59Z")),
        "dimension_too_long": json.dumps(mutated(base, "detail.drinkOrder.drink", "x" * 10_000)),
        "not_json ": '{"id": "\ud800"}',
        "not_json  ": deep(50_000),  # 100 KB of nesting: the parser's depth limit
        "dimension_wrong_type": json.dumps(mutated(base, "detail.drinkOrder.drink", {"a": 1})),
        "not_an_envelope": "[]",
    }
    dlq = FakeQueue()
    records = [record(f"r{i}", body) for i, body in enumerate(cases.values())]
    records.append(record("good", json.dumps(good_event(1, "Mocha"))))
    store = FakeStore(metrics=metrics)
    outcome = BatchCounter(metrics, store, dlq, clock=lambda: NOW).process({"Records": records})
    assert outcome.item_failures == [] and outcome.counted == 1
    assert [m.attributes["presso.reason"] for m in dlq.sent] == [k.strip() for k in cases]
    assert store.value("Aggregate", "2025-06-01", "Mocha") == 1


@pytest.mark.chaos
@settings(
    max_examples=scale(40, 400),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(goods=st.lists(st.sampled_from(DRINKS), max_size=5), bads=st.lists(bad_bodies, max_size=4))
def test_fuzz_on_the_real_sqlite_store_and_queue(
    tmp_path_factory: pytest.TempPathFactory, goods: list[str], bads: list[str]
) -> None:
    path: Path = tmp_path_factory.mktemp("fuzz") / "f.db"
    stack = bootstrap.build(Settings(db=str(path)), provision=True)
    try:
        records = [record(f"g{i}", json.dumps(good_event(i, d))) for i, d in enumerate(goods)]
        records += [record(f"b{i}", b) for i, b in enumerate(bads)]
        outcome = stack.processor.process({"Records": records})
        assert outcome.item_failures == []
        total = stack.store.read("Aggregate", "2025-06-01", "2025-06-01")
        expected = len(goods) + countable_bads(bads)
        assert sum(c.value for c in total if c.key.dimension == "TotalSales") == expected
        assert outcome.counted == expected
        assert stack.dead_letters.depth().total == outcome.rejected
    finally:
        stack.close()


def test_a_body_at_the_queue_limit_is_kept_when_it_cannot_be_dead_lettered(
    tmp_path: Path,
) -> None:
    """A body of SQS's maximum size leaves no room for the reason attributes: it cannot be
    dead-lettered with its reason, so it is reported failed (kept on the queue), and the
    queue's redrive policy moves it to the dead-letter queue after maxReceiveCount receives."""
    stack = bootstrap.build(
        Settings(db=str(tmp_path / "edge.db"), max_receive_count=2), provision=True
    )
    try:
        padding = 1024 * 1024 - 400
        body = json.dumps(mutated(good_event(0, "Latte"), "detail.pad", "y" * padding))
        assert len(body) < 1024 * 1024
        stack.queue.send([OutgoingMessage(body)])
        for _ in range(3):
            messages = stack.queue.receive(10, visibility_timeout=0)
            if not messages:
                break
            outcome = stack.processor.process(lambda_event(messages, stack.queue))
            assert outcome.rejected == 0 and outcome.item_failures == [messages[0].message_id]
        (letter,) = list_dead_letters(stack.dead_letters)
        assert letter.reason == "max_receives" and letter.body == body
    finally:
        stack.close()
