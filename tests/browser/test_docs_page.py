"""The API docs page (Swagger UI) in headless Chromium, under the dashboard's
Content-Security-Policy: it must still work (no inline script for the policy to block)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.support import free_port
from tests.integration.test_web_api import fill

CLI = str(Path(sys.executable).parent / "presso-metrics")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("docs") / "docs.db"
    fill(db)
    port = free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--db", str(db), "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def docs(server: str, browser: Browser) -> Iterator[tuple[Page, list[str], dict[str, str]]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{server}/docs")
    assert response is not None
    # Swagger UI, started by static/docs.js, has drawn its root: the scripts ran.
    page.wait_for_selector(".swagger-ui > div", state="attached", timeout=15_000)
    page.wait_for_timeout(500)  # let it fetch /openapi.json and draw
    yield page, errors, response.headers
    page.close()


def test_the_docs_page_runs_under_the_dashboards_policy(
    docs: tuple[Page, list[str], dict[str, str]],
) -> None:
    _, errors, headers = docs
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert errors == []  # a script or style the policy refused would be logged here


def test_the_docs_page_shows_the_api(docs: tuple[Page, list[str], dict[str, str]]) -> None:
    page, _, _ = docs
    page.wait_for_selector(".opblock-summary-path", timeout=5_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent)")
    assert "/api/metrics/{name}" in "".join(paths)
