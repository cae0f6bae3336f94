"""What an attempt's answer means for its request: done, retry, split, give up, or disable.

Pure functions of a job, the answer and the retry policy; the dispatcher
applies them and the store records their outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..errors import error_line
from .http import Response
from .retry import RetryPolicy, parse_retry_after
from .rows import new_id
from .work import Job, Outcome, Verdict

__all__ = ["TOO_LARGE_ERROR", "judge", "unexpected"]

TOO_LARGE_ERROR = "the target refused this event as too large (413); it is not sent again"
"""The error of the attempt that kills a lone event answered 413."""


def judge(job: Job, response: Response, retry: RetryPolicy) -> Outcome:
    """Decide what an attempt's response means: done, retry later, split, give up, or disable.

    A 413 to a request of several events splits it; a 413 to one event kills
    that delivery (the error says why) and the webhook's queue moves on.
    """
    now = response.started_at
    code = response.status_code
    verdict: Verdict
    next_attempt_at = None
    reason = None
    error = response.error
    if code is not None and 200 <= code < 300:
        verdict = "succeeded"
    elif code == 410:
        verdict = "disable"
        reason = f"the target answered 410 Gone at {now.isoformat(timespec='seconds')}"
    elif job.failing_since is not None and now - job.failing_since >= retry.max_age:
        verdict = "disable"
        reason = (
            f"every attempt failed since {job.failing_since.isoformat(timespec='seconds')}, "
            f"the whole retry window of {retry.max_age}"
        )
    elif code == 413:
        verdict = "split" if len(job.event_ids) > 1 else "dead"
        error = None if verdict == "split" else TOO_LARGE_ERROR
    elif now - job.oldest_event_at >= retry.max_age:
        verdict = "dead"
    else:
        verdict = "retry"
        next_attempt_at = now + timedelta(seconds=_wait(job, response, retry))
    return Outcome(
        job=job,
        attempt_id=new_id("att"),
        started_at=response.started_at,
        status_code=code,
        latency_ms=response.latency_ms,
        error=error,
        response_body=response.body,
        verdict=verdict,
        next_attempt_at=next_attempt_at,
        disabled_reason=reason,
    )


def _wait(job: Job, response: Response, retry: RetryPolicy) -> float:
    """Seconds before the next attempt: the schedule's, or a 429/503's ``Retry-After``."""
    failures = job.attempts + 1
    if response.status_code in (429, 503):
        asked = parse_retry_after(response.retry_after, now=response.started_at)
        return retry.retry_after_delay(failures, asked)
    return retry.delay(failures)


def unexpected(job: Job, exc: Exception, *, now: datetime, retry: RetryPolicy) -> Outcome:
    """A failed attempt, retried on the schedule, for an exception no layer expected.

    Built from the job and the clock alone: nothing the target sent is read again.
    """
    return Outcome(
        job=job,
        attempt_id=new_id("att"),
        started_at=now,
        status_code=None,
        latency_ms=0.0,
        error=f"unexpected error: {error_line(exc)}"[:500],
        response_body="",
        verdict="retry",
        next_attempt_at=now + timedelta(seconds=retry.delay(job.attempts + 1)),
    )
