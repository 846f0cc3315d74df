"""The dedup horizon: how long markers are kept, and how old a dead letter may be redriven."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from presso_metrics import bootstrap
from presso_metrics.domain.dedup import (
    DEFAULT_DEDUP_HORIZON,
    check_horizon,
    marker_expiry,
    max_redrive_age,
)
from presso_metrics.entrypoints.cli import main
from presso_metrics.exceptions import ConfigError

DAY = 24 * 3600


def test_the_default_horizon_covers_the_redelivery_paths() -> None:
    assert timedelta(days=90) == DEFAULT_DEDUP_HORIZON
    assert marker_expiry(1_700_000_000) == 1_700_000_000 + 90 * DAY
    # A redrive refuses what was first enqueued more than 75 days ago: a copy it redrives
    # waits at most 14 days in the queue, so it is processed within 89 days of the first
    # enqueue, before the marker of any copy counted since then (kept 90 days) expires.
    assert max_redrive_age() == timedelta(days=75)
    assert max_redrive_age(timedelta(days=120)) == timedelta(days=105)


@pytest.mark.parametrize("days", [0, 14, 15])
def test_a_horizon_that_leaves_no_room_to_redrive_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="at least 16 days"):
        check_horizon(timedelta(days=days))
    with pytest.raises(ValueError):
        max_redrive_age(timedelta(days=days))


def test_the_lambda_function_takes_it_from_its_environment() -> None:
    assert bootstrap.env_settings({}).dedup_horizon == timedelta(days=90)
    assert bootstrap.env_settings({"DEDUP_HORIZON_DAYS": "120"}).dedup_horizon == timedelta(
        days=120
    )
    with pytest.raises(ConfigError, match="DEDUP_HORIZON_DAYS='ninety': give a whole number"):
        bootstrap.env_settings({"DEDUP_HORIZON_DAYS": "ninety"})
    with pytest.raises(ConfigError, match=r"DEDUP_HORIZON_DAYS=.10.: .*at least 16 days"):
        bootstrap.env_settings({"DEDUP_HORIZON_DAYS": "10"})


@pytest.mark.parametrize("command", [["worker"], ["dlq", "redrive"], ["demo"]])
def test_the_commands_that_count_or_redrive_take_it(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--dedup-horizon-days", "10"])
    assert result.exit_code == 2 and "--dedup-horizon-days" in result.output
    assert "10 is not in the range x>=16" in result.output
