"""The batch processor with fake store and dead-letter queue: the partial batch contract."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from presso_metrics.dead_letters import DeadLetter, list_dead_letters, redrive
from presso_metrics.domain.counting import ReplayPolicy
from presso_metrics.domain.envelope import Rejection
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.entrypoints.worker import lambda_event, lambda_record
from presso_metrics.ports import ApplyResult, ReceivedMessage
from presso_metrics.service import BatchCounter
from presso_metrics.sqs_records import BODY_ENCODING, FIRST_SENT
from tests.conftest import load_event
from tests.expected import SAMPLE_BATCH_SUMMARY
from tests.fakes import FakeQueue, FakeStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_SENT = 1714571111  # the SentTimestamp of tests/events/sqs-batch.json's records, in s


def processor(
    metrics: MetricSet, store: FakeStore, dlq: FakeQueue | None, **kw: Any
) -> BatchCounter:
    return BatchCounter(metrics, store, dlq, clock=lambda: NOW, **kw)


def record(body: str, message_id: str = "m-1", **attributes: str) -> dict[str, Any]:
    message = ReceivedMessage(message_id, "h", body, 1, 0, 0, attributes)
    return lambda_record(message, "arn:aws:sqs:us-west-2:1:MetricsQueue", "us-west-2")


def test_sample_batch_counts_two_events_and_dead_letters_two(metrics: MetricSet) -> None:
    # GIVEN the sample batch: two good events, a redelivery of the first, a body that is not
    # JSON, and an envelope without id/time/source
    store, dlq = FakeStore(metrics=metrics), FakeQueue()
    outcome = processor(metrics, store, dlq).process(load_event("sqs-batch.json"))
    # THEN three records count as two events, the broken two are dead-lettered, none retried
    assert outcome.response() == {"batchItemFailures": []}
    assert outcome.summary() == SAMPLE_BATCH_SUMMARY
    assert store.value("Aggregate", "2024-05-01", "TotalSales") == 2
    assert store.value("Aggregate", "2024-05-01", "Flat White") == 1
    assert store.value("Aggregate", "2024-05-01", "Latte") == 1
    reasons = [(m.attributes["presso.message-id"], m.attributes["presso.reason"]) for m in dlq.sent]
    assert reasons == [
        ("c0ffee00-1111-4222-8333-444455556666", "not_json"),
        ("b3c2d1e0-aaaa-4bbb-8ccc-dddd0000eeee", "missing_field"),
    ]
    assert dlq.sent[1].attributes["presso.field"] == "id"
    assert dlq.sent[0].body == "{not json"  # the body is dead-lettered untouched


def test_the_same_batch_again_counts_nothing(metrics: MetricSet) -> None:
    store, dlq = FakeStore(metrics=metrics), FakeQueue()
    p = processor(metrics, store, dlq)
    p.process(load_event("sqs-batch.json"))
    again = p.process(load_event("sqs-batch.json"))
    assert again.counted == 0 and again.duplicates == 3
    assert store.value("Aggregate", "2024-05-01", "TotalSales") == 2


def test_failing_store_reports_every_record_of_its_events(metrics: MetricSet) -> None:
    store, dlq = FakeStore(metrics=metrics), FakeQueue()
    store.fail_next = 1
    outcome = processor(metrics, store, dlq).process(load_event("sqs-batch.json"))
    # The three records carrying the two events come back; the rejected two do not.
    assert sorted(outcome.item_failures) == sorted(
        [
            "059f36b4-87a3-44ab-83d2-661975830a7d",
            "2e1424d4-f796-459a-8184-9c92662be6da",
            "7d5a4c3b-2a19-4f08-9e7d-6c5b4a392817",
        ]
    )
    assert outcome.rejected == 2 and store.counters == {}


def test_store_that_raises_never_crashes_the_consumer(metrics: MetricSet) -> None:
    class Exploding(FakeStore):
        def apply(self, events: Any) -> Any:
            raise ConnectionError("network down")

    outcome = processor(metrics, Exploding(), FakeQueue()).process(load_event("sqs-batch.json"))
    assert len(outcome.item_failures) == 3 and outcome.failed == 3


def test_unreachable_dead_letter_queue_keeps_the_rejected_records(metrics: MetricSet) -> None:
    dlq = FakeQueue()
    dlq.refuse = True
    outcome = processor(metrics, FakeStore(metrics=metrics), dlq).process(
        load_event("sqs-batch.json")
    )
    assert sorted(outcome.item_failures) == [
        "b3c2d1e0-aaaa-4bbb-8ccc-dddd0000eeee",
        "c0ffee00-1111-4222-8333-444455556666",
    ]
    assert outcome.counted == 2


def test_without_a_dead_letter_queue_rejections_are_left_to_redrive(metrics: MetricSet) -> None:
    outcome = processor(metrics, FakeStore(metrics=metrics), None).process(
        load_event("sqs-batch.json")
    )
    assert len(outcome.item_failures) == 2


def test_replays_are_skipped_and_acknowledged(metrics: MetricSet) -> None:
    store = FakeStore(metrics=metrics)
    body = json.dumps(load_event("replayed-event.json"))
    outcome = processor(metrics, store, FakeQueue()).process({"Records": [record(body)]})
    assert outcome.replays_skipped == 1 and outcome.item_failures == [] and store.counters == {}
    rebuild = processor(metrics, store, FakeQueue(), replay=ReplayPolicy("rebuild"))
    assert rebuild.process({"Records": [record(body)]}).counted == 1


def test_events_no_metric_counts_are_acknowledged(metrics: MetricSet) -> None:
    event = load_event("waiting-completion.json")
    event["detail-type"] = "Validator.NewOrder"
    outcome = processor(metrics, FakeStore(metrics=metrics), FakeQueue()).process(
        {"Records": [record(json.dumps(event))]}
    )
    assert outcome.unmatched == 1 and outcome.item_failures == []


def test_not_an_sqs_event(metrics: MetricSet) -> None:
    outcome = processor(metrics, FakeStore(metrics=metrics), FakeQueue()).process({"foo": 1})
    assert outcome.received == 0 and outcome.response() == {"batchItemFailures": []}


def test_records_that_are_not_objects_are_dead_lettered(metrics: MetricSet) -> None:
    dlq = FakeQueue()
    outcome = processor(metrics, FakeStore(metrics=metrics), dlq).process({"Records": ["text", 5]})
    assert outcome.rejected == 2
    assert [m.attributes["presso.reason"] for m in dlq.sent] == ["not_a_record"] * 2


def test_invalid_unicode_body_is_dead_lettered_losslessly(metrics: MetricSet) -> None:
    dlq = FakeQueue()
    body = '{"id": "\ud800"}'
    processor(metrics, FakeStore(metrics=metrics), dlq).process({"Records": [record(body)]})
    (letter,) = dlq.sent
    assert letter.attributes[BODY_ENCODING] == "base64"
    assert base64.b64decode(letter.body).decode("utf-8", "surrogatepass") == body
    # Redriven, it is read back as the same text (and rejected for the same reason).
    again = FakeQueue()
    processor(metrics, FakeStore(metrics=metrics), again).process(
        {"Records": [record(letter.body, **{BODY_ENCODING: "base64"})]}
    )
    assert again.sent[0].body == letter.body
    assert again.sent[0].attributes["presso.reason"] == letter.attributes["presso.reason"]


def test_dead_letter_listing_and_redrive(metrics: MetricSet) -> None:
    dlq, source = FakeQueue("DLQ"), FakeQueue("MetricsQueue")
    processor(metrics, FakeStore(metrics=metrics), dlq).process(load_event("sqs-batch.json"))
    letters = list_dead_letters(dlq)
    assert [d.reason for d in letters] == ["not_json", "missing_field"]
    # An hour after the sample's records were first enqueued (SentTimestamp 2024-05-01).
    assert redrive(dlq, source, clock=lambda: SAMPLE_SENT + 3600, wait_seconds=0).moved == 2
    assert [m.body for m in source.sent] == [d.body for d in letters]
    assert dlq.sent == []


def test_dead_letter_without_reason_was_moved_by_the_redrive_policy() -> None:
    letter = DeadLetter.of(ReceivedMessage("m", "h", "{}", 6, 0, 0, {}))
    assert letter.reason == "max_receives"


def test_batch_event_has_the_lambda_shape() -> None:
    queue = FakeQueue("MetricsQueue")
    messages = [ReceivedMessage("id-1", "rh-1", "{}", 2, 1000, 2000, {"a": "b"})]
    (rec,) = lambda_event(messages, queue)["Records"]
    template = copy.deepcopy(load_event("sqs-batch.json")["Records"][0])
    assert set(rec) == set(template)
    assert set(rec["attributes"]) == set(template["attributes"])
    assert rec["attributes"]["ApproximateReceiveCount"] == "2"
    assert rec["messageAttributes"]["a"]["stringValue"] == "b"


@pytest.mark.parametrize("n", [1, 10, 100])
def test_in_batch_duplicates_of_a_failed_event_all_come_back(metrics: MetricSet, n: int) -> None:
    store = FakeStore(metrics=metrics)
    store.fail_next = 1
    body = json.dumps(load_event("waiting-completion.json"))
    outcome = processor(metrics, store, FakeQueue()).process(
        {"Records": [record(body, f"m-{i}") for i in range(n)]}
    )
    assert len(outcome.item_failures) == n and outcome.duplicates == 0


# --- the store refuses an event; a deadline; when a dead letter was first enqueued -------------


class RefusingStore(FakeStore):
    """Refuses, as DynamoDB does a key or an item too large, the events in ``refuse``."""

    def __init__(self, *refuse: str, metrics: MetricSet | None = None) -> None:
        super().__init__(metrics=metrics)
        self.refuse = set(refuse)
        self.deadlines: list[float | None] = []

    def apply(self, events: Any, *, deadline: float | None = None) -> ApplyResult:
        self.deadlines.append(deadline)
        refused = [e for e in events if e.marker in self.refuse]
        result = super().apply([e for e in events if e.marker not in self.refuse])
        result.rejected = {
            e.marker: Rejection("store_refused", "DynamoDB: Item size exceeded") for e in refused
        }
        return result


def sale_body(event_id: str, drink: str = "Latte") -> str:
    event = load_event("waiting-completion.json")
    event["id"] = event_id
    event["detail"]["drinkOrder"]["drink"] = drink
    return json.dumps(event)


def test_an_event_the_store_refuses_is_dead_lettered_and_the_rest_counted(
    metrics: MetricSet,
) -> None:
    # GIVEN 20 good sales and one the store refuses, carried twice
    store, dlq = RefusingStore("poison", metrics=metrics), FakeQueue()
    records = [record(sale_body(f"good-{i}"), f"m-{i}") for i in range(20)]
    records += [record(sale_body("poison"), "m-poison"), record(sale_body("poison"), "m-again")]
    # WHEN the batch is processed
    outcome = processor(metrics, store, dlq).process({"Records": records})
    # THEN the 20 are counted, both records of the refused event are dead-lettered with the
    # store's reason, and nothing is left to retry
    assert outcome.counted == 20 and outcome.rejected == 2 and outcome.item_failures == []
    assert store.value("Aggregate", "2024-05-01", "TotalSales") == 20
    assert sorted(m.attributes["presso.message-id"] for m in dlq.sent) == ["m-again", "m-poison"]
    assert {m.attributes["presso.reason"] for m in dlq.sent} == {"store_refused"}
    assert dlq.sent[0].attributes["presso.message"] == "DynamoDB: Item size exceeded"
    assert dlq.sent[0].body == sale_body("poison")
    assert [m for m, _ in outcome.rejections] == ["m-poison", "m-again"]


def test_the_deadline_reaches_the_store(metrics: MetricSet) -> None:
    store = RefusingStore(metrics=metrics)
    processor(metrics, store, FakeQueue()).process(load_event("sqs-batch.json"), deadline=123.0)
    assert store.deadlines == [123.0]


def test_rejected_records_not_dead_lettered_by_the_deadline_are_retried(
    metrics: MetricSet,
) -> None:
    # The deadline passes while the store works: the rejected records are not lost, they come
    # back (and are dead-lettered then).
    now = [0.0]

    class SlowStore(FakeStore):
        def apply(self, events: Any, *, deadline: float | None = None) -> ApplyResult:
            now[0] = 100.0  # the store took the time that was left
            return super().apply(events, deadline=deadline)

    dlq = FakeQueue()
    counter = BatchCounter(
        metrics, SlowStore(metrics=metrics), dlq, clock=lambda: NOW, monotonic=lambda: now[0]
    )
    outcome = counter.process(load_event("sqs-batch.json"), deadline=50.0)
    assert dlq.sent == [] and outcome.rejected == 0
    assert sorted(outcome.item_failures) == [
        "b3c2d1e0-aaaa-4bbb-8ccc-dddd0000eeee",
        "c0ffee00-1111-4222-8333-444455556666",
    ]
    assert outcome.counted == 2  # stored before the deadline


def test_a_dead_letter_carries_when_it_was_first_enqueued(metrics: MetricSet) -> None:
    dlq = FakeQueue()
    processor(metrics, FakeStore(metrics=metrics), dlq).process(load_event("sqs-batch.json"))
    # The source records' SentTimestamp ...
    assert {m.attributes[FIRST_SENT] for m in dlq.sent} == {"1714571111000"}
    # ... unless the record carries an earlier stamp (it was redriven): that one is kept.
    again = FakeQueue()
    redriven = record("{not json", "m-2", **{FIRST_SENT: "1700000000000"})
    processor(metrics, FakeStore(metrics=metrics), again).process({"Records": [redriven]})
    assert again.sent[0].attributes[FIRST_SENT] == "1700000000000"


def test_a_dead_letter_from_eventbridge_says_why_it_was_not_delivered() -> None:
    attributes = {
        "ERROR_CODE": "NO_PERMISSIONS",
        "ERROR_MESSAGE": "Access denied to sqs:SendMessage on MetricsQueue",
        "RULE_ARN": "arn:aws:events:us-west-2:1:rule/Serverlesspresso/OrderMetrics-DynamoDB",
        "TARGET_ARN": "arn:aws:sqs:us-west-2:1:MetricsQueue",
    }
    body = json.dumps(load_event("waiting-completion.json"))
    letter = DeadLetter.of(ReceivedMessage("m", "h", body, 1, 1714571111000, 0, attributes))
    assert letter.reason == "delivery_failed"
    assert letter.message == (
        "EventBridge: NO_PERMISSIONS: Access denied to sqs:SendMessage on MetricsQueue "
        "(rule arn:aws:events:us-west-2:1:rule/Serverlesspresso/OrderMetrics-DynamoDB)"
    )
    assert letter.rejected_at == letter.first_sent == "2024-05-01T13:45:11+00:00"
    assert letter.body == body
