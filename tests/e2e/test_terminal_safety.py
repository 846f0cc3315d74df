"""Issue #11: values from data reach the terminal as text, never as markup or escape sequences.

The databases are written directly through the store's ``apply`` (domain ``CountedEvent``s) and
the dead-letter queue's ``send``, so the rendering is tested whatever the consumer accepts; the
pipeline path (an event whose ``time`` is ``[/]``, a body that is not JSON) is tested too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from presso_metrics import bootstrap
from presso_metrics.bootstrap import Settings
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent
from presso_metrics.ports import OutgoingMessage
from tests.e2e.conftest import Cli

DAY = "2024-05-01"
HOSTILE = [
    "[/]",
    "[link=http://evil.example]Latte[/link]",
    "\x1b[31mRed",
    "\x1b]8;;http://evil.example\x07x\x1b]8;;\x07",
    "Latte ",
    "Latte",
    "abc\u202edef",  # a right-to-left override
    "tab\there",
    "[bold]Mocha",
]
# How each is shown: as text, with control characters escaped and edge spaces quoted.
SHOWN = {
    "[/]": "[/]",
    "[link=http://evil.example]Latte[/link]": "[link=http://evil.example]Latte[/link]",
    "\x1b[31mRed": r"\x1b[31mRed",
    "\x1b]8;;http://evil.example\x07x\x1b]8;;\x07": r"\x1b]8;;http://evil.example\x07x\x1b]8;;\x07",
    "Latte ": '"Latte "',
    "abc\u202edef": r"abc\u202edef",
    "tab\there": r"tab\there",
    "[bold]Mocha": "[bold]Mocha",
}
OSC = re.compile(r"\x1b\]")
# What Rich itself may write on a colour terminal: SGR styles, and nothing else.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def assert_inert(output: str) -> None:
    """No byte that a terminal would act on: no escape, no BEL, no OSC 8 hyperlink."""
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\x9b" not in output and "\x9d" not in output  # C1 CSI and OSC
    assert "\u202e" not in output


def seed_counters(db: Path) -> None:
    settings = Settings(db=str(db))
    bootstrap.provision_stack(settings)
    stack = bootstrap.build(settings)
    try:
        sales = stack.metrics.get("sales")
        modifiers = stack.metrics.get("modifiers")
        events = []
        for i, name in enumerate(HOSTILE):
            events.append(
                CountedEvent(
                    f"hostile-{i}",
                    {
                        CounterKey(sales.partition, DAY, name): i + 1,
                        CounterKey(sales.partition, DAY, "TotalSales"): i + 1,
                        CounterKey(modifiers.partition, DAY, name): 1,
                    },
                )
            )
        # A bucket label that holds an escape sequence (a table written by something else).
        events.append(
            CountedEvent(
                "hostile-bucket", {CounterKey(sales.partition, DAY + "\x1b[2J", "Espresso"): 1}
            )
        )
        result = stack.store.apply(events)
        assert len(result.counted) == len(events)
    finally:
        stack.close()


def seed_dead_letters(cli: Cli, db: Path, tmp_path: Path) -> None:
    """Dead letters three ways: through the pipeline (a bad time, a body that is not JSON) and
    written straight to the dead-letter queue with hostile reasons."""
    events = [
        {
            "id": "bad-time",
            "source": "awsserverlessda.serverlesspresso",
            "detail-type": "OrderManager.WaitingCompletion",
            "time": "[/]",
            "detail": {"drinkOrder": {"drink": "Latte"}},
        },
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    cli.run("publish", str(path))
    settings = Settings(db=str(db))
    stack = bootstrap.build(settings)
    try:
        # Characters SQS accepts in a body (C1 controls, bidi overrides) stay in it as text;
        # a body with ESC or BEL is kept base64-encoded by the dead-letter path.
        raw = [
            "[/]\x9b31m not json [link=http://evil.example]x[/link] \u202e",
            "[/]\x1b[31m not json \x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
        ]
        assert stack.queue.send([OutgoingMessage(body) for body in raw]) == ["", ""]
        letter = OutgoingMessage(
            "\x1b]8;;http://evil.example\x07body\x1b]8;;\x07[/]",
            {
                "presso.reason": "[/]\x1b[31mreason",
                "presso.message": "why [link=http://evil.example]x[/link] \x1b[2J\u202e",
                "presso.field": "detail.\x1b[1mdrink",
                "presso.metric": "[/]",
                "presso.message-id": "id-\x1b[5m[/]",
            },
        )
        assert stack.dead_letters.send([letter]) == [""]
    finally:
        stack.close()
    stats = cli.json("worker", "--drain")
    assert stats["rejected"] == 3


@pytest.fixture
def hostile(cli: Cli, tmp_path: Path) -> Cli:
    seed_counters(cli.db)
    seed_dead_letters(cli, cli.db, tmp_path)
    return cli


def test_report_table_shows_names_as_text(hostile: Cli) -> None:
    result = hostile.run("report", check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert_inert(out)
    for shown in SHOWN.values():
        assert shown in out, shown
    # Names that differ only by a trailing space look different.
    assert '"Latte "' in out and re.search(r"(?<![\w\"])Latte(?![\w\"])", out)
    # The hostile bucket label is shown escaped, its row kept.
    assert DAY + r"\x1b[2J" in out


def test_report_on_a_colour_terminal_writes_only_its_own_styles(hostile: Cli) -> None:
    hostile.env["FORCE_COLOR"] = "1"
    hostile.env.pop("NO_COLOR", None)
    out = hostile.run("report").stdout
    assert SGR.search(out), "expected Rich's own colours on a forced terminal"
    assert not OSC.search(out)
    plain = SGR.sub("", out)
    assert_inert(plain)
    for shown in SHOWN.values():
        assert shown in plain, shown


def test_report_json_stays_exact_json(hostile: Cli) -> None:
    result = hostile.run("report", "--metric", "sales", "--format", "json")
    assert_inert(result.stdout)
    rows = json.loads(result.stdout)
    assert {r["dimension"] for r in rows} >= set(HOSTILE)
    by_name = {r["dimension"]: r["value"] for r in rows if r["bucket"] == DAY}
    assert by_name["Latte "] == HOSTILE.index("Latte ") + 1
    assert by_name["Latte"] == HOSTILE.index("Latte") + 1


def test_dlq_list_shows_rejected_records_as_text(hostile: Cli) -> None:
    result = hostile.run("dlq", "list", check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert_inert(out)
    assert "4 dead letters" in out
    assert "time '[/]' is not an ISO 8601 timestamp" in out  # the [/] event is listed
    assert r"[/]\x1b[31mreason" in out
    assert r"why [link=http://evil.example]x[/link] \x1b[2J\u202e" in out
    assert r"detail.\x1b[1mdrink" in out
    assert r"id-\x1b[5m[/]" in out
    assert r"\x1b]8;;http://evil.example\x07body" in out
    assert r"[/]\x9b31m not json [link=http://evil.example]x[/link]" in out


def test_dlq_list_json_keeps_the_exact_values(hostile: Cli) -> None:
    result = hostile.run("dlq", "list", "--format", "json")
    assert_inert(result.stdout)
    letters = json.loads(result.stdout)
    assert "[/]\x1b[31mreason" in {d["reason"] for d in letters}
    assert any(d["body"].startswith("[/]\x9b31m not json") for d in letters)


def test_metric_descriptions_and_names_from_a_metrics_file_are_text(
    cli: Cli, tmp_path: Path
) -> None:
    metrics = tmp_path / "hostile.toml"
    metrics.write_text(
        "[metrics.sales]\n"
        'description = "[/] \\u001b]8;;http://evil.example\\u0007sales\\u001b]8;;\\u0007"\n'
        'events = \'{"detail-type": ["[/]"]}\'\n'
        'dimension = "detail.drinkOrder.drink"\n'
        'total = "[/]Total\\u001b[31m"\n'
        'partition = "Aggregate"\n'
    )
    listed = cli.run("metrics", "--metrics", str(metrics), check=False)
    assert listed.returncode == 0, listed.stderr
    assert_inert(listed.stdout)
    assert r"[/]Total\x1b[31m" in listed.stdout
    assert '["[/]"]' in listed.stdout
    cli.env["PRESSO_METRICS_FILE"] = str(metrics)
    seed = Settings(db=str(cli.db), metrics_file=str(metrics))
    bootstrap.provision_stack(seed)
    stack = bootstrap.build(seed)
    try:
        stack.store.apply(
            [
                CountedEvent(
                    "one",
                    {
                        CounterKey("Aggregate", DAY, "[/]Total\x1b[31m"): 1,
                        CounterKey("Aggregate", DAY, "[/]"): 1,
                    },
                )
            ]
        )
    finally:
        stack.close()
    report = cli.run("report", check=False)
    assert report.returncode == 0, report.stderr
    assert_inert(report.stdout)
    assert r"sales: [/] \x1b]8;;http://evil.example\x07sales\x1b]8;;\x07" in report.stdout
    assert r"[/]Total\x1b[31m" in report.stdout


def test_report_dates_are_strictly_yyyy_mm_dd_like_the_api(cli: Cli) -> None:
    """Python's date.fromisoformat also takes 20221014 and week dates; the CLI, like the API,
    takes only YYYY-MM-DD (issue #11)."""
    cli.run("init")
    for bad in ("20221014", "2022-W41-5", "2022-1-5", " 2022-10-14"):
        result = cli.run("report", "--from", bad, check=False)
        assert result.returncode == 2 and "write it as YYYY-MM-DD" in result.stderr, bad
    assert cli.run("report", "--from", "2022-10-14", check=False).returncode == 0


def test_error_messages_show_what_a_terminal_would_act_on_as_escapes(cli: Cli) -> None:
    cli.run("init")
    result = cli.run("report", "--metric", "\x1b]8;;http://evil.example\x07x", check=False)
    assert result.returncode == 1 and "unknown metric" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
