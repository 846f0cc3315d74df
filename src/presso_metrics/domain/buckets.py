"""Time buckets by event time in the shop's time zone.

A bucket is a string that sorts in time order and is the first part of a counter's sort key:
``2022-10-14`` (day), ``2022-10-14T08`` (hour, local wall-clock hour), ``2022-10`` (month).
In the autumn DST change the repeated local hour falls into one hour bucket.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

GRANULARITIES = ("hour", "day", "month")


class BucketError(ValueError):
    """The time cannot be placed in a bucket (it falls outside the calendar)."""


def bucket_of(time: datetime, granularity: str, zone: tzinfo) -> str:
    try:
        local = time.astimezone(zone)
    except (OverflowError, ValueError) as e:
        raise BucketError(str(e)) from None
    if granularity == "day":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if granularity == "hour":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}"
    if granularity == "month":
        return f"{local.year:04d}-{local.month:02d}"
    raise ValueError(f"unknown granularity {granularity!r}")


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
