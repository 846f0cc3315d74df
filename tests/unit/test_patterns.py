"""The EventBridge pattern matcher against the documented semantics of each operator.

Examples follow the EventBridge user guide ("Content filtering", "Comparison operators",
"Matching null values and empty strings") and event-ruler's README.
"""

from __future__ import annotations

from typing import Any

import pytest

from presso_metrics.domain.patterns import compile_pattern, union
from presso_metrics.exceptions import PatternError

# The EC2 example event of the EventBridge documentation, with a few fields added.
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
        "eventVersion": "",
        "responseElements": None,
        "robot": False,
        "FileName": "image.PNG",
        "tags": ["blue", "green"],
        "employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            {"firstName": "Peter", "lastName": "Jones"},
        ],
        "nested": {"c1": 100},
    },
}


def matches(pattern: dict[str, Any], event: dict[str, Any] = EVENT) -> bool:
    return compile_pattern(pattern).matches(event)


def detail(**fields: Any) -> dict[str, Any]:
    return {"detail": fields}


class TestExactValues:
    def test_all_fields_must_match(self) -> None:
        assert matches(
            {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}
        )
        assert not matches({"source": ["aws.ec2"], "detail-type": ["something else"]})

    def test_array_of_values_is_any_of(self) -> None:
        assert matches(detail(state=["initializing", "running"]))
        assert not matches(detail(state=["initializing", "stopped"]))

    def test_matching_is_case_sensitive(self) -> None:
        assert not matches({"source": ["AWS.EC2"]})

    def test_event_array_matches_when_intersection_is_non_empty(self) -> None:
        assert matches(detail(tags=["green", "red"]))
        assert not matches(detail(tags=["red"]))
        assert matches(
            {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"]}
        )

    def test_numbers_match_numerically_and_not_as_strings(self) -> None:
        assert matches(detail(**{"c-count": [5]}))
        assert matches(detail(**{"c-count": [5.0]}))
        assert not matches(detail(**{"c-count": ["5"]}))
        assert not matches(detail(state=[5]))

    def test_booleans(self) -> None:
        assert matches(detail(robot=[False]))
        assert not matches(detail(robot=[True]))
        assert not matches(detail(robot=[0]))  # false is not the number 0

    def test_null_and_empty_string_are_distinct(self) -> None:
        assert matches(detail(responseElements=[None]))
        assert matches(detail(eventVersion=[""]))
        assert not matches(detail(responseElements=[""]))
        assert not matches(detail(eventVersion=[None]))

    def test_missing_field_does_not_match(self) -> None:
        assert not matches(detail(absent=["x"]))

    def test_nested_objects(self) -> None:
        assert matches({"detail": {"nested": {"c1": [100]}}})
        assert not matches({"detail": {"nested": {"c1": [101]}}})

    def test_array_of_objects_matches_within_one_element(self) -> None:
        assert matches({"detail": {"employees": {"firstName": ["Anna"]}}})
        assert matches({"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}})
        # event-ruler's array consistency: two fields from different elements do not match.
        assert not matches(
            {"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}}
        )

    def test_a_value_pattern_does_not_match_an_object(self) -> None:
        assert not matches(detail(nested=["x"]))


class TestPrefixAndSuffix:
    def test_prefix(self) -> None:
        assert matches({"time": [{"prefix": "2017-10-02"}]})
        assert not matches({"time": [{"prefix": "2017-10-03"}]})

    def test_prefix_only_matches_strings(self) -> None:
        assert not matches(detail(**{"c-count": [{"prefix": "5"}]}))

    def test_prefix_ignore_case(self) -> None:
        assert matches({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]})
        assert not matches({"source": [{"prefix": "AWS."}]})

    def test_suffix(self) -> None:
        assert matches({"source": [{"suffix": "ec2"}]})
        assert not matches(detail(FileName=[{"suffix": ".png"}]))

    def test_suffix_ignore_case(self) -> None:
        assert matches(detail(FileName=[{"suffix": {"equals-ignore-case": ".png"}}]))


class TestEqualsIgnoreCase:
    def test_matches_any_casing(self) -> None:
        assert matches({"source": [{"equals-ignore-case": "AWS.EC2"}]})
        assert not matches({"source": [{"equals-ignore-case": "aws.ec"}]})

    def test_only_strings(self) -> None:
        assert not matches(detail(**{"c-count": [{"equals-ignore-case": "5"}]}))


class TestWildcard:
    def test_star_matches_any_run(self) -> None:
        assert matches({"detail-type": [{"wildcard": "EC2*Notification"}]})
        assert matches({"detail-type": [{"wildcard": "*State-change*"}]})
        assert matches({"detail-type": [{"wildcard": "EC2 Instance State-change Notification*"}]})
        assert not matches({"detail-type": [{"wildcard": "EC2*Warning"}]})

    def test_whole_value_must_match(self) -> None:
        assert not matches({"detail-type": [{"wildcard": "EC2*"[:-1]}]})

    def test_escaped_star_is_literal(self) -> None:
        assert compile_pattern({"a": [{"wildcard": "x\\*y"}]}).matches({"a": "x*y"})
        assert not compile_pattern({"a": [{"wildcard": "x\\*y"}]}).matches({"a": "xzy"})

    def test_escaped_backslash(self) -> None:
        assert compile_pattern({"a": [{"wildcard": "x\\\\*"}]}).matches({"a": "x\\anything"})

    def test_regex_characters_are_literal(self) -> None:
        assert compile_pattern({"a": [{"wildcard": "a.c*"}]}).matches({"a": "a.cde"})
        assert not compile_pattern({"a": [{"wildcard": "a.c*"}]}).matches({"a": "abcde"})

    def test_serverlesspresso_detail_types(self) -> None:
        p = compile_pattern({"detail-type": [{"wildcard": "OrderManager.Order*COMPLETED"}]})
        assert p.matches({"detail-type": "OrderManager.OrderNYC-COMPLETED"})
        assert p.matches({"detail-type": "OrderManager.OrderCOMPLETED"})
        assert not p.matches({"detail-type": "OrderManager.WaitingCompletion"})
        assert not p.matches({"detail-type": "OrderProcessor.OrderNYC-COMPLETED"})

    def test_consecutive_wildcards_are_refused(self) -> None:
        with pytest.raises(PatternError, match="consecutive wildcard"):
            compile_pattern({"a": [{"wildcard": "a**b"}]})

    def test_backslash_before_other_character_is_refused(self) -> None:
        with pytest.raises(PatternError, match="backslash"):
            compile_pattern({"a": [{"wildcard": "a\\b"}]})


class TestAnythingBut:
    def test_single_string(self) -> None:
        assert matches(detail(state=[{"anything-but": "initializing"}]))
        assert not matches(detail(state=[{"anything-but": "running"}]))

    def test_single_number(self) -> None:
        assert matches(detail(**{"x-limit": [{"anything-but": 123}]}))
        assert not matches(detail(**{"x-limit": [{"anything-but": 301.8}]}))

    def test_lists(self) -> None:
        assert matches(detail(state=[{"anything-but": ["stopped", "overloaded"]}]))
        assert not matches(detail(state=[{"anything-but": ["stopped", "running"]}]))
        assert matches(detail(**{"x-limit": [{"anything-but": [100, 200, 300]}]}))

    def test_values_of_another_type_are_not_excluded(self) -> None:
        # A numeric anything-but matches a string value, and vice versa: event-ruler compares
        # the value's JSON text with the excluded ones (ByteMachineTest.
        # WHEN_AnyThingButNumberListPatternsAreAdded_THEN_TheyWork matches "fo" and "foobar").
        assert matches(detail(state=[{"anything-but": 5}]))
        assert matches(detail(**{"c-count": [{"anything-but": "x"}]}))

    def test_missing_field_does_not_match(self) -> None:
        assert not matches(detail(absent=[{"anything-but": "x"}]))

    def test_prefix(self) -> None:
        assert matches({"region": [{"anything-but": {"prefix": "eu-"}}]})
        assert not matches({"region": [{"anything-but": {"prefix": "us-"}}]})

    def test_suffix(self) -> None:
        assert matches(detail(FileName=[{"anything-but": {"suffix": ".png"}}]))
        assert not matches(detail(FileName=[{"anything-but": {"suffix": ".PNG"}}]))

    def test_equals_ignore_case(self) -> None:
        assert not matches(detail(state=[{"anything-but": {"equals-ignore-case": "RUNNING"}}]))
        assert matches(detail(state=[{"anything-but": {"equals-ignore-case": ["stopped", "x"]}}]))
        assert not matches(
            detail(state=[{"anything-but": {"equals-ignore-case": ["stopped", "Running"]}}])
        )

    def test_wildcard(self) -> None:
        assert not matches(detail(state=[{"anything-but": {"wildcard": "run*"}}]))
        assert matches(detail(state=[{"anything-but": {"wildcard": ["stop*", "*ing-x"]}}]))

    def test_mixed_list_is_refused(self) -> None:
        with pytest.raises(PatternError, match="only strings or only numbers"):
            compile_pattern(detail(state=[{"anything-but": ["a", 1]}]))

    def test_unknown_inner_operator_is_refused(self) -> None:
        with pytest.raises(PatternError, match="anything-but cannot hold 'numeric'"):
            compile_pattern(detail(state=[{"anything-but": {"numeric": [">", 1]}}]))


class TestNumeric:
    def test_range(self) -> None:
        assert matches(detail(**{"c-count": [{"numeric": [">", 0, "<=", 5]}]}))
        assert not matches(detail(**{"c-count": [{"numeric": [">", 0, "<", 5]}]}))
        assert matches(detail(**{"d-count": [{"numeric": ["<", 10]}]}))
        assert matches(detail(**{"x-limit": [{"numeric": ["=", 3.018e2]}]}))
        assert matches(detail(**{"c-count": [{"numeric": [">=", 5]}]}))
        assert not matches(detail(**{"c-count": [{"numeric": [">", 5]}]}))

    def test_only_numbers_match(self) -> None:
        assert not matches(detail(state=[{"numeric": [">", 0]}]))
        assert not matches(detail(robot=[{"numeric": ["=", 0]}]))

    @pytest.mark.parametrize(
        "spec, message",
        [
            ([">", 5, "<", 1], "lower bound must be below"),
            ([">", 1, ">", 2], "two lower bounds"),
            (["<", 1, "<", 2], "two upper bounds"),
            (["!=", 1], "unknown comparison"),
            ([">", "1"], "must be numbers"),
            ([">", 6e9], "within"),
            (["=", 1, "<", 2], "cannot be combined"),
            ([">"], "takes"),
        ],
    )
    def test_malformed(self, spec: list[Any], message: str) -> None:
        with pytest.raises(PatternError, match=message):
            compile_pattern(detail(n=[{"numeric": spec}]))


class TestExists:
    def test_exists_true_and_false(self) -> None:
        assert matches(detail(**{"c-count": [{"exists": True}]}))
        assert not matches(detail(**{"c-count": [{"exists": False}]}))
        assert matches(detail(absent=[{"exists": False}]))
        assert not matches(detail(absent=[{"exists": True}]))

    def test_only_leaves_exist(self) -> None:
        # An object is not a leaf: exists:false matches it (the documented caveat).
        assert matches(detail(nested=[{"exists": False}]))
        assert not matches(detail(nested=[{"exists": True}]))

    def test_null_is_a_present_value(self) -> None:
        assert matches(detail(responseElements=[{"exists": True}]))

    def test_exists_false_under_a_missing_parent(self) -> None:
        assert matches({"missing": {"field": [{"exists": False}]}})
        assert not matches({"missing": {"field": [{"exists": True}]}})

    def test_exists_must_be_boolean(self) -> None:
        with pytest.raises(PatternError, match="exists takes true or false"):
            compile_pattern(detail(x=[{"exists": "yes"}]))


class TestCidr:
    def test_ipv4(self) -> None:
        assert matches(detail(**{"source-ip": [{"cidr": "10.0.0.0/24"}]}))
        assert not matches(detail(**{"source-ip": [{"cidr": "10.0.1.0/24"}]}))

    def test_ipv6(self) -> None:
        p = compile_pattern({"ip": [{"cidr": "2001:db8::/32"}]})
        assert p.matches({"ip": "2001:db8::1"})
        assert not p.matches({"ip": "2001:db9::1"})
        assert not p.matches({"ip": "10.0.0.1"})

    def test_non_addresses_do_not_match(self) -> None:
        assert not matches(detail(state=[{"cidr": "10.0.0.0/8"}]))

    def test_malformed_block(self) -> None:
        with pytest.raises(PatternError, match="not a CIDR block"):
            compile_pattern({"ip": [{"cidr": "10.0.0.0/33"}]})


class TestOr:
    def test_top_level_or(self) -> None:
        p = {
            "source": ["aws.ec2"],
            "$or": [{"detail": {"state": ["stopped"]}}, {"region": ["us-east-1"]}],
        }
        assert matches(p)
        p = {
            "source": ["aws.ec2"],
            "$or": [{"detail": {"state": ["stopped"]}}, {"region": ["eu-west-1"]}],
        }
        assert not matches(p)

    def test_nested_or_inside_an_object(self) -> None:
        p = {"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [3]}]}}
        assert matches(p)

    def test_parallel_ors_must_each_match(self) -> None:
        p = {
            "$or": [{"source": ["aws.ec2"]}, {"source": ["aws.s3"]}],
            "detail": {"$or": [{"state": ["stopped"]}, {"c-count": [6]}]},
        }
        assert not matches(p)

    def test_or_needs_two_alternatives(self) -> None:
        with pytest.raises(PatternError, match="at least two"):
            compile_pattern({"$or": [{"source": ["aws.ec2"]}]})

    def test_or_alternative_cannot_be_a_matcher(self) -> None:
        with pytest.raises(PatternError, match="is a matcher, not a field"):
            compile_pattern({"$or": [{"prefix": "a"}, {"source": ["x"]}]})


class TestMalformed:
    @pytest.mark.parametrize(
        "pattern, path, message",
        [
            ([], "", "must be a JSON object"),
            ({}, "", "empty pattern"),
            ({"source": "aws.ec2"}, "source", "must be given as an array"),
            ({"source": []}, "source", "empty array"),
            ({"detail": {}}, "detail", "empty object"),
            ({"source": [["a"]]}, "source[0]", "cannot be nested"),
            ({"source": [{"prefix": "a", "suffix": "b"}]}, "source[0]", "exactly one key"),
            ({"source": [{"contains": "a"}]}, "source[0]", "unknown matcher 'contains'"),
            ({"source": [{"prefix": 1}]}, "source[0].prefix", "takes a string"),
            ({"detail": {"x": [{"wildcard": 3}]}}, "detail.x[0].wildcard", "takes a string"),
            ({"source": [float("nan")]}, "source[0]", "finite"),
        ],
    )
    def test_errors_name_the_path(self, pattern: Any, path: str, message: str) -> None:
        with pytest.raises(PatternError, match=message) as raised:
            compile_pattern(pattern)
        assert raised.value.path == path


class TestUnion:
    def test_detail_types_are_merged_when_the_rest_agrees(self) -> None:
        a = {"source": ["s"], "detail-type": ["A"]}
        b = {"source": ["s"], "detail-type": ["B", {"prefix": "C"}]}
        assert union([a, b, a]) == {"source": ["s"], "detail-type": ["A", "B", {"prefix": "C"}]}

    def test_otherwise_or(self) -> None:
        a = {"source": ["s"], "detail-type": ["A"]}
        b = {"source": ["t"], "detail-type": ["B"]}
        combined = union([a, b])
        assert combined == {"$or": [a, b]}
        p = compile_pattern(combined)
        assert p.matches({"source": "t", "detail-type": "B"})
        assert not p.matches({"source": "t", "detail-type": "A"})

    def test_single_pattern_is_itself(self) -> None:
        assert union([{"source": ["s"]}]) == {"source": ["s"]}
