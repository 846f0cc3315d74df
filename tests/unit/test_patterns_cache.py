"""The match cache keeps JSON types apart.

Source: the EventBridge user guide, "Event pattern syntax" (the values matched follow JSON rules:
quoted strings, numbers, and the keywords true, false and null) and event-ruler
``JsonRuleCompiler.writeRules`` (a number is matched as a number, ``true``/``false``/``null`` as
those literals). Python hashes
``True`` like ``1`` and ``False`` like ``0``: a cache keyed by raw values answers for one what it
worked out for the other.
"""

from __future__ import annotations

from typing import Any

from presso_metrics.domain.patterns import compile_pattern, route_key


def answers(pattern: dict[str, Any], events: list[dict[str, Any]]) -> list[bool]:
    """One compiled pattern (one cache) asked about each event in turn."""
    compiled = compile_pattern(pattern)
    return [compiled.matches(e) for e in events]


class TestTheCacheOfEventPatternMatches:
    def test_true_then_one(self) -> None:
        assert answers({"a": [1]}, [{"a": True}, {"a": 1}]) == [False, True]

    def test_one_then_true(self) -> None:
        assert answers({"a": [True]}, [{"a": 1}, {"a": True}]) == [False, True]

    def test_zero_then_false(self) -> None:
        assert answers({"a": [False]}, [{"a": 0}, {"a": 0.0}, {"a": False}]) == [
            False,
            False,
            True,
        ]

    def test_true_then_one_point_zero_under_numeric(self) -> None:
        pattern = {"a": [{"numeric": [">", 0]}]}
        assert answers(pattern, [{"a": True}, {"a": 1.0}]) == [False, True]

    def test_missing_then_null(self) -> None:
        assert answers({"a": [None]}, [{}, {"a": None}]) == [False, True]

    def test_arrays_are_answered_without_the_cache(self) -> None:
        assert answers({"a": [1]}, [{"a": [True]}, {"a": [1]}, {"a": True}]) == [
            False,
            True,
            False,
        ]


class TestRouteKey:
    def test_values_of_different_json_types_never_share_a_key(self) -> None:
        keys = ("a",)
        distinct = [{"a": v} for v in (True, 1, 1.0, False, 0, None, "1", "true")] + [{}]
        assert len({route_key(e, keys) for e in distinct}) == len(distinct)

    def test_equal_values_share_a_key_whatever_else_the_event_holds(self) -> None:
        keys = ("detail-type", "source")
        a = {"source": "s", "detail-type": "t"}
        b = {"detail-type": "t", "source": "s", "detail": {"drinks": ["latte"]}}
        assert route_key(a, keys) == route_key(b, keys)
        assert route_key(a, keys) is not None

    def test_an_unhashable_value_gives_no_key(self) -> None:
        assert route_key({"a": ["x"]}, ("a",)) is None
        assert route_key({"a": {"b": 1}}, ("a",)) is None


def test_metric_routing_tells_true_from_1() -> None:
    """MetricSet caches each event's metrics by the top-level fields the patterns read: `true`
    and `1` (and `false` and `0`) must not share an entry (issue #11)."""
    from presso_metrics.domain.metrics_file import load_metrics

    metrics = load_metrics(
        """
[metrics.flagged]
total = "Flagged"
[metrics.flagged.events]
source = ["x"]
flag = [1]
"""
    )
    assert metrics.matching({"source": "x", "flag": True}) == ()
    assert [m.name for m in metrics.matching({"source": "x", "flag": 1})] == ["flagged"]
    assert metrics.matching({"source": "x", "flag": False}) == ()
    assert metrics.matching({"source": "x", "flag": 0}) == ()
    assert [m.name for m in metrics.matching({"source": "x", "flag": 1.0})] == ["flagged"]
