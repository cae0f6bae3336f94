"""Grading ``hookwire check``'s answers: what a sender needs from a listener, and what to change.

Each function turns the answers of one check into a :class:`Verdict`:
:func:`grade_accepted` for requests the sender sends (they must get a 2xx,
well inside the sender's 5 s read timeout), :func:`grade_refused` for
requests tampered with (4xx: never 2xx, never 5xx), :func:`grade_oversized`
for a body over the listener's size limit (413, or handled, but never a hang)
and :func:`grade_latency` for the time a listener takes to answer. Every
warning and failure carries the advice that fixes it: the general advice for a
status is here, each check's own advice comes from the battery.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from ._check_probe import Answer
from ._check_report import Grade, Verdict

__all__ = [
    "SENDER_READ_TIMEOUT",
    "SLOW_ANSWER",
    "grade_accepted",
    "grade_latency",
    "grade_oversized",
    "grade_refused",
    "percentile",
]

#: The sender waits this long for an answer (its default read_timeout), then delivers again.
SENDER_READ_TIMEOUT: Final = 5.0
#: An answer slower than this is a warning: the listener works before it answers.
SLOW_ANSWER: Final = 1.0
#: Bad answers a line names; the rest are counted.
_SHOWN: Final = 2

_ANSWER_FAST: Final = (
    "answer 202 at once and do slow work after the answer (a queue or a background job): "
    f"the sender gives up after {SENDER_READ_TIMEOUT:g} s and delivers the events again"
)
_NO_ANSWER: Final = "no answer: check that the listener is running and reachable from the sender"
_VALID_REFUSED: Final = (
    "these are valid signed requests like the first check's: answer them 2xx "
    "(fix what the first check reports)"
)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none): ``fraction`` 0.5 is the median."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _status_advice(status: int, payload_advice: str) -> str:
    """What to change when a request the sender would send got ``status`` instead of 2xx."""
    if 300 <= status < 400:
        return "the sender never follows redirects: register the final URL (https, path, host)"
    if status in {401, 403}:
        return (
            "the listener refused a request with the right credentials: give it the same "
            "secret, signature file or basic-auth credentials as this check, and check its clock"
        )
    if status in {404, 405}:
        return "nothing takes POST at this URL: check the path (the scaffold listens on /webhooks)"
    if status == 410:
        return "410 Gone disables the webhook at the sender: answer 410 only to stop deliveries"
    if status == 413:
        return (
            "raise the body limit to 1 MiB: the sender splits a batch answered 413 and drops "
            "an event that is refused alone"
        )
    if status == 415:
        return "accept content-type application/json"
    if status in {429, 503}:
        return "the listener is throttling: the sender waits as Retry-After says, then retries"
    return payload_advice


def _failures(answers: Sequence[Answer]) -> list[Answer]:
    return [answer for answer in answers if not answer.ok]


def _which(answers: Sequence[Answer], total: int) -> str:
    """``COURSE_ENROLLMENT: 500`` for one bad answer; a count, then the first two, for several."""
    shown = "; ".join(
        f"{a.label}: {a.describe()}" if a.label else a.describe() for a in answers[:_SHOWN]
    )
    if len(answers) > _SHOWN:
        shown += f"; {len(answers) - _SHOWN} more"
    return shown if total == 1 else f"{len(answers)} of {total} not accepted ({shown})"


def grade_accepted(
    answers: Sequence[Answer], *, payload_advice: str, prefer_202: bool = False
) -> Verdict:
    """Every request must get a 2xx within the sender's read timeout.

    ``payload_advice`` is the advice for a refusal of the content itself (400,
    422, 5xx and the other statuses no general advice covers). With
    ``prefer_202`` another 2xx is a warning (one check says so, not every one).
    """
    answers = [answer for answer in answers if answer.sent]
    if not answers:
        return Verdict(Grade.SKIP, "not sent: the listener stopped answering")
    bad = _failures(answers)
    if bad:
        first = bad[0]
        if first.status is not None:
            advice = _status_advice(first.status, payload_advice)
        else:
            advice = _ANSWER_FAST if first.timed_out else _NO_ANSWER
        return Verdict(Grade.FAIL, _which(bad, len(answers)), advice)
    slowest = max(answers, key=lambda answer: answer.elapsed)
    shown = (
        slowest.describe()
        if len(answers) == 1
        else f"{len(answers)} requests, all {_statuses(answers)}, "
        f"slowest in {slowest.elapsed * 1000:.0f} ms"
    )
    if slowest.elapsed > SENDER_READ_TIMEOUT:
        return Verdict(Grade.FAIL, shown, _ANSWER_FAST)
    if slowest.elapsed > SLOW_ANSWER:
        return Verdict(Grade.WARN, shown, _ANSWER_FAST)
    if prefer_202 and any(answer.status != 202 for answer in answers):
        return Verdict(
            Grade.WARN,
            shown,
            "answer 202 Accepted: any 2xx counts as delivered, but 202 says the events are "
            "taken and handled after the answer",
        )
    return Verdict(Grade.PASS, shown)


def _statuses(answers: Sequence[Answer]) -> str:
    return ", ".join(sorted({str(answer.status) for answer in answers}))


def grade_refused(answers: Sequence[Answer], *, accepted_advice: str) -> Verdict:
    """A tampered request must get a 4xx: a 2xx is a hole, a 5xx or no answer a crash."""
    if not answers or not answers[0].sent:
        return Verdict(Grade.SKIP, "not sent: the listener stopped answering")
    answer = answers[0]
    if answer.status is None:
        advice = "refuse a request that fails authentication at once, with 401"
        return Verdict(Grade.FAIL, answer.describe(), advice)
    if answer.ok:
        return Verdict(Grade.FAIL, f"accepted: {answer.describe()}", accepted_advice)
    if 400 <= answer.status < 500:
        return Verdict(Grade.PASS, answer.describe())
    if 300 <= answer.status < 400:
        return Verdict(Grade.FAIL, answer.describe(), "refuse it with 401 instead of redirecting")
    return Verdict(
        Grade.FAIL,
        answer.describe(),
        "answer 401 when authentication fails: an error status means the listener crashed on "
        "a request it should have refused (its log says where)",
    )


def grade_oversized(answers: Sequence[Answer], *, limit: int) -> Verdict:
    """A body over ``limit`` bytes should get 413 at once; a 2xx is fine, a hang is not."""
    if not answers or not answers[0].sent:
        return Verdict(Grade.SKIP, "not sent: the listener stopped answering")
    answer = answers[0]
    cap = (
        "cap the body size and answer 413 over it at once (HOOKWIRE_MAX_BODY or Flask's "
        f"MAX_CONTENT_LENGTH; {limit:,} bytes take the sender's largest batch)"
    )
    if answer.timed_out:
        return Verdict(Grade.FAIL, answer.describe(), cap)
    if answer.status is None:
        return Verdict(
            Grade.WARN,
            answer.describe(),
            "answer 413 before closing the connection, so a sender sees why it failed",
        )
    if answer.status == 413:
        return Verdict(Grade.PASS, answer.describe())
    if answer.ok:
        return Verdict(Grade.PASS, f"{answer.describe()}: taken, its limit is higher")
    return Verdict(
        Grade.WARN, answer.describe(), "answer 413 Payload Too Large to a body over the limit"
    )


def grade_latency(answers: Sequence[Answer]) -> Verdict:
    """p50 and p99 of the answer times; slow or missing answers warn or fail."""
    sent = [answer for answer in answers if answer.sent]
    if not sent:
        return Verdict(Grade.SKIP, "not sent: the listener stopped answering")
    refused = _failures(sent)
    if refused:
        verdict = grade_accepted(refused, payload_advice=_VALID_REFUSED)
        return Verdict(Grade.FAIL, _which(refused, len(sent)), verdict.advice)
    times = [answer.elapsed for answer in sent]
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    shown = f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms over {len(sent)} requests"
    if p99 > SENDER_READ_TIMEOUT:
        return Verdict(Grade.FAIL, shown, _ANSWER_FAST)
    if p99 > SLOW_ANSWER:
        return Verdict(Grade.WARN, shown, _ANSWER_FAST)
    return Verdict(Grade.PASS, shown)
