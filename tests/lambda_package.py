"""Build the Lambda functions' package as `sam build` does: the code URI (src/) with
src/requirements.txt installed beside it. Used by the packaging test and the footprint bench."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def build(target: Path, *, platform: str | None = None) -> Path:
    """Install the requirements into ``target`` and copy the package. ``platform`` (e.g.
    ``manylinux2014_aarch64``) fetches the wheels Lambda's arm64 runtime would get."""
    target.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        str(SRC / "requirements.txt"),
        "--target",
        str(target),
    ]
    if platform:
        command += [
            "--platform",
            platform,
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
        ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    shutil.copytree(
        SRC / "presso_metrics",
        target / "presso_metrics",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    return target


def size_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
