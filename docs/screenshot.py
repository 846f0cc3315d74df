"""Render the README's dashboard screenshot (docs/dashboard.png) from a two-week demo.

Run with `make screenshot`; needs Chromium (`make browser`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CLI = str(Path(sys.executable).parent / "presso-metrics")
OUT = Path(__file__).parent / "dashboard.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PRESSO_METRICS_DB": f"{tmp}/demo.db"}
        subprocess.run(
            [CLI, "demo", "--days", "14", "--orders", "8400"],
            env=env,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen([CLI, "serve", "--port", "8799"], env=env)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen("http://127.0.0.1:8799/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
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
                page.goto("http://127.0.0.1:8799/")
                page.wait_for_selector("body[data-loaded]")
                page.screenshot(path=str(OUT), full_page=True)
                browser.close()
        finally:
            server.terminate()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
