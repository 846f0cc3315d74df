"""boto3 clients from the standard configuration (environment, profiles, instance roles), with
the product's own timeouts and retries, and AWS calls bounded by a deadline.

``AWS_ENDPOINT_URL`` (boto3's own setting) points every client at an emulator; region and
credentials come from boto3's usual chain. Clients are built once and reused.

Retries and timeouts are set in code, both parts of each, so ``AWS_RETRY_MODE``,
``AWS_MAX_ATTEMPTS`` or a profile's ``retry_mode``/``max_attempts`` cannot change them (botocore
takes each setting from the client's ``Config`` first, then the environment, then the config
file). One attempt waits at most ``connect_timeout + read_timeout``; botocore makes at most
``total_max_attempts`` of them, waiting at most ``MAX_RETRY_WAIT`` between them.

A deadline (a ``time.monotonic()`` value) bounds every call made inside
:func:`calls_bounded_by`: an attempt, botocore's retries included, is started only if it can
time out, and botocore wait out its retry delay, before the deadline. Otherwise the call raises
:class:`DeadlineReachedError` without sending anything.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from presso_metrics.exceptions import ConfigError, PressoMetricsError

CONNECT_TIMEOUT = 3.0  # seconds to open a connection
READ_TIMEOUT = 5.0  # seconds to wait for an answer; SQS long polls stay below it
TOTAL_MAX_ATTEMPTS = 3  # botocore's attempts per call, the first included
# botocore's standard mode waits rand() * min(base * 2**(attempt - 1), 20) s before a retry, with
# base 1 s for throttling: before the third and last attempt, at most 2 s.
MAX_RETRY_WAIT = 2.0

# botocore retries transient errors itself; the adapters add their own capped, jittered backoff
# on top where the semantics need it (transactions, PutEvents), bounded by the same deadline.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": TOTAL_MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
    max_pool_connections=20,
)

_deadline: ContextVar[float | None] = ContextVar("presso_metrics_aws_deadline", default=None)


class DeadlineReachedError(PressoMetricsError):
    """An AWS call was not started: it might not end before the deadline. Nothing was sent."""


def attempt_budget(config: Config) -> float:
    """The longest one attempt can take, with botocore's wait before a retry."""
    return float(config.connect_timeout) + float(config.read_timeout) + MAX_RETRY_WAIT


@contextlib.contextmanager
def calls_bounded_by(deadline: float | None) -> Iterator[None]:
    """Bound the AWS calls made in this block (this thread or task) by ``deadline``; an inner
    block can only bring the deadline closer. ``None`` leaves the bound as it is."""
    if deadline is None:
        yield
        return
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def _refuse_late_attempt(budget: float, event_name: str = "", **_: Any) -> None:
    """botocore's ``before-send`` hook: runs before every attempt, retries included."""
    deadline = _deadline.get()
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left < budget:
        operation = event_name.rsplit(".", 1)[-1] or "AWS call"
        raise DeadlineReachedError(
            f"{operation} not sent: {max(left, 0):.1f} s left before the deadline, and an "
            f"attempt may take {budget:.0f} s"
        )


def client(
    session: boto3.Session,
    service: str,
    config: Config = CLIENT_CONFIG,
    endpoint_url: str | None = None,
) -> Any:
    """A client with the product's configuration and the deadline hook. ``endpoint_url``
    overrides ``AWS_ENDPOINT_URL``."""
    made = session.client(service, config=config, endpoint_url=endpoint_url)
    budget = attempt_budget(made.meta.config)
    made.meta.events.register("before-send", functools.partial(_refuse_late_attempt, budget))
    return made


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
            dynamodb=client(session, "dynamodb"),
            sqs=client(session, "sqs"),
            events=client(session, "events"),
            region=region,
        )

    def close(self) -> None:
        for c in (self.dynamodb, self.sqs, self.events):
            close = getattr(c, "close", None)
            if close is not None:
                close()
