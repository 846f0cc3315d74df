"""Create (or bring up to date) the embedded stack in a database file: the bus, the rule routing
the metrics' events to the queue, the queue with its dead-letter queue and redrive policy. The
tables themselves come from the database's migrations. Idempotent."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from presso_metrics.adapters.embedded_bus import create_bus, put_rule
from presso_metrics.adapters.embedded_queue import create_queue
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.exceptions import ConfigError
from presso_metrics.names import Names


def provision_embedded(
    db: Database,
    names: Names,
    *,
    rule_pattern: Mapping[str, Any],
    time_zone: str,
    visibility_timeout: int,
    max_receive_count: int,
) -> dict[str, Any]:
    """Create the embedded stack; returns what exists, for ``presso-metrics init``."""
    check_time_zone(db, time_zone, record=True)
    create_queue(db, names.dead_letter_queue, visibility_timeout=visibility_timeout)
    create_queue(
        db,
        names.queue,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=names.dead_letter_queue,
        max_receive_count=max_receive_count,
    )
    create_bus(db, names.bus)
    put_rule(db, names.bus, names.rule, rule_pattern, [names.queue])
    return {
        "backend": "embedded",
        "database": str(Path(db.path).resolve()) if db.path != ":memory:" else db.path,
        "bus": names.bus,
        "rule": {"name": names.rule, "pattern": dict(rule_pattern), "target": names.queue},
        "queue": {
            "name": names.queue,
            "visibility_timeout": visibility_timeout,
            "dead_letter_queue": names.dead_letter_queue,
            "max_receive_count": max_receive_count,
        },
        "dead_letter_queue": names.dead_letter_queue,
        "table": "counters (in the database file)",
        "time_zone": time_zone,
    }


def check_time_zone(db: Database, zone: str, *, record: bool = False) -> None:
    """Refuse to mix days of two time zones in one table: the first zone counted in is
    remembered (``record``), and every later use must ask for the same one."""
    if record:
        with db.write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES ('time_zone', ?) "
                "ON CONFLICT (key) DO NOTHING",
                (zone,),
            )
    row = db.connection.execute("SELECT value FROM settings WHERE key = 'time_zone'").fetchone()
    if row is not None and row[0] != zone:
        raise ConfigError(
            f"{db.path} counts days in {row[0]}, but the metrics ask for {zone}; "
            f"use --time-zone {row[0]} with this database, or a new --db for {zone}"
        )
