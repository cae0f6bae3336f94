"""The retry policy: the schedule, its jitter, and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookwire.errors import ConfigurationError
from hookwire.sender import RetryPolicy
from hookwire.sender.retry import parse_retry_after

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_default_schedule_doubles_from_five_seconds_then_waits_five_minutes() -> None:
    policy = RetryPolicy(jitter=0)
    assert [policy.delay(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]


def test_default_max_age_is_seven_days() -> None:
    assert RetryPolicy().max_age == timedelta(days=7)


def test_jitter_stays_within_twenty_percent() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(1) for _ in range(500)]
    assert 4.0 <= min(delays) < 4.5
    assert 5.5 < max(delays) <= 6.0


def test_retry_after_is_raised_to_the_first_delay() -> None:
    assert RetryPolicy(jitter=0).retry_after_delay(1, 1) == 5


def test_retry_after_is_capped_at_five_minutes() -> None:
    assert RetryPolicy(jitter=0).retry_after_delay(1, 3600) == 300


def test_retry_after_within_bounds_is_used_as_given() -> None:
    assert RetryPolicy(jitter=0).retry_after_delay(1, 42) == 42


def test_missing_retry_after_falls_back_to_the_schedule() -> None:
    assert RetryPolicy(jitter=0).retry_after_delay(3, None) == 20


def test_retry_after_seconds_parse() -> None:
    assert parse_retry_after("120", now=NOW) == 120


def test_retry_after_http_date_parses_relative_to_now() -> None:
    assert parse_retry_after("Sat, 28 Nov 2026 12:01:30 GMT", now=NOW) == 90


def test_unreadable_retry_after_is_ignored() -> None:
    assert parse_retry_after("soon", now=NOW) is None


def test_negative_jitter_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="jitter"):
        RetryPolicy(jitter=-0.1)
