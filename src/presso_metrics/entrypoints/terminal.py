"""What the command line prints: reports, dead letters, metric lists, progress bars.

Results go to standard output (``out``), messages and progress to standard error (``err``).

Every value that comes from data (drink and modifier names, bucket labels, metric definitions
from a metrics file, dead letters and their reasons, publish failures) goes through
:func:`shown`: it becomes a :class:`rich.text.Text`, never markup, with the characters a
terminal would act on or hide shown as escapes. JSON output is JSON with the same characters
escaped (:func:`safe_json`).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.highlighter import JSONHighlighter
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable
from rich.text import Text

from presso_metrics.dead_letters import DeadLetter
from presso_metrics.domain.metrics import MetricSet
from presso_metrics.loadtest.report import describe_run, summary_lines
from presso_metrics.loadtest.samples import Sample
from presso_metrics.ports import PublishResult
from presso_metrics.views import Row, pivot, rows_csv
from presso_metrics.watch import History, sparkline

err = Console(stderr=True)
out = Console(soft_wrap=True)


# --- data as text ---------------------------------------------------------------------------

ESCAPE_STYLE = "reverse"
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}


# Printable characters that show as nothing or as a blank: default-ignorable code points that
# are not format characters (the combining grapheme joiner, the Hangul fillers, Mongolian and
# other variation selectors, Khmer inherent vowels) and the blank Braille pattern. The
# dashboard's labels.js marks the same ones.
_BLANK = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE0F))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
_EMOJI_PRESENTATION = "\ufe0f"  # plain after a symbol (☕️), escaped after anything else


def _must_escape(text: str, i: int, decomposed: bool) -> bool:
    ch = text[i]
    if not ch.isprintable() or ch == "\\" or ch in _BLANK:
        return True
    if ch == _EMOJI_PRESENTATION:
        return i == 0 or unicodedata.category(text[i - 1]) != "So"
    # In a name not in composed form (NFC), its combining marks would look like its twin's
    # composed letters (Cafe + U+0301 and Café).
    return decomposed and unicodedata.category(ch).startswith("M")


def escape_char(ch: str) -> str:
    """One character as an escape: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0001``, ``\\\\``."""
    short = _SHORT_ESCAPES.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(value: object, style: str = "") -> Text:
    """``value``, a string from data, as text a terminal displays and never acts on.

    - It is a :class:`Text`: brackets are characters, never Rich markup (``[/]``,
      ``[link=...]``), and it is not highlighted.
    - Every character :meth:`str.isprintable` refuses is shown as an escape, as Python's
      ``repr`` shows it: control characters (Unicode Cc: ``\\x1b``, ``\\n``, C1 such as
      ``\\x9b``), format characters (Cf: the bidi embeddings, overrides and isolates U+202A-E
      and U+2066-9, marks such as U+200E, zero-width characters U+200B-D, U+FEFF, tag
      characters), separators other than the ASCII space (U+00A0, U+2028, U+3000, ...),
      surrogates, private-use and unassigned code points. So is every printable character that
      shows as nothing or as a blank (U+034F, the Hangul fillers, variation selectors, U+2800;
      U+FE0F only where it does not follow a symbol), and so are the combining marks of a name
      not in composed form (NFC), which would look like its composed twin (``Cafe\\u0301``
      beside ``Café``). The backslash itself is shown as ``\\\\``, so an escape can never be
      confused with the same characters typed literally.
    - A value that is empty, starts or ends with a space, or starts with ``"`` is quoted
      (``"Latte "``), with ``"`` inside escaped: names that differ only by a trailing space
      look different.

    Escapes carry ``ESCAPE_STYLE`` on a terminal that shows styles. Distinct values are always
    shown differently (the mapping is one-to-one).
    """
    text = value if isinstance(value, str) else str(value)
    quoted = text == "" or text[0] in ' "' or text[-1] == " "
    simple = text.isascii() or (
        unicodedata.is_normalized("NFC", text) and not any(_hidden_candidate(ch) for ch in text)
    )
    if not quoted and simple and text.isprintable() and "\\" not in text:
        return Text(text, style=style)  # the common case: nothing to escape
    decomposed = not unicodedata.is_normalized("NFC", text)
    result = Text(style=style)
    if quoted:
        result.append('"')
    plain: list[str] = []
    for i, ch in enumerate(text):
        if not _must_escape(text, i, decomposed) and not (quoted and ch == '"'):
            plain.append(ch)
            continue
        if plain:
            result.append("".join(plain))
            plain.clear()
        result.append(escape_char(ch), style=ESCAPE_STYLE)
    if plain:
        result.append("".join(plain))
    if quoted:
        result.append('"')
    return result


def _hidden_candidate(ch: str) -> bool:
    return ch in _BLANK or ch == _EMOJI_PRESENTATION


def escaped(value: object) -> str:
    """:func:`shown` as a plain string (for a progress bar, an error message)."""
    return shown(value).plain


def safe_json(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON that a terminal displays as it is: non-ASCII text stays readable
    (``Café``), but every character :func:`shown` would escape is a JSON escape
    (``\\u202e``, ``\\u009b``), as ``json.dumps`` already does for ``\\u001b``."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:  # json.dumps escapes the other C0 controls
        return text
    return "".join(
        json.dumps(ch)[1:-1] if (not ch.isprintable() and ch != "\n") or ch in _BLANK else ch
        for ch in text
    )


def print_json(value: Any, *, indent: int | None = 2) -> None:
    body = JSONHighlighter()(Text(safe_json(value, indent=indent)))
    body.no_wrap = True
    body.overflow = None
    out.print(body, soft_wrap=True)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    bar = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    with bar:
        task = bar.add_task(escaped(description), total=total)
        yield lambda n: bar.advance(task, n)


def print_publish_result(result: PublishResult, count: int) -> None:
    err.print(f"published {result.published} of {count} events")
    for index, why in result.failed[:20]:
        err.print(Text.assemble(f"  event {index}: not published: ", shown(why), style="red"))
    if len(result.failed) > 20:
        err.print(f"  ... and {len(result.failed) - 20} more", style="red")


def print_report(metrics: MetricSet, rows: list[Row], fmt: str, names: Iterable[str]) -> None:
    if fmt == "json":
        print_json([r.as_dict() for r in rows], indent=None)
        return
    if fmt == "csv":
        out.file.write(rows_csv(rows))
        return
    if not rows:
        out.print("no data for this range")
        return
    for name in names:
        metric = metrics.get(name)
        table = pivot(metric, [r for r in rows if r.metric == name])
        if not table.rows:
            continue
        title = shown(metric.name)
        if metric.description:
            title.append(": ").append_text(shown(metric.description))
        rich = RichTable(title=title, title_justify="left", show_lines=False)
        headers = [shown(metric.granularity), *(shown(c) for c in table.columns)]
        rich.add_column(headers[0], no_wrap=True)
        for column, header in zip(table.columns, headers[1:], strict=True):
            rich.add_column(
                header, justify="right", style="bold" if column == metric.total else None
            )
        buckets = [shown(bucket) for bucket, _ in table.rows]
        for bucket, (_, values) in zip(buckets, table.rows, strict=True):
            rich.add_row(bucket, *(str(v) for v in values))
        print_wide(rich, headers, buckets)
        out.print()


def print_wide(table: RichTable, headers: list[Text], first_column: list[Text]) -> None:
    """Print without truncating headers: wider than the terminal if it must (lines wrap)."""
    widths = [h.cell_len for h in headers]
    widths[0] = max([widths[0], *(v.cell_len for v in first_column)])
    needed = sum(w + 3 for w in widths) + 1
    Console(file=out.file, width=max(needed, out.width), soft_wrap=True).print(table)


def print_dead_letters(letters: Sequence[DeadLetter], fmt: str) -> None:
    if fmt == "json":
        print_json([d.as_dict() for d in letters], indent=None)
        return
    if not letters:
        out.print("the dead-letter queue is empty")
        return
    noun = "dead letter" if len(letters) == 1 else "dead letters"
    table = RichTable(title=f"{len(letters)} {noun}", title_justify="left")
    for column in ("message id", "reason", "field", "metric", "why", "body"):
        table.add_column(column, overflow="fold")
    for d in letters:
        body = shown(d.body if len(d.body) <= 60 else d.body[:57])
        if len(d.body) > 60:
            body.append("...", style="dim")
        table.add_row(
            shown(d.message_id),
            shown(d.reason),
            shown(d.field) if d.field is not None else "",
            shown(d.metric) if d.metric is not None else "",
            shown(d.message),
            body,
        )
    Console(file=out.file, width=max(out.width, 200), soft_wrap=True).print(table)


def _dimensions_cell(dimensions: list[dict[str, Any]]) -> Text:
    """A metric's dimensions on one line, ``;`` between them: each one's label, the paths read
    (alternatives joined by ``|``) and, for a value kept from the order, ``(from the order)``."""
    if not dimensions:
        return Text("-")
    lines = []
    for dim in dimensions:
        line = Text.assemble(shown(dim["label"]), ": ")
        line.append_text(Text(" | ").join(shown(p) for p in dim["paths"]))
        if "from_order" in dim:
            line.append(" (from the order)", style="dim")
        lines.append(line)
    return Text("; ").join(lines)


def print_metrics(metric_set: MetricSet, fmt: str) -> None:
    described = [m.describe() for m in metric_set]
    if fmt == "json":
        print_json({"time_zone": str(metric_set.time_zone), "metrics": described})
        return
    title = shown(metric_set.origin).append(f" (days in {metric_set.time_zone})")
    table = RichTable(title=title, title_justify="left")
    for column in ("name", "kind", "granularity", "dimensions", "total", "partition", "events"):
        table.add_column(column, overflow="fold")
    for d in described:
        table.add_row(
            shown(d["name"]),
            shown(d["kind"]),
            shown(d["granularity"]),
            _dimensions_cell(d["dimensions"]),
            shown(d["total"]) if d["total"] is not None else "-",
            shown(d["partition"]),
            shown(safe_json(d["events"], indent=None)),
        )
    out.print(table)


# --- the live status and the load test ------------------------------------------------------


def status_view(history: History, queue: str, dead_letter_queue: str, where: str) -> RichTable:
    """One frame of ``status --watch``."""
    latest = history.latest
    rate = history.rate
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(no_wrap=True)
    header = Text.assemble(shown(where), f" · {latest.at:%H:%M:%S} · Ctrl-C to stop", style="dim")
    grid.add_row(shown(queue), "", header)
    grid.add_row(
        "queue depth",
        f"{latest.depth:,}",
        f"visible {latest.visible:,} · in flight {latest.in_flight:,}",
    )
    grid.add_row(
        "dead letters", f"{latest.dead_letters:,}", Text.assemble("in ", shown(dead_letter_queue))
    )
    counted = "-" if latest.counted is None else f"{latest.counted:,}"
    grid.add_row(
        "counting",
        "…" if rate is None else f"{rate:,.1f}",
        f"events/s · {counted} {history.covers}",
    )
    depths = history.depths
    grid.add_row(
        "depth history",
        "",
        Text.assemble(
            (sparkline(depths), "cyan"),
            f"  peak {max(depths):,} over the last {history.seconds:.0f} s",
        ),
    )
    return grid


def watch_status(
    histories: Iterator[History], queue: str, dead_letter_queue: str, where: str
) -> None:
    """Refresh the status in place until Ctrl-C (then return: the exit is clean). When the
    output is not a terminal, print one JSON object per snapshot instead (JSON lines)."""
    try:
        if not out.is_terminal:
            for history in histories:
                print_json(history.as_json(queue, dead_letter_queue), indent=None)
                out.file.flush()
            return
        with Live(
            console=out, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
        ) as live:
            for history in histories:
                live.update(status_view(history, queue, dead_letter_queue, where), refresh=True)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to do
        pass


@contextmanager
def loadtest_progress() -> Iterator[Callable[[Sample], None]]:
    """A live line on standard error while the load test runs (nothing if it is not a
    terminal): published, depth and its sparkline, counted, write transactions."""
    if not err.is_terminal:
        yield lambda sample: None
        return
    depths: list[int] = []
    with Live(console=err, auto_refresh=False, transient=True) as live:

        def show(s: Sample) -> None:
            depths.append(s.depth)
            writes = "" if s.transactions is None else f" · writes {s.transactions:,}"
            live.update(
                Text.assemble(
                    f"{s.t:6.1f} s · published {s.published:,} · depth {s.depth:,} ",
                    (sparkline(depths, 40), "cyan"),
                    f" · counted {s.counted:,}{writes}",
                ),
                refresh=True,
            )

        yield show


def print_loadtest_summary(summary: dict[str, Any], files: Sequence[Path]) -> None:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in summary_lines(summary):
        grid.add_row(label, shown(value))
    out.print(Text.assemble(("load test: ", "bold"), shown(describe_run(summary))))
    out.print(grid)
    for path in files:
        out.print(Text.assemble("wrote ", shown(str(path))))
    for m in summary.get("mismatches", []):
        err.print(
            Text.assemble(
                "counter ", shown(m["counter"]), f" moved by {m['moved']}, expected {m['expected']}"
            ),
            style="red",
        )
