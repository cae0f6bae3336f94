"""The listener's metrics: answers by status, verification failures, duplicates, handlers.

:class:`~hookwire.listening.ListeningCore` reports into :class:`ListenerMetrics`
at its answer points, so the Flask extension, ``hookwire listen`` and any other
adapter on the core count alike. Every label takes a value from a small fixed
set: statuses the core answers with, and one reason code per kind of
:class:`~hookwire.VerificationError`, never an error's text.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

from ..errors import (
    BasicAuthError,
    HeaderError,
    SignatureMismatchError,
    TimestampError,
    VerificationError,
)

if TYPE_CHECKING:
    from ..listening import Answer

__all__ = ["HANDLER_SECONDS", "VERIFICATION_REASONS", "ListenerMetrics", "reason_code"]

HANDLER_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Buckets of ``hookwire_listener_handler_duration_seconds``."""

VERIFICATION_REASONS: dict[type[VerificationError], str] = {
    HeaderError: "header",
    SignatureMismatchError: "signature",
    TimestampError: "timestamp",
    BasicAuthError: "basic_auth",
}
"""The ``reason`` label of each kind of verification failure; any other kind is ``other``."""


def reason_code(error: VerificationError) -> str:
    """The ``reason`` label of a verification failure (see :data:`VERIFICATION_REASONS`)."""
    for kind, code in VERIFICATION_REASONS.items():
        if isinstance(error, kind):
            return code
    return "other"


class ListenerMetrics:
    """Every listener metric, made once per Metrics (its cores share them).

    They are made outside any registry; the :class:`~hookwire.metrics.Metrics`
    registers :attr:`collectors` in its own.
    """

    def __init__(self) -> None:
        self.requests = Counter(
            "hookwire_listener_requests",
            "Webhook requests answered, by the answer's HTTP status",
            ["status"],
            registry=None,
        )
        self.verification_failures = Counter(
            "hookwire_listener_verification_failures",
            "Requests refused as not authentic (401), by reason: header, signature, "
            "timestamp, basic_auth or other",
            ["reason"],
            registry=None,
        )
        self.events = Counter(
            "hookwire_listener_events",
            "Events accepted: every handler ran without raising",
            registry=None,
        )
        self.duplicates = Counter(
            "hookwire_listener_duplicates",
            "Events skipped as already handled (their eventId was seen before)",
            registry=None,
        )
        self.handler_seconds = Histogram(
            "hookwire_listener_handler_duration_seconds",
            "Seconds an event spends in its handlers (all of them, in order)",
            registry=None,
            buckets=HANDLER_SECONDS,
        )
        self.handler_failures = Counter(
            "hookwire_listener_handler_failures",
            "Events whose handler raised (the request is answered 500 and retried)",
            registry=None,
        )
        self.collectors: tuple[Collector, ...] = (
            self.requests,
            self.verification_failures,
            self.events,
            self.duplicates,
            self.handler_seconds,
            self.handler_failures,
        )
        self._statuses: dict[int, Counter] = {}
        for code in VERIFICATION_REASONS.values():
            self.verification_failures.labels(code)

    def answered(self, answer: Answer) -> None:
        """Count an answer: its status, and the duplicates it reports."""
        child = self._statuses.get(answer.status)
        if child is None:
            child = self._statuses[answer.status] = self.requests.labels(str(answer.status))
        child.inc()
        duplicates = answer.body.get("duplicates")
        if duplicates:
            self.duplicates.inc(duplicates)

    def unverified(self, error: VerificationError) -> None:
        """Count a request refused as not authentic."""
        self.verification_failures.labels(reason_code(error)).inc()

    def handled(self, started: float, *, failed: bool = False) -> None:
        """Count an event whose handlers started at ``started`` (``perf_counter``) and ended now."""
        self.handler_seconds.observe(perf_counter() - started)
        if failed:
            self.handler_failures.inc()
        else:
            self.events.inc()
