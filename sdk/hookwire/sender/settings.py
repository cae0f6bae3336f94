"""The checks of :class:`~hookwire.sender.Sender`'s settings.

``Sender(...)`` runs :func:`check_settings` on its counts, durations, retry
policy and clock before it opens anything (and ``hookwire.metrics.checked_metrics``
on a ``metrics`` it is given): a setting of the wrong type or range is a
:class:`~hookwire.errors.ConfigurationError` naming it. They only look at
values, so they are apart from the facade that wires the parts together.
"""

from __future__ import annotations

import math
from datetime import timedelta

from ..errors import ConfigurationError
from .retry import RetryPolicy

__all__ = ["check_settings"]


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1")


def _check_seconds(name: str, value: object, *, allow_zero: bool) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        least = "zero or more" if allow_zero else "more than zero"
        raise ConfigurationError(f"{name} must be a finite number of seconds, {least}")


def check_settings(
    *,
    counts: dict[str, object],
    seconds: dict[str, object],
    batch_interval: object,
    rotation_grace: object,
    retention: object,
    retry: object,
    clock: object,
) -> None:
    """Refuse a :class:`Sender` setting of the wrong type or range, naming it."""
    for name, count in counts.items():
        _check_count(name, count)
    for name, value in seconds.items():
        _check_seconds(name, value, allow_zero=False)
    _check_seconds("batch_interval", batch_interval, allow_zero=True)
    if not isinstance(rotation_grace, timedelta) or rotation_grace < timedelta(0):
        raise ConfigurationError("rotation_grace must be a timedelta of zero or more")
    if not isinstance(retention, timedelta) or retention <= timedelta(0):
        raise ConfigurationError("retention must be a positive timedelta")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry must be a hookwire.sender.RetryPolicy")
    if clock is not None and not callable(clock):
        raise ConfigurationError("clock must be a function returning an aware datetime")
    lease, connect, read = (
        float(seconds[name])  # type: ignore[arg-type]  # checked above
        for name in ("lease_seconds", "connect_timeout", "read_timeout")
    )
    if lease <= connect + 2 * read:
        raise ConfigurationError(
            f"lease_seconds ({lease:g}) must exceed connect_timeout + 2 * read_timeout "
            f"({connect + 2 * read:g}), or a slow attempt could outlive its lease"
        )
