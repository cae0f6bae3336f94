"""When to try a failed request again, and when to give up."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..errors import ConfigurationError

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """The retry schedule of a sender.

    After the n-th failed attempt the request waits ``delays[n-1]`` seconds, or
    ``then_every`` once the list is used up, each spread by ``±jitter``.
    Deliveries whose oldest event is ``max_age`` old when an attempt fails are
    dead. A ``Retry-After`` on 429/503 replaces the schedule's delay, kept
    between the first delay and ``max_retry_after`` seconds.

    Example::

        RetryPolicy()                                   # 5, 10, 20, 40, 80, 160, then 300 s
        RetryPolicy(delays=[0.01, 0.02], then_every=0.05, jitter=0)   # tests
    """

    delays: Sequence[float] = (5, 10, 20, 40, 80, 160)
    then_every: float = 300
    jitter: float = 0.2
    max_age: timedelta = timedelta(days=7)
    max_retry_after: float = 300
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "delays", tuple(float(d) for d in self.delays))
        if any(d < 0 for d in self.delays) or self.then_every < 0:
            raise ConfigurationError("retry delays must be zero or more seconds")
        if not 0 <= self.jitter < 1:
            raise ConfigurationError("jitter must be at least 0 and below 1 (0.2 is ±20%)")
        if self.max_age <= timedelta(0):
            raise ConfigurationError("max_age must be a positive timedelta")

    @property
    def min_delay(self) -> float:
        """The shortest wait the schedule allows (its first delay)."""
        return self.delays[0] if self.delays else self.then_every

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (1 for the first)."""
        base = self.delays[failures - 1] if failures <= len(self.delays) else self.then_every
        if self.jitter:
            base *= self._rng.uniform(1 - self.jitter, 1 + self.jitter)
        return base

    def retry_after_delay(self, failures: int, retry_after: float | None) -> float:
        """The wait after a 429/503: ``Retry-After`` within bounds, else the schedule's."""
        if retry_after is None:
            return self.delay(failures)
        return min(max(retry_after, self.min_delay), max(self.max_retry_after, self.min_delay))


_MAX_RETRY_AFTER_CHARS = 64
"""A ``Retry-After`` longer than this is not one (an HTTP date has 29 characters)."""


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Read a ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``.

    The header comes from the target, so it is read strictly: ASCII only and at
    most 64 characters; seconds are ASCII digits (``str.isdigit`` also accepts
    ``²`` and other digits ``float`` refuses). Anything unreadable is ``None``,
    never an exception.
    """
    if not value or len(value) > _MAX_RETRY_AFTER_CHARS or not value.isascii():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
