"""CSV downloads open in spreadsheets: a label from an event must never be read as a formula,
nor break its row (a cell a spreadsheet takes for the start of a new row is another way in)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from presso_metrics.views import Row, rows_csv

FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\r@SUM(A1)",
    "\r\n-2+3",
    " =1+1",
    "\u00a0=1+1",  # a no-break space first
    "\x0b+1",
    "\uff1d1+1",  # full-width equals sign, which some spreadsheets take as "="
    "\uff20SUM(A1)",
    "\t",
    "\nplain",
]
BREAKING = ["x\r=1+1", "x\r\n@SUM(A1)", "Americano\r-1", "a\rb\rc"]
TEXT = ["Americano", "Caffe Latte", "1+1=2", "a=b", "e-mail", "x\n=1", ""]
# What a spreadsheet may evaluate: a formula character first, after any blanks or breaks.
EVALUATED = re.compile(r"[\s\x00-\x1f]*[=+\-@\uff1d\uff0b\uff0d\uff20]")


def table(labels: list[str]) -> list[list[str]]:
    rows = [Row("sales", "2022-10-14", label, 1) for label in labels]
    text = rows_csv(rows)
    # A spreadsheet ends a row at any unquoted line break, "\r" included.
    return list(csv.reader(io.StringIO(text.replace("\r", "\n"), newline="")))[1:]


@pytest.mark.parametrize("label", FORMULAS + BREAKING)
def test_a_label_is_one_cell_no_spreadsheet_evaluates(label: str) -> None:
    rows = table([label])
    assert rows == [["sales", "2022-10-14", rows[0][2], "1", "{}"]]  # one row, five cells
    cell = rows[0][2]
    assert not EVALUATED.match(cell)
    assert cell.removeprefix("'") == label.replace("\r\n", "\n").replace("\r", "\n")  # kept


@pytest.mark.parametrize("label", FORMULAS)
def test_a_cell_that_could_be_a_formula_starts_with_an_apostrophe(label: str) -> None:
    assert table([label])[0][2].startswith("'")


@pytest.mark.parametrize("label", FORMULAS + BREAKING)
def test_the_dimensions_cell_is_one_json_cell_too(label: str) -> None:
    """The row's dimensions (JSON) hold the same label: escaped, one cell, never a formula."""
    import json

    text = rows_csv([Row("sales", "2022-10-14", label, 1, {"drink": label})])
    rows = list(csv.reader(io.StringIO(text.replace("\r", "\n"), newline="")))[1:]
    assert len(rows) == 1 and len(rows[0]) == 5
    assert json.loads(rows[0][4]) == {"drink": label}
    assert not EVALUATED.match(rows[0][4])


def test_other_labels_are_kept_as_they_are() -> None:
    assert [r[2] for r in table(TEXT)] == TEXT
