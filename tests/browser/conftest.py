"""One headless Chromium for all the browser tests (see support.py), closed after the last of them:
Playwright's sync API keeps an event loop on the main thread while it runs, which other tests'
clients (Starlette's TestClient) cannot share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.support import launch


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()
