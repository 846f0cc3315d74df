from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CLI = str(Path(sys.executable).parent / "presso-metrics")


class Cli:
    """Runs ``presso-metrics`` as a subprocess against one database file."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.env = {**os.environ, "PRESSO_METRICS_DB": str(db), "COLUMNS": "200"}

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CLI, *args], input=input, capture_output=True, text=True, env=self.env, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"presso-metrics {' '.join(args)} failed:\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [CLI, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "e2e.db")
