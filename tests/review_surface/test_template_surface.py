"""Review of the SAM template's parameters: a parameter a user may set must keep the stack
working; here the consumer must count what the rule routes to it."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from presso_metrics import bootstrap
from presso_metrics.domain.patterns import compile_pattern
from presso_metrics.exceptions import ConfigError
from presso_metrics.simulation import burst
from tests.conftest import load_event
from tests.sam import deployed, resources, rules_refuse, sam_template
from tests.template.time_zones import packaged_zones

pytestmark = pytest.mark.integration


def consumer_environment(parameters: dict[str, Any]) -> dict[str, str]:
    (function,) = (
        f
        for f in resources("AWS::Lambda::Function").values()
        if f["Properties"]["Handler"].endswith("lambda_handler.handler")
    )
    variables = deployed(function["Properties"]["Environment"]["Variables"], parameters)
    return {k: str(v) for k, v in variables.items() if isinstance(v, str | int)}


def parameters_in(value: Any) -> set[str]:
    """The template parameters ``value`` refers to (``Ref`` and ``Fn::Sub`` placeholders)."""
    names = set(sam_template()["Parameters"])
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in names:
                found.add(v["Ref"])
            if "Fn::Sub" in v:
                sub = v["Fn::Sub"]
                text = sub if isinstance(sub, str) else sub[0]
                found.update(n for n in re.findall(r"\$\{([^}!.]+)\}", text) if n in names)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(value)
    return found


def test_no_parameter_makes_the_rule_route_what_the_consumer_does_not_count() -> None:
    """EventSource used to change only the rule: the consumer kept counting with the packaged
    metrics.toml (the Serverlesspresso source), so every routed event was acknowledged as
    unmatched and dropped. The rule's pattern now depends on no parameter; it is the consumer's
    metrics' pattern, whatever the parameters."""
    (rule,) = resources("AWS::Events::Rule").values()
    assert parameters_in(rule["Properties"]["EventPattern"]) == set()
    consumer = bootstrap.load_metric_set(bootstrap.env_settings(consumer_environment({})))
    assert deployed(rule["Properties"]["EventPattern"]) == consumer.rule_pattern()


def test_the_consumer_counts_every_event_the_rule_routes_and_the_load_test_publishes() -> None:
    (rule,) = resources("AWS::Events::Rule").values()
    pattern = compile_pattern(deployed(rule["Properties"]["EventPattern"]))
    consumer = bootstrap.load_metric_set(bootstrap.env_settings(consumer_environment({})))
    for event in burst(orders=20, seed=1):  # what the LoadTest function publishes
        assert pattern.matches(event)
        assert any(m.pattern.matches(event) for m in consumer)
    other = copy.deepcopy(load_event("waiting-completion.json"))
    other["source"] = "com.example.orders"
    assert not pattern.matches(other)  # another source: left on the bus, not routed and dropped


def test_the_stack_refuses_an_unknown_time_zone_before_it_creates_anything() -> None:
    """TimeZone was a free String: 'Europe/Pari' deployed cleanly, then the consumer's init
    raised ConfigError on every batch (each retried until maxReceiveCount moved it to the
    dead-letter queue) and ReadMetrics answered 500."""
    bad = "Europe/Pari"
    with pytest.raises(ConfigError):
        bootstrap.load_metric_set(bootstrap.env_settings({"TIME_ZONE": bad}))
    parameter = sam_template()["Parameters"]["TimeZone"]
    allowed = parameter.get("AllowedValues")
    pattern = parameter.get("AllowedPattern")
    refused_by_parameter = (allowed is not None and bad not in allowed) or (
        pattern is not None and re.fullmatch(pattern, bad) is None
    )
    assert refused_by_parameter or rules_refuse({"TimeZone": bad})


def test_the_time_zone_parameter_allows_exactly_the_zones_the_functions_can_use() -> None:
    parameter = sam_template()["Parameters"]["TimeZone"]
    allowed = [str(v) for v in parameter["AllowedValues"]]
    assert allowed == packaged_zones(), "run `python -m tests.template.time_zones`"
    assert parameter["Default"] in allowed
    for zone in allowed:  # each one is a zone the consumer and the read API load
        metrics = bootstrap.load_metric_set(bootstrap.env_settings({"TIME_ZONE": zone}))
        assert str(metrics.time_zone) == zone
    for bad in ("europe/paris", "Europe/Paris ", "Europe/../UTC", "+01:00", "CET+1", ""):
        assert bad not in allowed


def test_a_function_started_with_an_unknown_time_zone_names_the_parameter() -> None:
    with pytest.raises(ConfigError) as refused:
        bootstrap.env_settings({"TIME_ZONE": "Europe/Pari"})
    assert "TIME_ZONE" in str(refused.value) and "TimeZone" in str(refused.value)
    assert "'Europe/Pari'" in str(refused.value)
