"""The end-to-end tests' ``cli`` fixture (the CLI as a subprocess on one database file), and the
browser tests' Chromium, for the review's reproductions."""

from __future__ import annotations

from tests.browser.conftest import browser
from tests.e2e.conftest import cli

__all__ = ["browser", "cli"]
