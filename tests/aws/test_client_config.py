"""The clients run with the product's own timeouts and retries, whatever the environment says,
and a deadline stops calls that might not end in time. The tests' clients are the product's."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.adapters import aws as product_aws
from presso_metrics.adapters.aws import AwsClients, DeadlineReachedError, calls_bounded_by
from tests.aws.test_dynamodb_store import dynamodb_error
from tests.aws_emulator import LEAKING_SETTINGS, Emulator

PRODUCT_RETRIES = {"mode": "standard", "total_max_attempts": 3}


@pytest.fixture
def developer_settings(aws: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What a developer's shell and ~/.aws/config may say."""
    config = tmp_path / "config"
    config.write_text("[default]\nretry_mode = adaptive\nmax_attempts = 7\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")


def test_the_emulator_fixture_clears_a_developers_retry_settings(aws: Emulator) -> None:
    assert not any(key in os.environ for key in LEAKING_SETTINGS)
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull


@pytest.mark.usefixtures("developer_settings")
def test_the_products_retry_settings_win_over_the_environment(aws: Emulator) -> None:
    for c in [aws.client("dynamodb"), *vars(AwsClients.from_environment()).values()]:
        if isinstance(c, str):
            continue  # the region
        assert c.meta.config.retries == PRODUCT_RETRIES
        assert (c.meta.config.connect_timeout, c.meta.config.read_timeout) == (3, 5)


@pytest.mark.usefixtures("developer_settings")
def test_a_throttled_call_is_attempted_three_times_whatever_the_environment(
    aws: Emulator,
) -> None:
    client = aws.client("sqs")
    attempts: list[int] = []

    def throttle(**_: Any) -> Any:
        attempts.append(1)
        return dynamodb_error(400, "ThrottlingException")

    client.meta.events.register("before-send.sqs.ListQueues", throttle)
    with pytest.raises(Exception, match="ThrottlingException"):
        client.list_queues()
    assert len(attempts) == 3


def test_a_deadline_stops_calls_that_might_not_end_in_time(aws: Emulator) -> None:
    client = aws.client("sqs")
    sent: list[int] = []
    # After the product's hook: what it lets through is sent.
    client.meta.events.register_last("before-send", lambda **_: sent.append(1))
    budget = product_aws.attempt_budget(client.meta.config)
    assert budget == 3 + 5 + 2
    with calls_bounded_by(time.monotonic() + budget + 5):
        client.list_queues()  # time enough for an attempt
    with (
        calls_bounded_by(time.monotonic() + budget - 1),
        pytest.raises(DeadlineReachedError, match="ListQueues not sent"),
    ):
        client.list_queues()
    client.list_queues()  # no deadline outside the block
    assert len(sent) == 2
    # An inner block can only bring the deadline closer.
    with (
        calls_bounded_by(time.monotonic() + 1),
        calls_bounded_by(time.monotonic() + 1000),
        pytest.raises(DeadlineReachedError),
    ):
        client.list_queues()
    assert len(sent) == 2
