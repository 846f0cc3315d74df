"""Benchmarks: `make bench` (python -m bench) writes bench/results.json and bench/RESULTS.md.

Every comparison is measured in one run on the same data, so machine noise cancels in ratios.
Speed is never asserted in unit tests; it lives here.
"""
