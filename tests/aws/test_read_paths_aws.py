"""The read paths on AWS, against the emulator: the Lambda read API answers 503 with the reason
when its table cannot be read; a debug log of real signed requests holds no credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.entrypoints import api_handler
from tests.aws_emulator import Emulator
from tests.lambda_http import Context, http_api_event
from tests.sam import table_from_template

CLI = str(Path(sys.executable).parent / "presso-metrics")


@pytest.fixture
def no_adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(api_handler, "_adapter", None)
    yield
    monkeypatch.setattr(api_handler, "_adapter", None)


def get(path: str) -> dict[str, Any]:
    result: dict[str, Any] = api_handler.handler(http_api_event(path), Context())
    return result


def test_a_missing_table_is_a_503_naming_it(
    aws: Emulator, no_adapter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    for path in ("/healthz", "/api/span", "/api/metrics/sales"):
        response = get(path)
        assert response["statusCode"] == 503, response
        detail = json.loads(response["body"])["detail"]
        assert detail.startswith("AWS refused Query (ResourceNotFoundException"), detail
        assert "TABLE_NAME" in detail
    assert get("/api/metrics")["statusCode"] == 200


def test_an_unreachable_endpoint_is_a_503_to_retry(
    no_adapter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    response = get("/healthz")
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "5"
    assert json.loads(response["body"])["detail"].startswith(
        "cannot reach http://127.0.0.1:9 (Connection refused)"
    )


def test_a_debug_log_of_signed_requests_holds_no_credential(aws: Emulator) -> None:
    key_id, secret = "AKIAREDACTIONTEST002", "AnotherSecretAccessKey0123456789abcdefXYZ"
    token = "IQoJb3JpZ2luX2VjEMPLE/debug+token0123456789=="
    client = aws.client("dynamodb")
    client.create_table(**table_from_template())
    env = {
        **os.environ,
        **aws.env,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": token,
    }
    result = subprocess.run(
        [CLI, "report", "--aws", "--format", "json", "--log-level", "DEBUG"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
    assert "Response body:" in result.stderr and "[redacted]" in result.stderr
    for value in (key_id, secret, token, token.split("/")[0]):
        assert value not in result.stderr


def test_allowed_hosts_restricts_the_lambda_api_to_its_names(
    aws: Emulator, no_adapter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.client("dynamodb").create_table(**table_from_template())
    monkeypatch.setenv("TABLE_NAME", "serverlesspresso-metrics-table")
    monkeypatch.setenv("ALLOWED_HOSTS", "metrics.example.com, *.corp.example")
    for host, status in [
        ("metrics.example.com", 200),
        ("dash.corp.example", 200),
        ("abc123.execute-api.us-west-2.amazonaws.com", 421),  # only the custom domain
    ]:
        event = http_api_event("/api/span", headers={"host": host})
        assert api_handler.handler(event, Context())["statusCode"] == status, host
