"""What no bus publishes, said with the field it is in."""

from __future__ import annotations

import enum
from collections import OrderedDict

import pytest

from presso_metrics.adapters.event_json import problem_of

pytestmark = pytest.mark.unit


class Size(enum.IntEnum):
    LARGE = 3


class Name(str):
    pass


def test_subclasses_of_json_types_are_checked_as_what_they_hold() -> None:
    assert problem_of({"detail": OrderedDict(size=Size.LARGE, name=Name("Latte"))}) is None
    assert problem_of({"detail": (1, 2.5, None, True)}) is None
    said = problem_of({"detail": OrderedDict(name=Name("La\udc80tte"))})
    assert said == (
        "detail.name holds text that is not Unicode (a lone surrogate, U+DC80, at character 2)"
    )


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"detail": {"a b": ["ok", "\ud800"]}}, "detail['a b'][1] holds text"),
        ({"detail-type": "\ud800"}, "detail-type holds text"),
        ({"detail": {"x" * 100: {"\ud800": 1}}}, "detail['" + "x" * 40 + "...'] has a name"),
        ({"resources": [float("inf")]}, "resources[0] is inf"),
        ("\ud800", "the event holds text"),
    ],
)
def test_the_field_is_named_as_a_path(event: object, said: str) -> None:
    found = problem_of(event)
    assert found is not None and found.startswith(said), found
    assert found.isascii()  # what came from the event is shown escaped
