"""Review of the read API's limits, through the Lambda front end (API Gateway's HTTP API events
through Mangum, as the ReadMetrics function runs it) and the local one."""

from __future__ import annotations

import base64
import gzip as gzip_module
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mangum import Mangum

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.histogram import COUNT, SUM_MS, bucket_names
from presso_metrics.entrypoints.web import create_app
from tests.lambda_http import Context, http_api_event
from tests.review_surface.orders import count, order

pytestmark = pytest.mark.integration

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024  # synchronous invocation payload (aws-facts.md 3.3)
SHOPS = ("NYC", "BOS", "CHI", "SEA")
OPEN_HOURS = range(8, 18)


def hourly_waits(db: Path, days: int) -> None:
    """``days`` days of hourly wait histograms at four shops open ten hours a day, as the
    consumer stores them (one item per hour and shop: count, sum and the buckets hit)."""
    bootstrap.provision_stack(Settings(db=str(db)))
    metrics = bootstrap.load_metric_set(Settings(db=str(db)))
    metric = metrics.get("hourly_wait_time")
    buckets = bucket_names(metric.bounds)
    first = date(2022, 1, 1)
    rows = []
    for d in range(days):
        day = (first + timedelta(days=d)).isoformat()
        for hour in OPEN_HOURS:
            for shop in SHOPS:
                sk = f"{day}T{hour:02d}#{shop}"
                rows += [
                    (metric.partition, sk, COUNT, 20),
                    (metric.partition, sk, SUM_MS, 20 * 150_000),
                    (metric.partition, sk, buckets[5], 12),
                    (metric.partition, sk, buckets[7], 8),
                ]
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO counters (pk, sk, attr, val) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_the_longest_answer_fits_a_lambda_response(tmp_path: Path) -> None:
    """120 days of hourly wait histograms at four shops made a 14 MB Lambda response for any
    client that does not send Accept-Encoding: gzip (curl, scripts): over Lambda's 6 MB, so
    API Gateway answered 502 with no reason. Every response now fits: that one is a 413 saying
    what to ask instead, and with gzip the whole range is answered."""
    db = tmp_path / "waits.db"
    hourly_waits(db, days=120)
    metrics, store = bootstrap.build_reader(Settings(db=str(db)))
    handler = Mangum(create_app(metrics, store), lifespan="off")
    query = {"from": "2022-01-01", "to": "2022-04-30"}
    result = handler(http_api_event("/api/metrics/hourly_wait_time", query), Context())  # type: ignore[arg-type]
    assert len(json.dumps(result)) <= LAMBDA_RESPONSE_LIMIT
    assert result["statusCode"] == 413
    detail = json.loads(result["body"])["detail"]
    assert "fewer days" in detail and "Accept-Encoding: gzip" in detail
    gzip = {"Accept-Encoding": "gzip"}
    result = handler(
        http_api_event("/api/metrics/hourly_wait_time", query, headers=gzip),
        Context(),  # type: ignore[arg-type]
    )
    assert len(json.dumps(result)) <= LAMBDA_RESPONSE_LIMIT
    assert result["statusCode"] == 200
    rows = json.loads(gzip_module.decompress(base64.b64decode(result["body"])))
    assert {r["bucket"][:10] for r in rows} == {
        (date(2022, 1, 1) + timedelta(days=d)).isoformat() for d in range(120)
    }


def test_the_api_answers_at_most_3660_days(tmp_path: Path) -> None:
    """http_api.rows compared (end - start).days > 3660, so an inclusive range of 3,661 days was
    answered; README: 'the range may span at most 3,660 days' (the dashboard clamps to 3,660
    days inclusive)."""
    db = tmp_path / "range.db"
    count(db, order("r1", "NYC", "Latte"))
    metrics, store = bootstrap.build_reader(Settings(db=str(db)))
    first = date(2013, 1, 1)
    with TestClient(create_app(metrics, store)) as client:
        longest = client.get(
            "/api/metrics/sales",
            params={"from": first.isoformat(), "to": (first + timedelta(days=3659)).isoformat()},
        )
        too_long = client.get(
            "/api/metrics/sales",
            params={"from": first.isoformat(), "to": (first + timedelta(days=3660)).isoformat()},
        )
    assert longest.status_code == 200  # 3,660 days, both ends included
    assert too_long.status_code == 400  # 3,661 days
    assert "3661 days, both ends included" in too_long.json()["detail"]
