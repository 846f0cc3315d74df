"""Time buckets by event time in the shop's time zone.

A bucket is a string that sorts in time order and is the first part of a counter's sort key:
``2022-10-14`` (day), ``2022-10-14T08`` (hour, local wall-clock hour), ``2022-10`` (month).
In the autumn DST change the repeated local hour falls into one hour bucket.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

GRANULARITIES = ("hour", "day", "month")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def strict_day(text: str) -> date:
    """A day written exactly ``YYYY-MM-DD`` (``date.fromisoformat`` also takes ``20221014``
    and week dates); a ValueError otherwise."""
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    return date.fromisoformat(text)


class BucketError(ValueError):
    """The time cannot be placed in a bucket (it falls outside the calendar)."""


_WIDTH = {"month": 7, "day": 10, "hour": 13}


def local_time(time: datetime, zone: tzinfo) -> str:
    """``time`` in ``zone`` as ISO 8601 text (``2022-10-14T12:52:21+00:00``)."""
    try:
        return time.astimezone(zone).isoformat()
    except (OverflowError, ValueError) as e:
        raise BucketError(str(e)) from None


def bucket_of_local(local: str, granularity: str) -> str:
    """The bucket of a local ISO time: its first 7 (month), 10 (day) or 13 (hour) characters."""
    try:
        return local[: _WIDTH[granularity]]
    except KeyError:
        raise ValueError(f"unknown granularity {granularity!r}") from None


def bucket_range(granularity: str, first: date, last: date) -> tuple[str, str]:
    """The inclusive range of bucket strings covering the days ``first`` to ``last``."""
    if granularity == "day":
        return first.isoformat(), last.isoformat()
    if granularity == "hour":
        return f"{first.isoformat()}T00", f"{last.isoformat()}T23"
    if granularity == "month":
        return first.isoformat()[:7], last.isoformat()[:7]
    raise ValueError(f"unknown granularity {granularity!r}")


def day_of_bucket(bucket: str) -> date:
    """The (first) day a bucket covers."""
    if len(bucket) == 7:
        return date.fromisoformat(bucket + "-01")
    return date.fromisoformat(bucket[:10])
