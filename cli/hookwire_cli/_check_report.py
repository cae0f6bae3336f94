"""The report of ``hookwire check``: one graded line per check, as text or as JSON.

A check ends in a :class:`Verdict`: its :class:`Grade` (pass, warn, fail, or
skip when the battery stopped before it), what was seen (``detail``) and what
to change (``advice``, empty on a pass). A :class:`Report` holds every check's
verdict and the run's counts; :func:`render_text` prints it for people (under
the :func:`heading` printed before the requests go out) and
:meth:`Report.to_json` for scripts. Only a failed check fails the run:
warnings and skipped checks leave the exit status 0.

Example::

    report = Report(url="http://127.0.0.1:8000/webhooks", credentials="signature",
                    results=[CheckResult("valid", "a valid signed request is accepted",
                                         Verdict(Grade.PASS, "202 in 4 ms"))],
                    requests=1, rate=10, timeout=6)
    for line in render_text(report):
        print(line)
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Final

__all__ = ["CheckResult", "Grade", "Report", "Verdict", "heading", "render_text"]


class Grade(enum.StrEnum):
    """How one check went."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


#: How each grade starts its line in the text report (all the same width).
_LABELS: Final = {Grade.PASS: "PASS", Grade.WARN: "WARN", Grade.FAIL: "FAIL", Grade.SKIP: "SKIP"}
_TITLE_WIDTH: Final = 52


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's grade, what was seen, and what to change (empty when there is nothing to)."""

    grade: Grade
    detail: str
    advice: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of the battery: its key, what it expects, and its verdict."""

    key: str
    title: str
    verdict: Verdict
    requests: int = 1
    measures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "check": self.key,
            "title": self.title,
            "grade": str(self.verdict.grade),
            "detail": self.verdict.detail,
            "advice": self.verdict.advice or None,
            "requests": self.requests,
            **self.measures,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Every check's result, and how the battery was sent."""

    url: str
    credentials: str
    results: list[CheckResult]
    requests: int
    rate: float
    timeout: float
    seconds: float = 0.0

    def count(self, grade: Grade) -> int:
        """How many checks ended with ``grade``."""
        return sum(1 for result in self.results if result.verdict.grade is grade)

    @property
    def failed(self) -> bool:
        """True when a must-have check failed (the command then exits 1)."""
        return self.count(Grade.FAIL) > 0

    def summary(self) -> str:
        """One line counting the grades, failures first."""
        counts = [
            f"{self.count(Grade.FAIL)} failed",
            f"{self.count(Grade.WARN)} warned",
            f"{self.count(Grade.PASS)} passed",
        ]
        if skipped := self.count(Grade.SKIP):
            counts.append(f"{skipped} skipped")
        return ", ".join(counts)

    def to_json(self) -> dict[str, Any]:
        """The whole report as one JSON-ready document."""
        return {
            "url": self.url,
            "credentials": self.credentials,
            "ok": not self.failed,
            "counts": {str(grade): self.count(grade) for grade in Grade},
            "requests": self.requests,
            "rate": self.rate,
            "timeoutSeconds": self.timeout,
            "elapsedSeconds": round(self.seconds, 2),
            "checks": [result.to_json() for result in self.results],
        }


def heading(url: str, credentials: str, *, requests: int, rate: float, timeout: float) -> str:
    """The line printed before the battery is sent: what is checked, and how gently."""
    return (
        f"Checking {url} with {credentials}: {_requests(requests)}, "
        f"at most {rate:g} a second, {timeout:g} s timeout each"
    )


def render_text(report: Report) -> Iterator[str]:
    """The report as lines: one line per check (and its advice), then a summary.

    Checks skipped in a row (the battery stopped before them) share one line.
    """
    for skipped, run in groupby(report.results, key=lambda r: r.verdict.grade is Grade.SKIP):
        results = list(run)
        if skipped and len(results) > 1:
            title = f"the {len(results)} checks left"
            yield f"{_LABELS[Grade.SKIP]}  {title:<{_TITLE_WIDTH}}  {results[0].verdict.detail}"
            continue
        for result in results:
            verdict = result.verdict
            yield f"{_LABELS[verdict.grade]}  {result.title:<{_TITLE_WIDTH}}  {verdict.detail}"
            if verdict.advice:
                yield f"      -> {verdict.advice}"
    yield f"Result: {report.summary()} ({_requests(report.requests)} in {report.seconds:.1f} s)"


def _requests(count: int) -> str:
    return f"{count} request" if count == 1 else f"{count} requests"
