"""Render the README's load-test chart (docs/loadtest.png) from a fresh embedded run of
`presso-metrics loadtest --orders 500 --write-limit 20`.

Needs Chromium (`make browser`); prints the run's summary.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = str(Path(sys.executable).parent / "presso-metrics")
OUT = Path(__file__).parent / "loadtest.png"


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Chromium: run `make browser`")
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [CLI, "loadtest", "--db", "load.db", "--orders", "500", "--write-limit", "20"],
            check=True, capture_output=True, text=True, cwd=tmp,
        )  # fmt: skip
        print(run.stdout, end="")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--hide-scrollbars", "--window-size=920,1150",
             f"--screenshot={OUT}", Path(tmp, "loadtest.html").as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
