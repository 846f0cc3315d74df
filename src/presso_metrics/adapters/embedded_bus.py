"""An EventBridge-like bus in the embedded SQLite file.

``publish`` matches every enabled rule's pattern (the same matcher the metrics use) and delivers
each matching event to the rule's target queues, in one transaction: an event is on every
target queue or on none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from presso_metrics.adapters.embedded_queue import LOCAL_ACCOUNT, LOCAL_REGION, insert_messages
from presso_metrics.adapters.event_json import publishable
from presso_metrics.adapters.sqlite_db import Database
from presso_metrics.domain.patterns import EventPattern, compile_pattern
from presso_metrics.domain.publishing import MAX_EVENT_BYTES
from presso_metrics.exceptions import NotFoundError
from presso_metrics.ports import PublishResult


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: EventPattern
    targets: tuple[str, ...]


def create_bus(db: Database, name: str) -> None:
    with db.write() as conn:
        conn.execute(
            "INSERT INTO buses (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (name, time.time()),
        )


def put_rule(
    db: Database, bus: str, name: str, pattern: Mapping[str, Any], targets: Sequence[str]
) -> None:
    """Create or replace a rule and its queue targets (idempotent)."""
    compile_pattern(pattern)  # refuse a malformed pattern before storing it
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM buses WHERE name = ?", (bus,)).fetchone() is None:
            raise NotFoundError(f"event bus {bus!r} does not exist")
        conn.execute(
            "INSERT INTO rules (bus, name, pattern) VALUES (?, ?, ?) "
            "ON CONFLICT (bus, name) DO UPDATE SET pattern = excluded.pattern",
            (bus, name, orjson.dumps(dict(pattern)).decode()),
        )
        conn.execute("DELETE FROM targets WHERE bus = ? AND rule = ?", (bus, name))
        conn.executemany(
            "INSERT INTO targets (bus, rule, id, queue) VALUES (?, ?, ?, ?)",
            [(bus, name, f"{queue}-target", queue) for queue in targets],
        )


class EmbeddedBus:
    def __init__(
        self,
        db: Database,
        name: str,
        *,
        clock: Callable[[], float] = time.time,
        account: str = LOCAL_ACCOUNT,
        region: str = LOCAL_REGION,
    ) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.account = account
        self.region = region
        self._compiled: dict[str, EventPattern] = {}

    def rules(self) -> list[Rule]:
        conn = self.db.connection
        if conn.execute("SELECT 1 FROM buses WHERE name = ?", (self.name,)).fetchone() is None:
            raise NotFoundError(
                f"event bus {self.name!r} does not exist in {self.db.path}; run "
                "`presso-metrics init` to create the embedded stack"
            )
        targets: dict[str, list[str]] = {}
        for rule, queue in conn.execute(
            "SELECT rule, queue FROM targets WHERE bus = ? ORDER BY rule, id", (self.name,)
        ):
            targets.setdefault(rule, []).append(queue)
        rules = []
        for name, text, state in conn.execute(
            "SELECT name, pattern, state FROM rules WHERE bus = ? ORDER BY name", (self.name,)
        ):
            if state != "ENABLED":
                continue
            pattern = self._compiled.get(text)
            if pattern is None:
                pattern = self._compiled[text] = compile_pattern(orjson.loads(text))
            rules.append(Rule(name, pattern, tuple(targets.get(name, ()))))
        return rules

    def publish(self, events: Sequence[Mapping[str, Any]]) -> PublishResult:
        rules = self.rules()
        now = self.clock()
        when = datetime.fromtimestamp(now, UTC)
        result = PublishResult()
        deliveries: dict[str, list[tuple[str, str | None]]] = {}
        for index, event in enumerate(events):
            envelope = publishable(event, now=when, account=self.account, region=self.region)
            if isinstance(envelope, str):
                result.failed.append((index, envelope))
                continue
            body = orjson.dumps(envelope)
            if len(body) > MAX_EVENT_BYTES:
                result.failed.append(
                    (
                        index,
                        f"the event is {len(body)} bytes; EventBridge accepts {MAX_EVENT_BYTES}",
                    )
                )
                continue
            text = body.decode()
            for rule in rules:
                if rule.pattern.matches(envelope):
                    for queue in rule.targets:
                        deliveries.setdefault(queue, []).append((text, None))
            result.published += 1
        if deliveries:
            with self.db.write() as conn:
                for queue, rows in deliveries.items():
                    insert_messages(conn, queue, rows, now)
        return result
