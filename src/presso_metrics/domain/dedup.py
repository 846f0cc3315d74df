"""How long an event's dedup marker is kept (the dedup horizon), and how old a dead letter may be
to be redriven without risk of counting it twice.

A copy of an event that arrives after its marker expired is counted again, so the horizon must
outlast every redelivery path. Both stores use this one rule (SQLite deletes expired markers
itself, DynamoDB's TTL does it on AWS), and ``dlq redrive`` uses :func:`max_redrive_age`.

The redelivery paths AWS documents, and their bounds:

- EventBridge retries delivering to a target for up to 24 hours (then dead-letters the event).
- A message lives at most 14 days in a queue (SQS's maximum retention). A standard queue's
  redrive policy moves a message to the dead-letter queue with its original enqueue time.
- A record the consumer dead-letters, and every redrive (``dlq redrive``, the console's, the
  ``StartMessageMoveTask`` API), is a *new* message: its 14 days start again. Redriving has no
  limit of its own, so the tool that redrives must bound it: ``dlq redrive`` refuses a message
  first enqueued more than ``max_redrive_age(horizon)`` ago. A copy it redrives then reaches
  the consumer within the source queue's 14 days, before the marker of any earlier copy
  (written no earlier than that first enqueue) has expired.
"""

from __future__ import annotations

from datetime import timedelta

# 90 days: the redrive bound below leaves 75 days to notice and fix a cause before redriving,
# and covers several redrives by tools that do not check ages (the console) within the
# dead-letter queue's own 14-day retention chain.
DEFAULT_DEDUP_HORIZON = timedelta(days=90)

# SQS's maximum retention: the longest a redriven copy can wait in the source queue.
SOURCE_QUEUE_RETENTION = timedelta(days=14)
# Clock skew between SQS's timestamps and ours, the consumer's retries near the end of the
# retention, rounding.
REDRIVE_MARGIN = timedelta(days=1)
MIN_DEDUP_HORIZON = SOURCE_QUEUE_RETENTION + REDRIVE_MARGIN + timedelta(days=1)


def check_horizon(horizon: timedelta) -> timedelta:
    """``horizon`` if it leaves room to redrive anything; a clear error otherwise."""
    if horizon < MIN_DEDUP_HORIZON:
        raise ValueError(
            f"the dedup horizon must be at least {MIN_DEDUP_HORIZON.days} days (a redriven "
            f"message can wait {SOURCE_QUEUE_RETENTION.days} days in the queue); "
            f"{DEFAULT_DEDUP_HORIZON.days} is the default"
        )
    return horizon


def marker_expiry(now: float, horizon: timedelta = DEFAULT_DEDUP_HORIZON) -> int:
    """The epoch second at which a marker written at ``now`` may be deleted."""
    return int(now + horizon.total_seconds())


def max_redrive_age(horizon: timedelta = DEFAULT_DEDUP_HORIZON) -> timedelta:
    """How long after its first enqueue a message may still be redriven: the horizon less the
    time a redriven copy can wait in the source queue, less a margin (75 days for 90)."""
    return check_horizon(horizon) - SOURCE_QUEUE_RETENTION - REDRIVE_MARGIN
