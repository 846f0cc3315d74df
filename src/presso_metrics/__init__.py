"""presso-metrics: exactly-once business metrics for Serverlesspresso."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version by a test
