"""A metrics file nested far too deep is a ConfigError naming the file, not a RecursionError."""

from __future__ import annotations

import pytest

from presso_metrics.bootstrap import default_metrics_text
from presso_metrics.domain.metrics_file import MAX_NESTING, load_metrics
from presso_metrics.exceptions import ConfigError

N = 10_000
DEEP = {
    "arrays": "x = " + "[" * N + "]" * N,
    "inline-tables": "x = " + "{a = " * N + "1" + "}" * N,
    "dotted-keys": "[metrics.sales]\nevents." + ".".join(["a"] * N) + " = 1",
    "table-headers": "[" + ".".join(["a"] * N) + "]",
    "pattern-arrays": "[metrics.sales]\nevents = {source = " + "[" * N + "]" * N + "}",
    "pattern-as-json": "[metrics.sales]\nevents = '" + '{"a":' * N + "1" + "}" * N + "'",
    "just-past-the-limit": "[metrics.sales]\nevents = " + "{a = " * 40 + "[1]" + "}" * 40,
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_is_a_config_error_naming_the_file(text: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_metrics(text, "conf/deep.toml")
    assert str(raised.value).startswith("conf/deep.toml")
    assert f"nested more than {MAX_NESTING} levels deep" in str(raised.value)


def nested(tables: int) -> str:
    """A metric whose pattern nests ``tables`` tables under ``detail``, then a list: the file
    nests 5 + tables levels (the document, metrics, sales, events, the tables, the list)."""
    inner = "{a = " * tables + '["x"]' + "}" * tables
    return f'[metrics.sales]\ntotal = "T"\nevents = {{detail = {inner}}}'


def test_nesting_up_to_the_limit_is_read() -> None:
    assert load_metrics(default_metrics_text(), "metrics.toml").names()[0] == "sales"
    assert load_metrics(nested(MAX_NESTING - 5), "ok.toml").names() == ["sales"]
    with pytest.raises(ConfigError, match="nested more than"):
        load_metrics(nested(MAX_NESTING - 4), "deep.toml")
