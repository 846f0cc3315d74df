"""The Bus contract: a rule routes exactly the matching events to its queue, as envelopes
whose identity is the published event's."""

from __future__ import annotations

import json

from presso_metrics.domain.envelope import Envelope, parse_envelope
from presso_metrics.domain.metrics import MetricSet
from tests.conftest import load_event, recorded_trace
from tests.contract.backends import Backend


def drain(queue: object) -> list[str]:
    bodies: list[str] = []
    while True:
        got = queue.receive(10, wait_seconds=0.2)  # type: ignore[attr-defined]
        if not got:
            return bodies
        bodies += [m.body for m in got]
        queue.delete([m.receipt_handle for m in got])  # type: ignore[attr-defined]


def test_rule_routes_the_counted_events_with_their_identity(
    backend: Backend, metrics: MetricSet
) -> None:
    queue = backend.queue("MetricsQueue")
    bus = backend.bus_to("MetricsQueue", metrics.rule_pattern())
    trace = recorded_trace()[:60]
    result = bus.publish(trace)
    assert result.published == 60 and result.failed == []
    from datetime import UTC, datetime

    delivered = [parse_envelope(b, now=datetime.now(UTC)) for b in drain(queue)]
    assert all(isinstance(e, Envelope) for e in delivered)
    expected = {
        e["id"]
        for e in trace
        if e["detail-type"].startswith("OrderManager.Order")
        or e["detail-type"] == "OrderManager.WaitingCompletion"
    }
    assert {e.identity for e in delivered} == expected  # type: ignore[union-attr]
    sample = next(e for e in delivered if e.detail_type == "OrderManager.WaitingCompletion")  # type: ignore[union-attr]
    original = next(e for e in trace if e["id"] == sample.identity)  # type: ignore[union-attr]
    assert sample.raw["detail"] == original["detail"]  # type: ignore[union-attr]
    assert sample.time.isoformat().startswith(original["time"][:19])  # type: ignore[union-attr]


def test_put_events_entries_are_accepted(backend: Backend, metrics: MetricSet) -> None:
    queue = backend.queue("MetricsQueue")
    bus = backend.bus_to("MetricsQueue", metrics.rule_pattern())
    detail = load_event("waiting-completion.json")["detail"]
    result = bus.publish(
        [
            {
                "Source": "awsserverlessda.serverlesspresso",
                "DetailType": "OrderManager.WaitingCompletion",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert result.published == 1
    (body,) = drain(queue)
    assert json.loads(body)["detail"]["drinkOrder"]["drink"] == "Flat White"


def test_invalid_events_are_reported_and_the_rest_published(
    backend: Backend, metrics: MetricSet
) -> None:
    queue = backend.queue("MetricsQueue")
    bus = backend.bus_to("MetricsQueue", metrics.rule_pattern())
    good = load_event("waiting-completion.json")
    result = bus.publish([{"detail-type": "x", "detail": {}}, good, "text"])  # type: ignore[list-item]
    assert result.published == 1
    assert [i for i, _ in result.failed] == [0, 2]
    assert "source" in result.failed[0][1]
    assert len(drain(queue)) == 1
