"""Limits (a flood of random drink names), and what must never leak or be allowed."""

from __future__ import annotations

import os
import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.entrypoints.web import create_app
from presso_metrics.entrypoints.worker import WorkerOptions, consume

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "presso-metrics")


def test_a_flood_of_random_drink_names_is_capped(tmp_path: Path) -> None:
    # GIVEN 3,000 orders over 3 days, each with a different random drink name
    rng = random.Random(1)
    events = [
        {
            "id": f"flood-{i}",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": f"2025-06-0{1 + i % 3}T10:00:00Z",
            "detail": {"drinkOrder": {"drink": "".join(rng.choices(string.ascii_letters, k=12))}},
        }
        for i in range(3000)
    ]
    stack = bootstrap.build(Settings(db=str(tmp_path / "flood.db")), provision=True)
    try:
        stack.bus.publish(events)
        consume(
            stack.queue,
            stack.processor,
            WorkerOptions(batch_size=500, drain=True, poll_seconds=0.05),
        )
        # THEN at most 100 distinct drinks are kept (the metric's cap), the rest are "other"
        counters = stack.store.read("Aggregate", "2025-06-01", "2025-06-03")
        names = {c.key.dimension for c in counters} - {"TotalSales", "other"}
        assert len(names) == 100
        by_day: dict[str, int] = {}
        for c in counters:
            if c.key.dimension != "TotalSales":
                by_day[c.key.bucket] = by_day.get(c.key.bucket, 0) + c.value
        assert by_day == {"2025-06-01": 1000, "2025-06-02": 1000, "2025-06-03": 1000}
        totals = {c.key.bucket: c.value for c in counters if c.key.dimension == "TotalSales"}
        assert totals == {"2025-06-01": 1000, "2025-06-02": 1000, "2025-06-03": 1000}
        # AND the dashboard's data stays bounded
        with TestClient(create_app(stack.metrics, stack.store)) as client:
            rows = client.get("/api/metrics/sales").json()
        assert len(rows) <= 3 * (100 + 2)
    finally:
        stack.close()


def test_no_secret_in_the_code() -> None:
    suspicious = re.compile(r"AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=\s*['\"][^'\"]{20,}")
    for path in [*ROOT.joinpath("src").rglob("*.py"), ROOT / "template.yaml", ROOT / "README.md"]:
        assert not suspicious.search(path.read_text()), path


def test_errors_and_logs_do_not_show_credentials(tmp_path: Path) -> None:
    secret = "Sup3rSecretAccessKeyValue0123456789abcdef"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: every call fails
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_MAX_ATTEMPTS": "1",
    }
    result = subprocess.run(
        [CLI, "worker", "--aws", "--drain", "--log-level", "DEBUG"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert secret not in result.stdout + result.stderr


def test_lambda_configuration_errors_say_what_and_where(monkeypatch: pytest.MonkeyPatch) -> None:
    from presso_metrics.entrypoints import lambda_handler
    from presso_metrics.exceptions import ConfigError

    monkeypatch.setenv("TIME_ZONE", "Mars/Olympus")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setattr(lambda_handler, "_processor", None)
    with pytest.raises(ConfigError, match=r"time zone 'Mars/Olympus'.*IANA name"):
        lambda_handler.processor()
    monkeypatch.setenv("TIME_ZONE", "UTC")
    monkeypatch.setenv("REPLAY_MODE", "sometimes")
    with pytest.raises(ConfigError, match="REPLAY_MODE"):
        lambda_handler.processor()
