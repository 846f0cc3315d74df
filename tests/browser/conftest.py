"""One headless Chromium for all the browser tests (see support.py), closed after the last of them:
Playwright's sync API keeps an event loop on the main thread while it runs, which other tests'
clients (Starlette's TestClient) cannot share. And one served database of orders at several
shops (shop_data.py), for the tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.shop_data import fill, shop_events
from tests.browser.support import launch, serve


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def shops_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `presso-metrics serve` of two weeks of orders at several shops (read only)."""
    db = tmp_path_factory.mktemp("shops") / "shops.db"
    fill(db, shop_events())
    with serve({"PRESSO_METRICS_DB": str(db)}) as (url, _):
        yield url
