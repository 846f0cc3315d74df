"""Errors a user can act on: each says what was wrong, where, and what to do."""

from __future__ import annotations


class PressoMetricsError(Exception):
    """Base class of every error this package raises on purpose."""


class PatternError(PressoMetricsError, ValueError):
    """An EventBridge event pattern is malformed. ``path`` locates the bad part."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class ConfigError(PressoMetricsError):
    """The metrics file or a setting is invalid; the message names the file, key and fix."""


class StoreUnavailableError(PressoMetricsError):
    """The metrics store could not be reached or kept failing after retries (transient)."""


class QueueError(PressoMetricsError):
    """A queue operation failed (unknown queue, message too large, ...)."""


class NotFoundError(PressoMetricsError):
    """A named resource (queue, bus, metric) does not exist."""


class InputError(PressoMetricsError):
    """Input a user gave (a file of events, an option value) cannot be used; says where."""
