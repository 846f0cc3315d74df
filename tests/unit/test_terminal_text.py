"""``terminal.shown``: data as text, one-to-one, with nothing a terminal acts on or hides."""

from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from presso_metrics.entrypoints import terminal
from presso_metrics.entrypoints.terminal import ESCAPE_STYLE, safe_json, shown
from presso_metrics.ports import PublishResult

_ESCAPE = re.compile(r'\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[nrt\\"])')


def decode(display: str) -> str:
    """The inverse of ``shown(...).plain``: proves no two values look alike."""
    quoted = display.startswith('"')
    if quoted:
        assert display.endswith('"') and len(display) >= 2
        display = display[1:-1]
    named = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        assert code != '"' or quoted, "an escaped quote outside quotes"
        return named[code] if code in named else chr(int(code[1:], 16))

    assert re.sub(_ESCAPE, "", display).count("\\") == 0, "a stray backslash"
    return _ESCAPE.sub(one, display)


@given(st.text())
def test_every_value_round_trips_and_is_printable(value: str) -> None:
    display = shown(value).plain
    assert decode(display) == value
    assert display.isprintable()
    assert display == display.strip()


@given(st.text(), st.text())
def test_distinct_values_look_distinct(a: str, b: str) -> None:
    if a != b:
        assert shown(a).plain != shown(b).plain


def test_the_issue_examples() -> None:
    assert shown("[/]").plain == "[/]"
    assert shown("\x1b[31mRed").plain == r"\x1b[31mRed"
    assert shown("a\u202eb\u2066c\u200bd\ufeff").plain == r"a\u202eb\u2066c\u200bd\ufeff"
    assert shown("Latte ").plain == '"Latte "'
    assert shown(" Latte").plain == '" Latte"'
    assert shown("Latte").plain == "Latte"
    assert shown("").plain == '""'
    assert shown('"Latte "').plain == r'"\"Latte \""'
    assert shown('say "hi"').plain == 'say "hi"'
    assert shown("C:\\x1b").plain == r"C:\\x1b"  # not the same as an ESC
    assert shown("line\nbreak\r\t").plain == r"line\nbreak\r\t"
    assert shown("nbsp\u00a0and\u2028sep\x85").plain == r"nbsp\xa0and\u2028sep\x85"
    assert shown("flag\U000e0067").plain == r"flag\U000e0067"
    assert shown("Café Crème 珈琲").plain == "Café Crème 珈琲"  # readable text stays readable


def test_escapes_are_styled_and_markup_is_not_interpreted() -> None:
    text = shown("[bold]x[/bold]\x1b")
    assert [span.style for span in text.spans] == [ESCAPE_STYLE]
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, color_system="truecolor").print(text)
    printed = buffer.getvalue()
    assert "[bold]x[/bold]" in printed
    assert "\x1b[1m" not in printed  # no bold from the markup in the value
    assert re.sub(r"\x1b\[[0-9;]*m", "", printed) == "[bold]x[/bold]\\x1b\n"


@given(
    st.recursive(st.text() | st.integers(), lambda c: st.lists(c) | st.dictionaries(st.text(), c))
)
def test_safe_json_is_json_of_the_same_value(value: object) -> None:
    for indent in (None, 2):
        text = safe_json(value, indent=indent)
        assert json.loads(text) == value
        assert all(ch.isprintable() or ch == "\n" for ch in text)


def test_safe_json_keeps_readable_text() -> None:
    assert safe_json({"d": "Café\u202e\x9b"}, indent=None) == '{"d": "Café\\u202e\\u009b"}'
    assert safe_json(["\x7f\x1b"], indent=None) == '["\\u007f\\u001b"]'


def test_publish_failures_are_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bus's reason for refusing an event may quote it (EventBridge's ErrorMessage)."""
    buffer = io.StringIO()
    monkeypatch.setattr(terminal, "err", Console(file=buffer, force_terminal=True, width=200))
    why = "[/] ValidationException: [link=http://evil.example]x[/link] \x1b]8;;http://e\x07"
    terminal.print_publish_result(PublishResult(0, [(0, why)]), 1)
    printed = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())
    assert "\x1b" not in printed and "\x07" not in printed
    assert (
        r"event 0: not published: [/] ValidationException: [link=http://evil.example]x[/link]"
        in printed
    )
    assert r"\x1b]8;;http://e\x07" in printed


@pytest.mark.parametrize(
    ("name", "display"),
    [
        ("Latte\ufe00", r"Latte\ufe00"),  # a variation selector on a letter shows nothing
        ("Latte\U000e0100", r"Latte\U000e0100"),  # a supplementary variation selector
        ("Latte\ufe0f", r"Latte\ufe0f"),  # emoji presentation on a letter shows nothing
        ("\u2615\ufe0f Latte", "\u2615\ufe0f Latte"),  # on a symbol it is the emoji: plain
        ("Caf\u00e9", "Caf\u00e9"),  # composed: plain
        ("Cafe\u0301", r"Cafe\u0301"),  # decomposed: the mark shows as an escape
    ],
)
def test_invisible_and_decomposed_characters(name: str, display: str) -> None:
    assert shown(name).plain == display


def test_a_name_in_composed_form_keeps_its_combining_marks_plain() -> None:
    # No composed form exists for q + U+0301: the name is in NFC and shows as it is.
    assert shown("q\u0301").plain == "q\u0301"


def test_safe_json_escapes_blank_characters() -> None:
    assert safe_json("Latte\u3164", indent=None) == r'"Latte\u3164"'
    assert json.loads(safe_json("Latte\u3164")) == "Latte\u3164"


@pytest.mark.parametrize(("n", "title"), [(1, "1 dead letter"), (2, "2 dead letters")])
def test_the_dead_letter_table_title_agrees_with_its_count(
    n: int, title: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from presso_metrics.dead_letters import DeadLetter

    buffer = io.StringIO()
    monkeypatch.setattr(terminal, "out", Console(file=buffer, width=200))
    letters = [
        DeadLetter(f"m{i}", "{", "invalid_json", "not JSON", None, None, None, 1) for i in range(n)
    ]
    terminal.print_dead_letters(letters, "table")
    assert buffer.getvalue().splitlines()[0].strip() == title
