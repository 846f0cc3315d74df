"""Every command has help text and is documented in the README, options included."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from presso_metrics.entrypoints.cli import main

README = (Path(__file__).parents[2] / "README.md").read_text()


def commands(group: click.Group = main, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out.extend(commands(command, f"{full} "))
    return out


@pytest.mark.parametrize("name, command", commands(), ids=[n for n, _ in commands()])
def test_command_has_help_and_is_documented(name: str, command: click.Command) -> None:
    assert command.help and len(command.help) > 20, f"{name} has no help text"
    assert f"presso-metrics {name}" in README, f"`presso-metrics {name}` is not in the README"
    for param in command.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            assert f"`{longest}" in README or f" {longest}" in README, (
                f"option {longest} of `{name}` is not documented in the README"
            )
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_environment_variables_are_documented() -> None:
    for var in (
        "PRESSO_METRICS_DB",
        "PRESSO_METRICS_FILE",
        "PRESSO_METRICS_TIME_ZONE",
        "AWS_ENDPOINT_URL",
        "TABLE_NAME",
        "DEAD_LETTER_QUEUE_URL",
        "TIME_ZONE",
        "METRICS_FILE",
        "REPLAY_MODE",
        "BACKFILL_METRICS",
    ):
        assert var in README, var


def test_readme_opens_with_the_two_commands() -> None:
    head = README.split("\n## ")[0]
    assert "make demo" in head and "make test" in head
    assert README.index("make demo") < README.index("## ")
