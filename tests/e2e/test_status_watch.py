"""``status --watch`` through a pseudo-terminal: the real command, the real screen output, a real
SIGINT. And ``status`` without ``--watch`` prints the same JSON as before."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, Cli

CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Screen:
    """A command running on a pseudo-terminal, its output collected as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 140, 0, 0))
        env = {**env, "TERM": "xterm-256color", "COLUMNS": "140", "LINES": "30"}
        env.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            [CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.master = master
        self.raw = b""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the other side closed
                return
            if not chunk:
                return
            with self.lock:
                self.raw += chunk

    @property
    def text(self) -> str:
        with self.lock:
            return CSI.sub("", self.raw.decode("utf-8", "replace"))

    def wait_for(self, found: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text
            if found(text):
                return text
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"never saw {what}; the screen:\n{self.text[-3000:]}")

    def interrupt(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        os.close(self.master)


@contextmanager
def watching(args: list[str], env: dict[str, str]) -> Iterator[Screen]:
    screen = Screen(args, env)
    try:
        yield screen
    finally:
        screen.close()


def frames(text: str) -> list[dict[str, str]]:
    """Each frame's figures, in order."""
    out = []
    for m in re.finditer(
        r"queue depth\s+([\d,]+)\s+visible ([\d,]+) · in flight ([\d,]+).*?"
        r"dead letters\s+([\d,]+).*?counting\s+(\S+)\s+events/s · ([\d,-]+) ",
        text,
        re.S,
    ):
        keys = ("depth", "visible", "in_flight", "dead", "rate", "counted")
        out.append(dict(zip(keys, (g.replace(",", "") for g in m.groups()), strict=True)))
    return out


def seen(pattern: str) -> Callable[[str], bool]:
    return lambda text: re.search(pattern, text) is not None


def test_watch_follows_the_queue_and_stops_cleanly_on_ctrl_c(cli: Cli) -> None:
    cli.run("init")
    with watching(["status", "--watch", "--interval", "0.2"], cli.env) as screen:
        screen.wait_for(seen(r"visible 0 · in flight 0"), "an empty queue")
        cli.run("load", "--burst", "--orders", "30", "--seed", "1")
        screen.wait_for(seen(r"visible 30 · in flight 0"), "the burst in the queue")
        cli.run("worker", "--drain")
        after = screen.wait_for(
            lambda t: any(f["counted"] == "30" and f["visible"] == "0" for f in frames(t)),
            "the burst counted",
        )
        code = screen.interrupt()
    assert code == 0
    figures = frames(after)
    depths = [int(f["depth"]) for f in figures]
    assert depths[0] == 0 and 30 in depths and depths[-1] == 0
    rates = [float(f["rate"]) for f in figures if f["rate"] != "…"]
    assert any(r > 0 for r in rates), "the counting rate never moved"
    assert figures[0]["rate"] == "…"  # no rate before the second snapshot
    assert "▁" in after and "█" in after  # the sparkline shows the burst at its peak
    raw = screen.raw.decode("utf-8", "replace")
    assert raw.rfind("\x1b[?25h") > raw.rfind("\x1b[?25l")  # the cursor is back
    assert "Traceback" not in screen.text and "Aborted" not in screen.text


def test_watch_prints_json_lines_when_not_on_a_terminal(cli: Cli) -> None:
    cli.run("init")
    process = cli.popen("status", "--watch", "--interval", "0.1")
    assert process.stdout is not None
    try:
        lines = [json.loads(process.stdout.readline()) for _ in range(3)]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert lines[0]["queue"] == {"name": "MetricsQueue", "visible": 0, "in_flight": 0}
    assert lines[0]["counted"]["per_second"] is None
    assert lines[2]["counted"] == {
        "events": 0,
        "per_second": 0.0,
        "covers": "events counted (dedup markers)",
    }


def test_status_without_watch_prints_the_same_json(cli: Cli) -> None:
    cli.run("init")
    cli.run("load", "--burst", "--orders", "7")
    status = cli.json("status")
    assert set(status) == {"queue", "dead_letter_queue", "at"}
    assert status["queue"] == {"name": "MetricsQueue", "visible": 7, "in_flight": 0}
    assert status["dead_letter_queue"] == {"name": "MetricsQueue-DLQ", "messages": 0}


@pytest.mark.aws
def test_watch_on_aws(cli: Cli, tmp_path: Path, aws: object) -> None:
    from tests.aws_emulator import Emulator

    assert isinstance(aws, Emulator)
    cli.env.update(aws.env)
    cli.run("init", "--aws")
    with watching(["status", "--aws", "--watch", "--interval", "0.3"], cli.env) as screen:
        screen.wait_for(seen(r"visible 0 · in flight 0"), "an empty queue")
        cli.run("load", "--aws", "--burst", "--orders", "12", "--seed", "2")
        screen.wait_for(seen(r"visible 12 · in flight 0"), "the burst in the SQS queue")
        cli.run("worker", "--aws", "--drain")
        after = screen.wait_for(
            lambda t: any(f["counted"] == "12" and f["depth"] == "0" for f in frames(t)),
            "the burst counted in today's totals",
        )
        code = screen.interrupt()
    assert code == 0
    assert "events of today counted (TotalSales, TotalCompleted, TotalCancelled)" in after
    assert any(float(f["rate"]) > 0 for f in frames(after) if f["rate"] != "…")
