"""The matcher against event-ruler, the engine behind EventBridge, where its tests or source say
what it does. Each test names its source: a file of github.com/aws/event-ruler (``src/main`` or
``src/test``) or a page of the EventBridge user guide.
"""

from __future__ import annotations

import json
from decimal import Decimal
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

    @pytest.mark.parametrize("number", [6e9, -5_000_000_001, 0.0000001])
    def test_numbers_outside_numeric_matching_are_refused(self, number: float) -> None:
        """JsonRuleCompiler.processAnythingButListMatchExpression: ComparableNumber.generate
        refuses numbers beyond ±5.0e9 or with more than 6 decimals."""
        refused([{"anything-but": [1, number]}], "±5.0e9|decimal places")


class TestEqualsIgnoreCase:
    """input/EqualsIgnoreCaseParser.java: each pattern character becomes the choice of its
    Locale.ROOT lower case and upper case; the event's value is compared as it stands."""

    def test_ascii(self) -> None:
        """ByteMachineTest.testEqualsIgnoreCasePattern."""
        m = matcher([{"equals-ignore-case": "jAVa"}])
        assert [m(v) for v in ("java", "JAVA", "Java", "jAvA", "JaVa")] == [True] * 5
        assert [m(v) for v in ("JAV", "ava", "JAVAx", "xjava")] == [False] * 4

    def test_characters_whose_cases_differ_in_length(self) -> None:
        """ByteMachineTest.testEqualsIgnoreCaseLowerCaseCharacterWithDifferentByteLength... and
        testEqualsIgnoreCaseManyCharactersWithDifferentByteLengthForLowerCaseAndUpperCase."""
        assert matcher([{"equals-ignore-case": "12ⱥ34"}])("12Ⱥ34")
        m = matcher([{"equals-ignore-case": "\u03b0\u0240\u0250\u0390\u03b0\u1fc6K"}])
        upsilon, iota, eta = "\u03a5\u0308\u0301", "\u0399\u0308\u0301", "\u0397\u0342"
        matching = [
            f"{upsilon}\u0240\u2c6f\u0390{upsilon}{eta}k",
            f"\u03b0\u2c7f\u0250{iota}\u03b0\u1fc6K",
            f"{upsilon}\u2c7f\u2c6f{iota}{upsilon}\u1fc6k",
            f"\u03b0\u0240\u0250\u0390\u03b0{eta}K",
        ]
        assert [m(v) for v in matching] == [True] * 4
        not_matching = [
            f"{upsilon}\u023f\u2c6f\u0390{upsilon}{eta}k",  # ȿ for ɀ
            f"\u03b0\u2c7e\u0250{iota}\u03b0\u1fc6K",  # Ȿ for Ɀ
            "\u03ab\u0301\u0240\u0250\u0390\u03b0\u1fc6K",  # composed: not normalised
            "",
        ]
        assert [m(v) for v in not_matching] == [False] * 4

    def test_sharp_s_is_not_ss(self) -> None:
        """Java upper-cases ß to "SS": the pattern ß matches ß and SS only."""
        m = matcher([{"equals-ignore-case": "ß"}])
        assert [m(v) for v in ("ß", "SS", "ss", "Ss", "ẞ")] == [True, True, False, False, False]
        assert not matcher([{"equals-ignore-case": "ss"}])("ß")
        assert not matcher([{"equals-ignore-case": "STRASSE"}])("straße")

    def test_greek_sigma(self) -> None:
        m = matcher([{"equals-ignore-case": "Σ"}])
        assert [m(v) for v in ("Σ", "σ", "ς")] == [True, True, False]
        m = matcher([{"equals-ignore-case": "ς"}])
        assert [m(v) for v in ("ς", "Σ", "σ")] == [True, True, False]

    def test_turkish_dotted_and_dotless_i(self) -> None:
        m = matcher([{"equals-ignore-case": "I"}])
        assert [m(v) for v in ("i", "I", "ı", "İ")] == [True, True, False, False]
        m = matcher([{"equals-ignore-case": "ı"}])
        assert [m(v) for v in ("ı", "I", "i")] == [True, True, False]
        m = matcher([{"equals-ignore-case": "İ"}])
        assert [m(v) for v in ("İ", "i\u0307", "i", "I")] == [True, True, False, False]

    def test_the_kelvin_sign_is_not_k(self) -> None:
        """The value is not lower-cased: 'K' (U+212A) is neither 'k' nor 'K'."""
        assert not matcher([{"equals-ignore-case": "k"}])("\u212a")

    def test_prefix_and_suffix_forms(self) -> None:
        """User guide "Comparison operators": prefix/suffix with equals-ignore-case."""
        m = matcher([{"prefix": {"equals-ignore-case": "ß"}}])
        assert [m(v) for v in ("SSxy", "ßxy", "ssxy", "S")] == [True, True, False, False]
        m = matcher([{"suffix": {"equals-ignore-case": "ς"}}])
        assert [m(v) for v in ("abcΣ", "abcς", "abcσ", "")] == [True, True, False, False]
        m = matcher([{"prefix": {"equals-ignore-case": "EventB"}}])
        assert [m(v) for v in ("eventbridge", "EVENTB", "event", "\u212aeventb")] == [
            True,
            True,
            False,
            False,
        ]

    def test_anything_but_form(self) -> None:
        m = matcher([{"anything-but": {"equals-ignore-case": ["ss", "Σ"]}}])
        assert [m(v) for v in ("SS", "σ", "ß", "ς")] == [False, False, True, True]


