"""The load-test function on the emulator: it publishes the burst on the bus (the rule routes it
to the queue), and a container builds its client once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints import loadtest_handler
from tests.aws.test_lambda_handler import LambdaContext
from tests.aws_emulator import Emulator


def test_it_publishes_and_reuses_its_bus(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the stack as `init --aws` creates it
    bootstrap.provision_stack(Settings(aws=True))
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="MetricsQueue")["QueueUrl"]
    monkeypatch.setattr(loadtest_handler, "_bus", None)  # a new container
    # WHEN the function is invoked twice
    first = loadtest_handler.handler({"orders": 7}, LambdaContext(function_name="LoadTest"))
    bus = loadtest_handler._bus
    second = loadtest_handler.handler({"orders": 5}, LambdaContext(function_name="LoadTest"))
    # THEN both bursts reached the queue, through one bus (one client) for the container
    assert first == {"published": 7, "failed": []} and second == {"published": 5, "failed": []}
    assert bus is not None and loadtest_handler._bus is bus
    bodies: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    ):
        bodies += [json.loads(m["Body"]) for m in got]
    assert len(bodies) == 12
    assert {b["detail-type"] for b in bodies} == {"OrderManager.WaitingCompletion"}
    monkeypatch.setattr(loadtest_handler, "_bus", None)


def test_a_bad_size_is_refused(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadtest_handler, "_bus", None)
    answer = loadtest_handler.handler({"orders": "many"}, LambdaContext())
    assert answer == {"error": "orders must be a whole number, not 'many'"}
    assert loadtest_handler._bus is None  # nothing built for nothing
