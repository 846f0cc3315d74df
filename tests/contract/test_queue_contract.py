"""The Queue contract: SQS semantics on every adapter."""

from __future__ import annotations

from presso_metrics.ports import OutgoingMessage
from tests.contract.backends import Backend


def send(queue: object, *bodies: str, **attributes: str) -> None:
    errors = queue.send([OutgoingMessage(b, attributes) for b in bodies])  # type: ignore[attr-defined]
    assert errors == [""] * len(bodies)


def test_send_receive_delete(backend: Backend) -> None:
    q = backend.queue("Contract")
    send(q, "one", "two", "three")
    got = q.receive(10, wait_seconds=1)
    while len(got) < 3:  # SQS may return fewer than asked
        got += q.receive(10, wait_seconds=1)
    assert sorted(m.body for m in got) == ["one", "three", "two"]
    assert all(m.receive_count == 1 for m in got)
    assert len({m.message_id for m in got}) == 3
    q.delete([m.receipt_handle for m in got])
    assert q.depth().total == 0


def test_attributes_travel_with_the_message(backend: Backend) -> None:
    q = backend.queue("Contract")
    send(q, "x", **{"presso.reason": "not_json", "presso.field": "id"})
    (m,) = q.receive(1, wait_seconds=1)
    assert m.attributes == {"presso.reason": "not_json", "presso.field": "id"}


def test_received_messages_are_hidden_until_the_timeout(backend: Backend) -> None:
    q = backend.queue("Contract", visibility_timeout=2)
    send(q, "a")
    (first,) = q.receive(1, wait_seconds=1)
    assert q.receive(1) == []
    assert q.depth() == (0, 1)
    backend.advance(3)
    (again,) = q.receive(1, wait_seconds=1)
    assert again.message_id == first.message_id and again.receive_count == 2


def test_receive_can_override_the_visibility_timeout(backend: Backend) -> None:
    q = backend.queue("Contract", visibility_timeout=60)
    send(q, "a")
    q.receive(1, wait_seconds=1, visibility_timeout=1)
    backend.advance(2)
    assert len(q.receive(1, wait_seconds=1)) == 1


def test_messages_move_to_the_dead_letter_queue_after_max_receives(backend: Backend) -> None:
    dlq = backend.queue("ContractDLQ")
    q = backend.queue("Contract", visibility_timeout=1, dlq="ContractDLQ", max_receive_count=2)
    send(q, "poison")
    for _ in range(2):
        assert len(q.receive(1, wait_seconds=1)) == 1
        backend.advance(1.5)
    assert q.receive(1, wait_seconds=1) == []
    (dead,) = dlq.receive(1, wait_seconds=1)
    assert dead.body == "poison"


def test_peek_lists_without_consuming(backend: Backend) -> None:
    q = backend.queue("Contract")
    send(q, "a", "b")
    assert sorted(m.body for m in q.peek(10)) == ["a", "b"]
    assert sorted(m.body for m in q.peek(10)) == ["a", "b"]


def test_too_large_message_is_refused_and_others_sent(backend: Backend) -> None:
    q = backend.queue("Contract")
    errors = q.send([OutgoingMessage("x" * (1024 * 1024 + 1)), OutgoingMessage("ok")])
    assert errors[0] and not errors[1]
    (m,) = q.receive(10, wait_seconds=1)
    assert m.body == "ok"
