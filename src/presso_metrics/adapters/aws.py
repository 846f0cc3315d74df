"""boto3 clients from the standard configuration (environment, profiles, instance roles).

``AWS_ENDPOINT_URL`` (boto3's own setting) points every client at an emulator; region and
credentials come from boto3's usual chain. Clients are built once and reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from presso_metrics.exceptions import ConfigError

# botocore retries transient errors a few times itself; the adapters add their own
# capped, jittered backoff on top where the semantics need it (transactions, PutEvents).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=20,
)


@dataclass
class AwsClients:
    dynamodb: Any
    sqs: Any
    events: Any
    region: str

    @classmethod
    def from_environment(cls, session: boto3.Session | None = None) -> AwsClients:
        session = session or boto3.Session()
        region = session.region_name
        if not region:
            raise ConfigError(
                "no AWS region configured: set AWS_DEFAULT_REGION (or AWS_REGION, or a "
                "profile's region)"
            )
        return cls(
            dynamodb=session.client("dynamodb", config=CLIENT_CONFIG),
            sqs=session.client("sqs", config=CLIENT_CONFIG),
            events=session.client("events", config=CLIENT_CONFIG),
            region=region,
        )

    def close(self) -> None:
        for client in (self.dynamodb, self.sqs, self.events):
            close = getattr(client, "close", None)
            if close is not None:
                close()