class TestCidr:
    """CIDR.java and CIDRTest.java."""

    def test_host_bits_may_be_set(self) -> None:
        """CIDRTest.TestCorrectRanges: 54.240.196.171/24 covers 54.240.196.0 to .255."""
        m = matcher([{"cidr": "54.240.196.171/24"}])
        assert [m(v) for v in ("54.240.196.0", "54.240.196.255", "54.240.197.0")] == [
            True,
            True,
            False,
        ]

    def test_ipv4_parts_with_leading_zeros_are_decimal(self) -> None:
        """CIDR.ipToBytes reads addresses with Java's InetAddress, whose IPv4 parts are decimal
        (010 is 10, not octal and not refused)."""
        assert matcher([{"cidr": "010.0.0.0/8"}])("10.1.2.3")
        m = matcher([{"cidr": "10.0.0.0/24"}])
        assert [m(v) for v in ("010.000.000.033", "10.0.0.256", "10.0.0")] == [
            True,
            False,
            False,
        ]

    @pytest.mark.parametrize("block", ["10.0.0.0", "10.0.0.1/32", "2001:db8::1/128"])
    def test_a_single_address_is_not_a_block(self, block: str) -> None:
        """CIDR.cidr: "Malformed CIDR, one '/' required", "IPv4 mask bits must be < 32",
        "IPv6 mask bits must be < 128"."""
        error = refused([{"cidr": block}], "not a CIDR block")
        assert error.path == "a[0].cidr"
        address = block.split("/")[0]
        assert f'["{address}"]' in error.message

    @pytest.mark.parametrize(
        "block",
        [
            "192.168.0.1/33",
            "foo",
            "foo/bar/baz",
            "192.168.0.1/foo",
            "192.168.0.1/-3424",
            "snorkle/3",
            "10.10.10.10.10/3",
            "2.1.0.-1/3",
            "2400:6500:3:3:3:3:3:3:3:3FF00::36FB:1F80/122",
            "2400:6500:FF00::36FB:1F80/222",
            "700.168.0.1/8",
        ],
    )
    def test_malformed_blocks(self, block: str) -> None:
        """CIDRTest.SpotMalformedCIDRs (and testToStringFailures' 700.168.0.1)."""
        refused([{"cidr": block}], "not a CIDR block")

    def test_a_signed_prefix_length(self) -> None:
        """CIDR.cidr reads the length with Java's Integer.parseInt, which takes a '+'."""
        assert matcher([{"cidr": "10.0.0.0/+8"}])("10.9.9.9")

    def test_a_string_value_that_is_an_address_matches_any_spelling_of_it(self) -> None:
        """JsonRuleCompiler.writeRules turns such strings into one-address ranges
        (CIDR.ipToRangeIfPossible; CIDRTest.TestCorrectRangesForSingleIpAddress)."""
        m = matcher(["2001:db8::1", "10.0.0.1", "running"])
        assert [m(v) for v in ("2001:DB8:0:0:0:0:0:1", "010.0.0.001", "running")] == [True] * 3
        assert [m(v) for v in ("2001:db8::2", "10.0.0.2", 10)] == [False] * 3

    def test_a_string_that_only_looks_like_an_address_matches_exactly(self) -> None:
        """CIDRTest.testInvalidIPMatchedByIPv6Regex: "08:23" matches "08:23"."""
        m = matcher(["08:23"])
        assert [m(v) for v in ("08:23", "8:23")] == [True, False]


