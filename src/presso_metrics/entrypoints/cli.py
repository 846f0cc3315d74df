"""``presso-metrics``: the command line. Each command parses options and calls the library;
anything it does, a Python user can do with the same functions.

The commands live by job in ``cli_pipeline`` (init, publish, load, worker, demo), ``cli_reading``
(report, dlq, metrics, serve) and ``cli_buffer`` (status, loadtest); what they share is in
``cli_common``. Importing them here attaches them to the group.
"""

from __future__ import annotations

from presso_metrics.entrypoints import cli_buffer, cli_pipeline, cli_reading
from presso_metrics.entrypoints.cli_common import main

__all__ = ["cli_buffer", "cli_pipeline", "cli_reading", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
