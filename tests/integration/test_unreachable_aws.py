"""`--aws` against an endpoint nothing listens on: one line saying which endpoint, not botocore's
traceback; and at `--log-level DEBUG`, botocore's lines without the credentials it signs with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "presso-metrics")
KEY_ID = "AKIAREDACTIONTEST001"
SECRET = "Sup3rSecretAccessKeyValue0123456789abcdef"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/session+token/value0123456789=="
ONE_LINE = (
    "Error: cannot reach http://127.0.0.1:9 (Connection refused); check AWS_ENDPOINT_URL (or "
    "that it is unset, for AWS itself), the region and the network"
)
COMMANDS = [
    ["report"],
    ["status"],
    ["dlq", "list"],
    ["init"],
    ["dlq", "redrive"],
    ["worker", "--drain"],
]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PRESSO_METRICS_DB"
    }
    environment.update(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: every call fails
            "AWS_DEFAULT_REGION": "us-west-2",
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN,
            "AWS_MAX_ATTEMPTS": "1",
            **env,
        }
    )
    return subprocess.run(
        [CLI, *args, "--aws"], env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_endpoint_is_one_line(command: list[str]) -> None:
    result = run(*command)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [ONE_LINE]


def test_at_debug_the_signed_headers_are_redacted() -> None:
    result = run("report", "--log-level", "DEBUG")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) > 50  # botocore's debug lines are there: the check below means something
    assert "x-amz-security-token:[redacted]" in result.stderr  # the canonical request
    assert "'X-Amz-Security-Token': b'[redacted]'" in result.stderr  # the request's headers
    assert "'Authorization': b'[redacted], SignedHeaders=" in result.stderr
    assert "Signature=[redacted]" in result.stderr
    for secret in (KEY_ID, SECRET, TOKEN, TOKEN.split("/")[0]):
        assert secret not in result.stderr
    assert lines[-1] == ONE_LINE


def test_credentials_from_a_profile_are_redacted_too(tmp_path: Path) -> None:
    # Not in the environment, so known only by where botocore prints them.
    key_id, token = "PROFILEKEYID12345678", "profile-session-token-ABCDEF0123456789"
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[reader]\naws_access_key_id = {key_id}\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {token}\n"
    )
    result = run(
        "report",
        "--log-level",
        "DEBUG",
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_PROFILE="reader",
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_SESSION_TOKEN="",
    )
    assert "Found credentials in shared credentials file" in result.stderr
    for secret in (key_id, SECRET, token):
        assert secret not in result.stderr
    assert result.stderr.splitlines()[-1] == ONE_LINE
