"""How long an event's dedup marker is kept: the dedup horizon.

A copy of an event that arrives after its marker expired is counted again, so the horizon must
outlast every redelivery path. Both stores use this one rule (SQLite deletes expired markers
itself, DynamoDB's TTL does it on AWS).
"""

from __future__ import annotations

from datetime import timedelta

# SQS keeps a message at most 14 days.
DEFAULT_DEDUP_HORIZON = timedelta(days=14)


def marker_expiry(now: float, horizon: timedelta = DEFAULT_DEDUP_HORIZON) -> int:
    """The epoch second at which a marker written at ``now`` may be deleted."""
    return int(now + horizon.total_seconds())
