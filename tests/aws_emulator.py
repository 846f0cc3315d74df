"""moto's server mode on a loopback port: real AWS wire protocols over HTTP.

Started once per test session (only if a test asks for it) and reset between tests. The product
never imports moto: it is reached through boto3's standard AWS_ENDPOINT_URL setting. Tests'
clients are the product's (its timeouts, retries and deadline hook), and a developer's retry
settings (AWS_RETRY_MODE, AWS_MAX_ATTEMPTS, a config file) do not leak into a test.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config

from presso_metrics.adapters import aws as product_aws

REGION = "us-west-2"
# A developer's settings that would change how clients retry or whom they are.
LEAKING_SETTINGS = ("AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS")
# Files boto3 reads settings from: none (not ~/.aws either).
SETTINGS_FILES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass
class Emulator:
    endpoint: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def session(self) -> boto3.Session:
        return boto3.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    def client(self, service: str, config: Config | None = None):  # type: ignore[no-untyped-def]
        """A client as the product builds it (``config``: the product's unless given)."""
        return product_aws.client(
            self.session(),
            service,
            config or product_aws.CLIENT_CONFIG,
            endpoint_url=self.endpoint,
        )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Emulator]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Emulator(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A clean emulator, with boto3's standard environment pointing at it."""
    moto_server.reset()
    for key, value in moto_server.env.items():
        monkeypatch.setenv(key, value)
    # What a developer's shell may hold must not change how the tests' clients retry.
    for key in LEAKING_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    for key in SETTINGS_FILES:
        monkeypatch.setenv(key, os.devnull)
    yield moto_server
