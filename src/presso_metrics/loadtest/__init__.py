"""The load test: the workshop's burst through the pipeline, watched ten times a second.

:func:`run_load_test` publishes :func:`~presso_metrics.simulation.burst` on the bus while the
consumers take it off the queue the way Lambda's event source mapping does (batch size,
batching window, concurrency), optionally with the store paced to ``write_limit`` write
transactions a second (:mod:`~presso_metrics.loadtest.pacing`, to model a table with provisioned
capacity or a slow disk), and samples the system every ``interval`` seconds until the queue is
drained. Each :class:`Sample` holds the events published so far, the queue's visible and
in-flight messages, the events counted, the store's write transactions and the records
dead-lettered; the summary holds the peak rates, the peak depth, the time to drain and whether
every order was counted exactly once. :func:`write_results` writes ``loadtest.json`` and the
chart, a self-contained HTML page (``loadtest.html``).

    from presso_metrics.bootstrap import Settings
    from presso_metrics.entrypoints.worker import WorkerOptions, run
    from presso_metrics.loadtest import LoadTestOptions, run_load_test, write_results

    options = LoadTestOptions(orders=500, worker=WorkerOptions(batch_size=10), write_limit=20)
    result = run_load_test(Settings(db="load.db"), options, run_consumers=run)
    write_results(result, "out")
"""

from presso_metrics.loadtest.report import chart_page, prepare_output, write_results
from presso_metrics.loadtest.run import LoadTestOptions, expected_counters, run_load_test
from presso_metrics.loadtest.samples import LoadTestResult, Sample, peaks, trailing_rates

__all__ = [
    "LoadTestOptions",
    "LoadTestResult",
    "Sample",
    "chart_page",
    "expected_counters",
    "peaks",
    "prepare_output",
    "run_load_test",
    "trailing_rates",
    "write_results",
]
