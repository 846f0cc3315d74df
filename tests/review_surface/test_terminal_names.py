"""Review: README, "Names from data are shown as text": "Two different names never look the
same." Names a producer may send that look exactly like another in the terminal."""

from __future__ import annotations

import pytest

from presso_metrics.entrypoints.terminal import escaped

pytestmark = pytest.mark.unit

# Each next to the name it impersonates. The dashboard marks all of them (labels.js: the
# Hangul fillers, U+2800 and U+034F as HIDDEN, a decomposed name's combining marks).
LOOK_ALIKES = [
    ("Latte\u3164", "Latte"),  # HANGUL FILLER (Lo): a blank letter
    ("Latte\u115f", "Latte"),  # HANGUL CHOSEONG FILLER (Lo)
    ("Latte\u2800", "Latte"),  # BRAILLE PATTERN BLANK (So)
    ("La\u034ftte", "Latte"),  # COMBINING GRAPHEME JOINER (Mn): invisible
    ("Cafe\u0301", "Caf\u00e9"),  # decomposed é next to composed é
]


@pytest.mark.parametrize(("name", "twin"), LOOK_ALIKES, ids=[repr(a) for a, _ in LOOK_ALIKES])
def test_a_look_alike_name_is_shown_with_an_escape(name: str, twin: str) -> None:
    assert name != twin
    assert escaped(twin) == twin
    assert "\\u" in escaped(name), escaped(name)
