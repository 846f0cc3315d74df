"""What the browser tests share: a real `presso-metrics serve` on a real database, headless
Chromium (Debian's package) driving the page, counters written through the store's `apply`,
and readers of what the page shows."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, Playwright

from presso_metrics import bootstrap
from presso_metrics.domain.counters import CounterKey
from presso_metrics.domain.counting import CountedEvent

CLI = str(Path(sys.executable).parent / "presso-metrics")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 15_000  # a hang guard: the page loads in well under a second


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: Mapping[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`presso-metrics serve` on a free port with ``env``; yields its URL and process."""
    port = free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer /healthz")
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"the server exited: {err}")
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def write_counters(
    db: Path,
    counters: Mapping[tuple[str, str, str], int],
    metrics_file: Path | None = None,
) -> None:
    """Write counters ``{(metric, bucket, dimension): n}`` into a provisioned database at
    ``db`` through the store's ``apply`` (one counted event per counter), bypassing the
    consumer: the way to hold data the consumer would refuse."""
    settings = bootstrap.Settings(
        db=str(db), metrics_file=str(metrics_file) if metrics_file else None
    )
    stack = bootstrap.build(settings, provision=True)
    try:
        events = []
        for (name, bucket, dimension), n in counters.items():
            key = CounterKey(stack.metrics.get(name).partition, bucket, dimension)
            events.append(CountedEvent(f"test-counter-{uuid.uuid4()}", {key: n}))
        result = stack.store.apply(events)
        assert result.counted == {e.marker for e in events}, result
    finally:
        stack.close()


def launch(p: Playwright) -> Browser:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is not installed: run `make browser` (make test does it)"
    return p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


def open_page(browser: Browser) -> Page:
    """A page that records dialogs (dismissed) in ``page.dialogs`` and console errors and
    uncaught exceptions in ``page.errors``."""
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    dialogs: list[str] = []
    errors: list[str] = []
    page.dialogs = dialogs  # type: ignore[attr-defined]
    page.errors = errors  # type: ignore[attr-defined]

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_page_error(error: Error) -> None:
        errors.append(str(error))

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return page


def table(page: Page, selector: str) -> list[list[str]]:
    """A table's rows as the text of their cells."""
    rows: list[list[str]] = page.eval_on_selector(
        selector,
        "t => [...t.querySelectorAll('tr')].map(r => [...r.children].map(c => c.textContent))",
    )
    return rows


def named_table(page: Page, selector: str) -> list[list[str]]:
    """A table's rows, a name cell read as the exact name it stands for (its ``data-name``)
    and any other cell as its text."""
    rows: list[list[str]] = page.eval_on_selector(
        selector,
        """t => [...t.querySelectorAll('tr')].map(r => [...r.children].map(c => {
            const n = c.querySelector('[data-name]');
            return n ? n.dataset.name : c.textContent;
        }))""",
    )
    return rows


def columns(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    """``{row header: {column header: cell}}`` of a table read by :func:`named_table`."""
    header = rows[0]
    assert len(set(header)) == len(header), f"two columns have one name: {header}"
    return {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}


def chart(page: Page, canvas_id: str) -> Any:
    """A Chart.js chart's labels and datasets as the page gave them to Chart.js."""
    return page.evaluate(
        """id => { const c = Chart.getChart(id);
            return { labels: c.data.labels,
                     datasets: c.data.datasets.map(d => ({ label: d.label, data: d.data })) }; }""",
        canvas_id,
    )
