"""Review of the dashboard as the stack serves it: every file and API answer of the page comes
through the HTTP API, whose stage the template throttles (DefaultRouteSettings: a burst of 20,
10 requests a second, a token bucket). Opening the dashboard once must fit in that."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request

from tests.browser.support import LOAD_TIMEOUT_MS, open_page, serve
from tests.integration.test_web_api import fill
from tests.sam import sam_template

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("aws-dashboard") / "trace.db"
    fill(db)
    with serve({"PRESSO_METRICS_DB": str(db)}) as (address, _):
        yield address


@pytest.mark.xfail(
    strict=True,
    reason="a first open of the dashboard sends 34 requests within about 0.4 s (15 static "
    "files, /api/metrics, /api/span, 11 metrics for the range and 6 for the period before); "
    "the template's HTTP API allows a burst of 20 at 10 a second, so on AWS the rest are "
    "answered 429 and a module or a panel's data fails to load (static files are cached for "
    "an hour after, but each load of a range still sends 17 API requests at once)",
)
def test_opening_the_dashboard_fits_the_api_throttle(browser: Browser, url: str) -> None:
    settings = sam_template()["Resources"]["MetricsHttpApi"]["Properties"]["DefaultRouteSettings"]
    burst, rate = settings["ThrottlingBurstLimit"], settings["ThrottlingRateLimit"]
    page = open_page(browser)
    sent: list[float] = []
    start = time.monotonic()

    def on_request(request: Request) -> None:
        if request.url.startswith(url):
            sent.append(time.monotonic() - start)

    page.on("request", on_request)
    page.goto(url)
    page.wait_for_selector("body[data-loaded]", state="attached", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.close()
    assert page.errors == []  # type: ignore[attr-defined]
    # A token bucket of `burst` tokens refilled at `rate` a second admits, by time t, at most
    # burst + rate * t requests.
    spent = max(sent)
    assert len(sent) <= burst + rate * spent, (len(sent), round(spent, 2))
