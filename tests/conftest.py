"""Shared fixtures. Test tiers are pytest markers (see pyproject.toml); each directory's tests
carry their tier's marker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.domain.metrics_file import load_metrics
from tests.aws_emulator import aws, moto_server  # noqa: F401 - fixtures

EVENTS = Path(__file__).parent / "events"
TIERS = {
    "unit": "unit",
    "contract": "integration",
    "integration": "integration",
    "e2e": "e2e",
    "aws": "aws",
    "browser": "browser",
    "template": "integration",
}


def load_event(name: str) -> Any:
    """A sample event from tests/events/ (copied from the shared sample events)."""
    return json.loads((EVENTS / name).read_text("utf-8"))


def recorded_trace() -> list[dict[str, Any]]:
    trace: list[dict[str, Any]] = load_event("recorded-serverlesspresso-trace.json")
    return trace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = TIERS.get(Path(str(item.fspath)).parent.name)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def metrics() -> MetricSet:
    return load_metrics(default_metrics_text(), "metrics.toml")


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "metrics.db"
