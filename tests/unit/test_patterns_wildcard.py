"""Wildcards match in linear time, with EventBridge's escaping rules.

Sources: the EventBridge user guide, "Comparison operators for use in event patterns" (wildcard
matching, anything-but wildcard), and event-ruler's ``ByteMachineTest.testWildcard*`` cases and
``input/WildcardParser.java`` (escapes and consecutive stars).

The adversarial cases are hang guards: the match runs in a forked child that gets 5 seconds,
where the backtracking regular expression this replaced needed about 55 s for 200 characters
(and far longer for 10,000). A timing figure belongs to ``bench/matcher.py``, not here.
"""

from __future__ import annotations

import itertools
import multiprocessing
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presso_metrics.domain.patterns import compile_pattern
from presso_metrics.exceptions import PatternError

TWENTY_STARS = "*a" * 19 + "*b"  # 20 stars, and a final 'b' no value below has


def answer_within(seconds: float, question: Callable[[], bool]) -> bool | None:
    """``question()`` answered in a forked child, or None if it had no answer after ``seconds``
    (the child is then killed, so a runaway match cannot hold the test run)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=lambda: send.send(question()), daemon=True)
    child.start()
    try:
        return bool(receive.recv()) if receive.poll(seconds) else None
    finally:
        child.kill()
        child.join()


def wildcard(text: str) -> Callable[[str], bool]:
    pattern = compile_pattern({"a": [{"wildcard": text}]})
    return lambda value: pattern.matches({"a": value})


class TestAdversarialPatternsAnswerPromptly:
    """EventBridge user guide (wildcard matching): any number of '*' in one value."""

    def test_five_stars_against_200_characters(self) -> None:
        matches = wildcard("*a*a*a*a*a*b")
        assert answer_within(5, lambda: matches("a" * 200)) is False

    def test_twenty_stars_against_10000_characters(self) -> None:
        matches = wildcard(TWENTY_STARS)
        assert answer_within(5, lambda: matches("a" * 10_000)) is False

    def test_a_long_match_that_succeeds(self) -> None:
        matches = wildcard("*a" * 20)
        assert answer_within(5, lambda: matches("a" * 10_000)) is True

    def test_anything_but_wildcard(self) -> None:
        pattern = compile_pattern({"a": [{"anything-but": {"wildcard": TWENTY_STARS}}]})
        assert answer_within(5, lambda: pattern.matches({"a": "a" * 10_000})) is True

    def test_wildcard_inside_a_list_of_anything_but_wildcards(self) -> None:
        pattern = compile_pattern(
            {"a": [{"anything-but": {"wildcard": ["x*", "*a*a*a*a*a*a*a*a*c"]}}]}
        )
        assert answer_within(5, lambda: pattern.matches({"a": "a" * 10_000 + "b"})) is True


class TestByteMachineCases:
    """event-ruler ByteMachineTest.testWildcard*: values each wildcard must and must not match."""

    @pytest.mark.parametrize(
        "text, matching, not_matching",
        [
            ("*", ["", "*", "h", "hello"], []),
            ("*hello", ["hello", "hhello", "*hello", "23Őzhello"], ["", "ello", "hellx"]),
            ("h*llo", ["hllo", "hello", "hxxxllo", "hel23Őzlllo"], ["", "hlo", "hellol"]),
            ("hello*", ["hello", "hellox", "hello*"], ["", "hell", "hellx"]),
            ("h*l*o", ["hlo", "hello", "h*l*o", "hel*o"], ["", "ho", "heeo", "helx", "llo"]),
            ("he*l*", ["hel", "hexl", "helxlx", "helxxlxxl"], ["", "he", "hex", "hexxx"]),
            ("*l*", ["l", "xl", "lx", "xlxlxlxlxl"], ["", "x", "xx", "xtx"]),
            ("hel\\*o", ["hel*o"], ["helo", "hello"]),
            ("he\\**o", ["he*o", "he*llo", "he*hello"], ["heo", "helo", "hello", "he*l"]),
            ("he\\\\llo", ["he\\llo"], ["hello", "he\\\\llo"]),
            ("he\\\\\\*llo", ["he\\*llo"], ["hello", "he\\llo", "he\\xxllo"]),
            ("he\\\\*llo", ["he\\llo", "he\\*llo", "he\\xxllo"], ["hello", "he\\ll"]),
            ("a*bc*de", ["abcde", "axbcde", "abcxde", "axbcxde"], ["abcd", "ae", "abcdex"]),
        ],
    )
    def test_matches(self, text: str, matching: list[str], not_matching: list[str]) -> None:
        matches = wildcard(text)
        assert [v for v in matching if not matches(v)] == []
        assert [v for v in not_matching if matches(v)] == []

    def test_a_wildcard_matches_strings_only(self) -> None:
        pattern = compile_pattern({"a": [{"wildcard": "*"}]})
        assert pattern.matches({"a": ""})
        assert not pattern.matches({"a": 5})
        assert not pattern.matches({"a": None})


class TestRefusedWildcards:
    """event-ruler input/WildcardParser.java and ByteMachineTest.testWildcardInvalidEscapeCharacter,
    testWildcardNoConsecutiveWildcardCharacters."""

    @pytest.mark.parametrize(
        "text, message",
        [
            ("h**o", "consecutive wildcard characters at position 1"),
            ("he\\llo", "backslash may only escape"),
            ("hello\\", "the end of the text"),
            ("a\\***", "consecutive wildcard characters at position 3"),
        ],
    )
    def test_refused(self, text: str, message: str) -> None:
        with pytest.raises(PatternError, match=re.escape(message)) as raised:
            compile_pattern({"a": [{"wildcard": text}]})
        assert raised.value.path == "a[0].wildcard"

    def test_refused_inside_anything_but(self) -> None:
        with pytest.raises(PatternError, match="consecutive wildcard") as raised:
            compile_pattern({"a": [{"anything-but": {"wildcard": ["ok*", "x**"]}}]})
        assert raised.value.path == "a[0].anything-but.wildcard"


_TOKENS = {"a": "a", "b": "b", "*": ".*", "\\*": re.escape("*"), "\\\\": re.escape("\\")}


@given(
    tokens=st.lists(st.sampled_from(sorted(_TOKENS)), max_size=8).filter(
        lambda ts: all(not (x == y == "*") for x, y in itertools.pairwise(ts))
    ),
    value=st.text(alphabet="ab*\\", max_size=10),
)
def test_agrees_with_a_regular_expression_on_small_inputs(tokens: list[str], value: str) -> None:
    """On inputs too small to backtrack badly, the answer is the regular expression's."""
    expected = re.fullmatch("".join(_TOKENS[t] for t in tokens), value, re.DOTALL) is not None
    assert wildcard("".join(tokens))(value) == expected
