"""Sizes of the fault and fuzz suites: short in `make test`, long in `make chaos`
(PRESSO_CHAOS=long)."""

from __future__ import annotations

import os

LONG = os.environ.get("PRESSO_CHAOS") == "long"


def scale(short: int, long: int) -> int:
    return long if LONG else short
