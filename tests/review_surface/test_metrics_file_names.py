"""Review: names a metrics file gives (metric names, dimension labels) are checked when it is
loaded ("lower case letters, digits and underscores"); one that slips through reaches an HTTP
header."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from presso_metrics.domain.metrics_file import load_metrics
from presso_metrics.exceptions import ConfigError
from tests.browser.support import serve
from tests.e2e.conftest import Cli
from tests.review_surface.orders import order

NEWLINE_NAME = """
[metrics."sales\\n"]
total = "TotalSales"
dimension = "detail.drinkOrder.drink"
dimension_label = "drink\\n"

[metrics."sales\\n".events]
detail-type = ["OrderManager.WaitingCompletion"]
"""


@pytest.mark.unit
@pytest.mark.xfail(
    strict=True,
    reason="metrics_file._NAME and _LABEL end in '$' and are used with re.match, and '$' "
    "matches before a final newline: 'sales\\n' and 'drink\\n' are accepted",
)
def test_a_metric_name_or_label_ending_in_a_newline_is_refused() -> None:
    with pytest.raises(ConfigError):
        load_metrics(NEWLINE_NAME, "metrics.toml")


@pytest.mark.e2e
@pytest.mark.xfail(
    strict=True,
    reason="the CSV download puts the metric name in Content-Disposition (web.py); uvicorn's "
    "h11 refuses a header value holding a newline, so the connection is dropped with no answer",
)
def test_the_csv_download_of_every_metric_the_file_declares_answers(
    cli: Cli, tmp_path: Path
) -> None:
    metrics_file = tmp_path / "metrics.toml"
    metrics_file.write_text(NEWLINE_NAME)
    events = tmp_path / "events.json"
    events.write_text(json.dumps(order("n1", "NYC", "Latte")[:1]))
    cli.run("publish", "--metrics", str(metrics_file), str(events))
    cli.run("worker", "--metrics", str(metrics_file), "--drain")
    env = {**cli.env, "PRESSO_METRICS_FILE": str(metrics_file)}
    with serve(env) as (url, _):
        names = [m["name"] for m in json.load(urllib.request.urlopen(f"{url}/api/metrics"))]
        for name in names:
            quoted = urllib.parse.quote(name, safe="")
            try:
                answer = urllib.request.urlopen(f"{url}/api/metrics/{quoted}?format=csv")
                status = answer.status
            except urllib.error.HTTPError as e:
                status = e.code
            except http.client.RemoteDisconnected:
                status = 0  # no answer at all
            assert 0 < status < 500, f"{name!r}: {status or 'connection closed without an answer'}"
