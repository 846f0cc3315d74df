"""The matcher against event-ruler, the engine behind EventBridge, where its tests or source say
what it does. Each test names its source: a file of github.com/aws/event-ruler (``src/main`` or
``src/test``) or a page of the EventBridge user guide.
"""

from __future__ import annotations

from typing import Any

import pytest

from presso_metrics.domain.patterns import compile_pattern
from presso_metrics.exceptions import PatternError


def matcher(spec: list[Any]) -> Any:
    """A pattern on one field ``a``; returns a test of a value of ``a``."""
    pattern = compile_pattern({"a": spec})
    return lambda value: pattern.matches({"a": value})


def refused(spec: list[Any], message: str) -> PatternError:
    with pytest.raises(PatternError, match=message) as raised:
        compile_pattern({"a": spec})
    return raised.value


class TestAnythingBut:
    def test_a_string_exclusion_matches_values_of_other_types(self) -> None:
        """JsonRuleCompiler.processAnythingButMatchExpression keeps the excluded string with its
        quotes ('"x"'), which a number's, a boolean's or null's text never equals; user guide
        "Content filtering": anything-but "matches anything except what's provided"."""
        m = matcher([{"anything-but": "x"}])
        assert [m(v) for v in (5, None, True, "y", "x")] == [True, True, True, True, False]

    def test_a_number_exclusion_matches_strings_and_other_numbers(self) -> None:
        """ByteMachineTest.WHEN_AnyThingButNumberListPatternsAreAdded_THEN_TheyWork: an
        anything-but of numbers matches "fo" and "foobar", and excludes 2 however written."""
        m = matcher([{"anything-but": [1.11, 2]}])
        assert [m(v) for v in ("fo", None, False, 1.1, 5)] == [True] * 5
        assert [m(v) for v in (2, 2.0, 1.11)] == [False] * 3

    def test_a_string_exclusion_does_not_exclude_the_number_it_spells(self) -> None:
        """JsonRuleCompiler: "5" is kept as '"5"', the number 5 as a ComparableNumber."""
        assert matcher([{"anything-but": "5"}])(5)
        assert matcher([{"anything-but": 5}])("5")

    def test_a_missing_field_does_not_match(self) -> None:
        """User guide "Content filtering": a pattern matches only fields present in the event
        (anything-but included); correctness-cases.json "anything-but array"."""
        pattern = compile_pattern({"a": [{"anything-but": "x"}]})
        assert not pattern.matches({"b": "y"})
        assert not pattern.matches({"a": {"nested": "y"}})

    def test_an_array_matches_when_one_element_is_not_excluded(self) -> None:
        """correctness-cases.json "primarray: anything-but in array"."""
        m = matcher([{"anything-but": "banned"}])
        assert m(["banned", "ok"])
        assert not m(["banned"])

    def test_string_forms_match_values_that_are_not_strings(self) -> None:
        """JsonRuleCompiler.generateValueBasedOnMatchType: an anything-but prefix is '"' + text
        and a suffix text + '"', which no number, boolean or null begins or ends with."""
        for form in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            m = matcher([{"anything-but": {form: "1"}}])
            assert [m(v) for v in (1, None, True)] == [True, True, True], form
            assert not m("1"), form

    def test_prefix_and_suffix_take_lists(self) -> None:
        """JsonRuleCompiler.processAnythingButValuesSetMatchExpression: prefix/suffix lists."""
        m = matcher([{"anything-but": {"prefix": ["us-", "eu-"]}}])
        assert [m(v) for v in ("us-east-1", "eu-west-1", "ap-south-1")] == [False, False, True]
        m = matcher([{"anything-but": {"suffix": [".png", ".jpg"]}}])
        assert [m(v) for v in ("a.png", "a.jpg", "a.gif")] == [False, False, True]

    @pytest.mark.parametrize("form", ["prefix", "suffix"])
    @pytest.mark.parametrize("empty", ["", ["ok", ""]])
    def test_an_empty_prefix_or_suffix_is_refused(self, form: str, empty: Any) -> None:
        """JsonRuleCompiler: "Null prefix/suffix not allowed"."""
        error = refused([{"anything-but": {form: empty}}], f"empty anything-but {form}")
        assert error.path == f"a[0].anything-but.{form}"
