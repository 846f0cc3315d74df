"""Figures of the embedded database that no port offers (the live status reads them)."""

from __future__ import annotations

from presso_metrics.adapters.sqlite_db import Database


def counted_events(db: Database) -> int:
    """Events counted and not yet expired: one dedup marker each, in the markers table or in
    the state of the event's order (a read, never a write)."""
    (count,) = db.connection.execute(
        "SELECT (SELECT count(*) FROM markers) + (SELECT coalesce(sum(events), 0) FROM orders)"
    ).fetchone()
    return int(count)