class TestNumeric:
    """ComparableNumber.java, Range.java, JsonRuleCompiler.processNumericMatchExpression."""

    @pytest.mark.parametrize("spec", [["<", 10, ">", 0], ["<=", 5, ">=", 1]])
    def test_the_upper_bound_cannot_come_first(self, spec: list[Any]) -> None:
        """JsonRuleCompiler: after "<" or "<=" only the end of the array may follow."""
        error = refused([{"numeric": spec}], "write the lower bound first")
        assert f"[{json.dumps(spec[2])}, {spec[3]}, {json.dumps(spec[0])}, {spec[1]}]" in str(error)

    @pytest.mark.parametrize("number", [0.0000001, 1.0000001, Decimal("-4999999999.9999999")])
    def test_more_than_six_decimal_places_are_refused(self, number: Any) -> None:
        """ComparableNumber.generate: "Only values upto 6 decimals are supported"."""
        refused([{"numeric": [">", number]}], "more than 6 decimal places")

    def test_a_number_that_underflows_to_zero_is_refused(self) -> None:
        """ComparableNumber.generate reads the text exactly: 1e-400 has 400 decimal places. A
        float would turn it into 0.0, so the pattern is parsed with Decimal numbers."""
        pattern = json.loads('{"a": [{"numeric": [">", 1e-400]}]}', parse_float=Decimal)
        with pytest.raises(PatternError, match="more than 6 decimal places"):
            compile_pattern(pattern)

    def test_six_decimal_places_are_kept(self) -> None:
        m = matcher([{"numeric": [">", 0.000001, "<=", Decimal("0.000003")]}])
        assert [m(v) for v in (0.000001, 0.000002, 0.000003, 0.000004)] == [
            False,
            True,
            True,
            False,
        ]

    @pytest.mark.parametrize("spec", [[">", 5e9], [">=", 5_000_000_000], ["<", -5e9], ["<=", -5e9]])
    def test_a_bound_at_the_limit_leaves_nothing_and_is_refused(self, spec: list[Any]) -> None:
        """Range.greaterThan(x) is Range.between(x, 5e9): "Bottom must be less than top"."""
        refused([{"numeric": spec}], "matches nothing")

    def test_the_limits_are_inclusive(self) -> None:
        """README "Numeric matching": between -5.0e9 and +5.0e9 inclusive."""
        assert matcher([{"numeric": ["<=", 5e9]}])(5_000_000_000)
        assert matcher([{"numeric": [">=", -5e9]}])(-5e9)
        assert matcher([{"numeric": ["=", 5e9]}])(5e9)

    def test_event_numbers_beyond_the_limit_are_not_numbers_to_numeric(self) -> None:
        """ByteMachine.transitionOn: a value ComparableNumber cannot represent is not matched
        numerically."""
        m = matcher([{"numeric": [">", 0]}])
        assert [m(v) for v in (5e9, 5_000_000_001, 6e9, 10**400)] == [True, False, False, False]
        assert not matcher([{"numeric": ["<", 0]}])(-6e9)
        assert matcher([{"anything-but": [5]}])(10**400)

    def test_an_exact_number_beyond_the_limit_still_matches(self) -> None:
        """JsonRuleCompiler.writeRules: a literal number not representable as a
        ComparableNumber ("for example an AWS account number") is matched exactly."""
        m = matcher([123456789012])
        assert [m(v) for v in (123456789012, 123456789013, "123456789012")] == [
            True,
            False,
            False,
        ]

    def test_decimal_numbers_match_the_floats_of_events(self) -> None:
        m = matcher([Decimal("301.8"), {"numeric": ["=", Decimal("0.1")]}])
        assert [m(v) for v in (301.8, 0.1, 0.2)] == [True, True, False]


class TestOrCombinations:
    """EventBridge's limit on rule combinations (a service limit, not in event-ruler's code): a
    pattern may not make more than 1000, counted as the product of the lengths of every $or
    array. event-ruler's JsonRuleCompiler.parseIntoOrRelationship expands each $or into one
    sub-rule per alternative, so parallel $or arrays multiply."""

    @staticmethod
    def parallel(groups: int, size: int) -> dict[str, Any]:
        return {f"f{g}": {"$or": [{f"k{i}": [i]} for i in range(size)]} for g in range(groups)}

    def test_a_thousand_combinations_are_accepted(self) -> None:
        pattern = compile_pattern(self.parallel(3, 10))
        assert pattern.matches({"f0": {"k3": 3}, "f1": {"k0": 0}, "f2": {"k9": 9}})

    def test_more_than_a_thousand_are_refused(self) -> None:
        with pytest.raises(PatternError, match="more than 1000 rule combinations") as raised:
            compile_pattern(self.parallel(4, 6))  # 6**4 = 1296
        assert raised.value.path == "$or"

    def test_nested_or_arrays_multiply(self) -> None:
        inner = {"$or": [{f"k{i}": [i]} for i in range(2)]}
        pattern = {"$or": [{"a": [1], **inner}, {"b": [2]}]}  # 2 * 2 = 4
        assert compile_pattern({"x": pattern, "y": self.parallel(1, 250)["f0"]})
        with pytest.raises(PatternError, match="more than 1000"):
            compile_pattern({"x": pattern, "y": self.parallel(1, 251)["f0"]})
