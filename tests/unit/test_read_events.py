"""Reading a file of events: what cannot be read at all is one InputError saying where."""

from __future__ import annotations

import pytest

from presso_metrics.exceptions import InputError
from presso_metrics.publisher import read_events

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[" * 5000 + "]" * 5000, "events.json: JSON nested too deeply to read"),
        ('{"a": 1}\n' + '{"x":' * 5000 + "1" + "}" * 5000, "events.json:2: JSON nested too deeply"),
        ("[1, 2" + "0" * 5000 + "]", "events.json: a number too long to read (Exceeds the limit"),
        ('{"a": 1}\n{"n": 1' + "0" * 5000 + "}", "events.json:2: a number too long to read"),
        ('[{"a": 1},\n {"b": }]', "events.json:2: not valid JSON (Expecting value)"),
        ('{"a": 1}\n{"b"\n', "events.json:2: not valid JSON (Expecting ':' delimiter)"),
    ],
)
def test_a_file_that_cannot_be_read_says_where(text: str, said: str) -> None:
    with pytest.raises(InputError) as refused:
        read_events(text, "events.json")
    assert str(refused.value).startswith(said), str(refused.value)


def test_what_can_be_read_is_read_as_it_is() -> None:
    """A lone surrogate or NaN is valid for the reader: the bus refuses that event alone."""
    events = read_events('[{"a": "\\ud800"}, {"b": NaN}, {"c": [[[[1]]]]}]', "events.json")
    assert events[0] == {"a": "\ud800"} and events[2] == {"c": [[[[1]]]]}
