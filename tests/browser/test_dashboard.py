"""The dashboard in headless Chromium (Debian's package), served by `presso-metrics serve`.

`make test` installs Chromium when it is missing; without it this test fails, it does not skip
(conftest.py's `browser`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.support import open_page, table
from tests.conftest import EVENTS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CLI = str(Path(sys.executable).parent / "presso-metrics")
HOSTILE = "<img src=x onerror=alert(1)>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser") / "dashboard.db"
    env = {**os.environ, "PRESSO_METRICS_DB": str(db)}
    hostile = {
        "id": "hostile-1",
        "source": "awsserverlessda.serverlesspresso",
        "detail-type": "OrderManager.WaitingCompletion",
        "time": "2022-10-13T09:00:00Z",
        "detail": {"drinkOrder": {"drink": HOSTILE, "modifiers": [HOSTILE]}},
    }
    extra = db.parent / "hostile.json"
    extra.write_text(json.dumps([hostile]))
    for args in (
        ["publish", str(EVENTS / "recorded-serverlesspresso-trace.json")],
        ["publish", str(extra)],
        ["worker", "--drain"],
    ):
        subprocess.run([CLI, *args], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(process.stderr.read().decode() if process.stderr else "no server")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def page(browser: Browser, server: str) -> Iterator[Page]:
    page = open_page(browser)
    page.goto(server)
    page.wait_for_selector("body[data-loaded]")
    yield page
    page.close()


def test_dashboard_shows_the_recorded_day(page: Page) -> None:
    rows = table(page, "#sales-table")
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header[:2] == ["day", "TotalSales"]
    assert body["2022-10-14"]["TotalSales"] == "29"
    assert body["2022-10-14"]["Americano"] == "7"
    assert body["2022-10-14"]["Caffe Latte"] == "6"
    assert page.text_content("#kpi-sold") == "30"  # 29 plus the hostile order on the 13th
    outcomes = table(page, "#outcomes-table")
    assert ["2022-10-14", "16", "2"] in outcomes
    hourly = table(page, "#hourly-table")
    assert ["12:00", "23"] in hourly and ["13:00", "6"] in hourly
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_html_in_a_drink_name_stays_text(page: Page) -> None:
    header = table(page, "#sales-table")[0]
    assert HOSTILE in header
    assert HOSTILE in page.text_content("#modifiers-table")  # type: ignore[operator]
    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_date_range_control(page: Page) -> None:
    page.fill("#from", "2022-10-14")
    page.fill("#to", "2022-10-14")
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded='2022-10-14..2022-10-14']")
    rows = table(page, "#sales-table")
    assert [r[0] for r in rows[1:]] == ["2022-10-14"]
    assert HOSTILE not in rows[0]
    assert page.text_content("#kpi-sold") == "29"
    page.click("button[data-days='all']")
    page.wait_for_selector("body[data-loaded='2022-10-13..2022-10-14']")
    assert page.text_content("#kpi-sold") == "30"
