"""An EventBridge bus through boto3: PutEvents in calls of at most 10 entries (and 256 KB), with
the entries that failed for a transient reason resent with backoff."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from presso_metrics.adapters.event_json import publishable
from presso_metrics.domain.publishing import MAX_EVENT_BYTES, put_events_entry
from presso_metrics.ports import PublishResult

log = logging.getLogger("presso_metrics.eventbridge")

MAX_ENTRIES = 10  # PutEvents' limit per call
MAX_CALL_BYTES = 256 * 1024
RETRYABLE = {"InternalFailure", "ThrottlingException", "ServiceUnavailable"}


def _entry_size(entry: Mapping[str, Any]) -> int:
    """PutEvents' size of an entry: Source, DetailType, Detail, Resources, plus 14 for Time."""
    size = 14 if "Time" in entry else 0
    size += len(entry["Source"].encode()) + len(entry["DetailType"].encode())
    size += len(entry["Detail"].encode()) + sum(len(r.encode()) for r in entry["Resources"])
    return size


class EventBridgeBus:
    def __init__(
        self,
        client: Any,
        name: str,
        *,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.name = name
        self.max_attempts = max_attempts
        self.sleep = sleep

    def publish(self, events: Sequence[Mapping[str, Any]]) -> PublishResult:
        result = PublishResult()
        now = datetime.now(UTC)
        pending: list[tuple[int, dict[str, Any]]] = []
        for index, event in enumerate(events):
            envelope = publishable(event, now=now, account="", region=self.client.meta.region_name)
            if isinstance(envelope, str):
                result.failed.append((index, envelope))
                continue
            entry = put_events_entry(envelope, self.name)
            if _entry_size(entry) > MAX_EVENT_BYTES:
                result.failed.append(
                    (index, f"the event exceeds EventBridge's {MAX_EVENT_BYTES} bytes")
                )
                continue
            pending.append((index, entry))
        for call in _calls(pending):
            self._put(call, result)
        result.failed.sort()
        return result

    def _put(self, call: list[tuple[int, dict[str, Any]]], result: PublishResult) -> None:
        for attempt in range(self.max_attempts):
            try:
                response = self.client.put_events(Entries=[entry for _, entry in call])
            except Exception as e:  # the whole call failed (throttled, network): resend it
                retry, why = call, f"{type(e).__name__}: {e}"
            else:
                retry = []
                for (index, entry), answer in zip(call, response["Entries"], strict=True):
                    code = answer.get("ErrorCode")
                    if not code:
                        result.published += 1
                    elif code in RETRYABLE:
                        retry.append((index, entry))
                    else:
                        result.failed.append((index, f"{code}: {answer.get('ErrorMessage', '')}"))
                why = "transient errors"
            if not retry:
                return
            call = retry
            if attempt < self.max_attempts - 1:
                self.sleep(random.random() * min(2.0, 0.1 * 2**attempt))
        log.warning(
            "%d events not published after %d attempts: %s", len(call), self.max_attempts, why
        )
        result.failed.extend(
            (index, f"not accepted after {self.max_attempts} attempts ({why})") for index, _ in call
        )


def _calls(entries: list[tuple[int, dict[str, Any]]]) -> list[list[tuple[int, dict[str, Any]]]]:
    calls: list[list[tuple[int, dict[str, Any]]]] = []
    current: list[tuple[int, dict[str, Any]]] = []
    size = 0
    for item in entries:
        item_size = _entry_size(item[1])
        if current and (len(current) == MAX_ENTRIES or size + item_size > MAX_CALL_BYTES):
            calls.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        calls.append(current)
    return calls
