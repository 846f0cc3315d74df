from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from presso_metrics.domain.envelope import (
    ORIGIN_RESOURCE_PREFIX,
    Envelope,
    Rejection,
    parse_envelope,
)
from tests.conftest import load_event

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def parse(event: object, **kw: object) -> Envelope | Rejection:
    body = event if isinstance(event, str) else json.dumps(event)
    return parse_envelope(body, now=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "waiting-completion.json",
        "waiting-completion-loadtest-shape.json",
        "order-cancelled-detailed.json",
        "order-cancelled-state-machine.json",
        "replayed-event.json",
    ],
)
def test_every_sample_shape_parses(name: str) -> None:
    event = load_event(name)
    envelope = parse(event)
    assert isinstance(envelope, Envelope)
    assert envelope.identity == event["id"]
    assert envelope.detail_type == event["detail-type"]
    assert envelope.time.tzinfo is not None


def test_replay_name_is_kept() -> None:
    envelope = parse(load_event("replayed-event.json"))
    assert isinstance(envelope, Envelope)
    assert envelope.replay_name == "backfill-2024-05"


def test_account_is_not_required() -> None:
    # moto's EventBridge delivers envelopes without it.
    event = load_event("waiting-completion.json")
    del event["account"]
    assert isinstance(parse(event), Envelope)


def test_identity_prefers_the_origin_resource() -> None:
    event = load_event("waiting-completion.json")
    event["resources"] = ["arn:x", ORIGIN_RESOURCE_PREFIX + "original-id"]
    envelope = parse(event)
    assert isinstance(envelope, Envelope)
    assert envelope.identity == "original-id"


@pytest.mark.parametrize(
    "mutate, reason, field",
    [
        (lambda e: e.pop("id"), "missing_field", "id"),
        (lambda e: e.update(id=""), "missing_field", "id"),
        (lambda e: e.update(id=7), "wrong_type", "id"),
        (lambda e: e.pop("time"), "missing_field", "time"),
        (lambda e: e.update(time="yesterday"), "bad_time", "time"),
        (lambda e: e.update(time=1714571110), "wrong_type", "time"),
        (lambda e: e.update(time="9999-12-31T23:59:59Z"), "time_out_of_range", "time"),
        (lambda e: e.pop("source"), "missing_field", "source"),
        (lambda e: e.pop("detail-type"), "missing_field", "detail-type"),
        (lambda e: e.update(detail=[]), "wrong_type", "detail"),
        (lambda e: e.update({"replay-name": 3}), "wrong_type", "replay-name"),
    ],
)
def test_rejections_name_the_field(mutate: object, reason: str, field: str) -> None:
    event = load_event("waiting-completion.json")
    mutate(event)  # type: ignore[operator]
    rejection = parse(event)
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.field) == (reason, field)
    assert field in rejection.message


@pytest.mark.parametrize(
    "body, reason",
    [
        ("{not json", "not_json"),
        ("[1, 2]", "not_an_envelope"),
        ('"text"', "not_an_envelope"),
        ("", "not_json"),
        ("\ud800", "not_json"),
        ("[" * 100_000 + "]" * 100_000, "not_json"),
    ],
)
def test_bodies_that_are_not_envelopes(body: str, reason: str) -> None:
    rejection = parse(body)
    assert isinstance(rejection, Rejection)
    assert rejection.reason == reason


def test_size_limit() -> None:
    event = load_event("waiting-completion.json")
    event["detail"]["padding"] = "x" * 2000
    assert isinstance(parse(event, max_bytes=4096), Envelope)
    rejection = parse(event, max_bytes=1024)
    assert isinstance(rejection, Rejection) and rejection.reason == "too_large"


def test_future_limit_is_configurable() -> None:
    event = load_event("waiting-completion.json")
    event["time"] = (NOW + timedelta(hours=2)).isoformat()
    assert isinstance(parse(event), Envelope)
    assert isinstance(parse(event, max_future=timedelta(hours=1)), Rejection)


def test_rejection_attributes() -> None:
    r = Rejection("wrong_type", "bad", "detail.drink", "sales")
    assert r.attributes() == {
        "presso.reason": "wrong_type",
        "presso.message": "bad",
        "presso.field": "detail.drink",
        "presso.metric": "sales",
    }


def test_package_version_matches_the_project() -> None:
    import tomllib
    from pathlib import Path

    import presso_metrics

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert presso_metrics.__version__ == project["project"]["version"]
