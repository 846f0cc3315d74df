"""Render the README's dashboard screenshot (docs/dashboard.png) from a two-week demo at four
shops: the last 7 days against the 7 before them, all shops.

Run with `make screenshot`; needs Chromium (`make browser`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

CLI = str(Path(sys.executable).parent / "presso-metrics")
OUT = Path(__file__).parent / "dashboard.png"
DEMO = ["demo", "--days", "14", "--orders", "6000", "--shops", "4", "--seed", "2022"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PRESSO_METRICS_DB": f"{tmp}/demo.db"}
        subprocess.run([CLI, *DEMO], env=env, check=True, capture_output=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([CLI, "serve", "--port", str(port)], env=env)
        try:
            for _ in range(100):
                try:
                    with urllib.request.urlopen(f"{url}/api/span", timeout=1) as response:
                        span = json.load(response)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not answer /api/span")
            last = date.fromisoformat(span["to"])
            first = last - timedelta(days=6)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=shutil.which("chromium"),
                    args=[
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--no-first-run",
                        "--disable-background-networking",
                    ],
                )
                page = browser.new_page(viewport={"width": 1280, "height": 1500})
                page.goto(f"{url}/?from={first}&to={last}")
                page.wait_for_selector(f"body[data-loaded='{first}..{last}']")
                page.screenshot(path=str(OUT), full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
