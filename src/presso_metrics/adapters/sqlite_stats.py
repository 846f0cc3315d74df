"""Figures of the embedded database that no port offers (the live status reads them)."""

from __future__ import annotations

from presso_metrics.adapters.sqlite_db import Database


def counted_events(db: Database) -> int:
    """Events counted and not yet expired: one dedup marker each (a read, never a write)."""
    (count,) = db.connection.execute("SELECT count(*) FROM markers").fetchone()
    return int(count)
