"""The dispatcher's metrics: attempts, deliveries, publish-to-2xx latency, store time per turn.

A dispatcher hands each turn's finished outcomes to :meth:`DispatchMetrics.turned`
from the thread that records them in the store, once the store has committed
them: an attempt is counted once it is in the attempt log, and a turn the
database refused (whose outcomes are handed over again next turn) counts
nothing. The counting happens on that thread, not on the event loop that
sends requests, and reads nothing more from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ..sender.work import Outcome

__all__ = [
    "ATTEMPT_SECONDS",
    "LATENCY_SECONDS",
    "TURN_SECONDS",
    "DispatchMetrics",
    "status_class",
]

ATTEMPT_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
"""Buckets of ``hookwire_dispatch_attempt_duration_seconds``: a request, up to its timeouts."""
LATENCY_SECONDS = (
    *(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
    *(3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0),
)
"""Buckets of ``hookwire_delivery_latency_seconds``: sub-second to the 7-day retry window."""
TURN_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Buckets of ``hookwire_dispatch_turn_store_seconds``."""

_STATUS_CLASSES = {hundred: f"{hundred}xx" for hundred in range(2, 6)}
# What each verdict makes of the deliveries its request carried (split: not finished yet).
_FINISHED = {"succeeded": "succeeded", "dead": "dead", "disable": "dead"}


def status_class(status: int | None) -> str:
    """``2xx`` to ``5xx`` for a status, ``none`` when no answer came, ``other`` otherwise."""
    if status is None:
        return "none"
    return _STATUS_CLASSES.get(status // 100, "other")


class DispatchMetrics:
    """Every dispatcher metric, made once per Metrics (its senders share them).

    They are made outside any registry; the :class:`~hookwire.metrics.Metrics`
    registers :attr:`collectors` in its own.
    """

    def __init__(self) -> None:
        self.attempts = Counter(
            "hookwire_dispatch_attempts",
            "Attempts (requests sent), by verdict and by the answer's status class",
            ["verdict", "status_class"],
            registry=None,
        )
        self.attempt_seconds = Histogram(
            "hookwire_dispatch_attempt_duration_seconds",
            "Seconds from sending a request to its answer (or to its error)",
            registry=None,
            buckets=ATTEMPT_SECONDS,
        )
        self.deliveries = Counter(
            "hookwire_deliveries",
            "Deliveries (one event to one webhook) finished by an attempt, by outcome",
            ["outcome"],
            registry=None,
        )
        self.latency = Histogram(
            "hookwire_delivery_latency_seconds",
            "Seconds from when the oldest delivery of a request was queued (its publish; a "
            "batch event's flush; a redeliver) to the 2xx that delivered the request",
            registry=None,
            buckets=LATENCY_SECONDS,
        )
        self.turn_seconds = Histogram(
            "hookwire_dispatch_turn_store_seconds",
            "Seconds each dispatcher turn spends in the store (recording outcomes, claiming "
            "work); its _count is the number of turns",
            registry=None,
            buckets=TURN_SECONDS,
        )
        self.collectors: tuple[Collector, ...] = (
            self.attempts,
            self.attempt_seconds,
            self.deliveries,
            self.latency,
            self.turn_seconds,
        )
        # Label children looked up once: .labels() costs more than the increment.
        self._attempts: dict[tuple[str, str], Counter] = {}
        self._finished = {
            outcome: self.deliveries.labels(outcome) for outcome in ("succeeded", "dead")
        }

    def turned(self, outcomes: Sequence[Outcome], store_seconds: float) -> None:
        """Count one turn: its time in the store and the outcomes it recorded."""
        self.turn_seconds.observe(store_seconds)
        if not outcomes:
            return
        # Counted per turn and added once per series: an increment takes a lock.
        attempts: dict[tuple[str, str], int] = {}
        finished = {"succeeded": 0, "dead": 0}
        observe_attempt, observe_latency = self.attempt_seconds.observe, self.latency.observe
        for outcome in outcomes:
            key = (outcome.verdict, status_class(outcome.status_code))
            attempts[key] = attempts.get(key, 0) + 1
            seconds = outcome.latency_ms / 1000
            observe_attempt(seconds)
            end = _FINISHED.get(outcome.verdict)
            if end is None:
                continue
            job = outcome.job
            finished[end] += len(job.event_ids)
            if end == "succeeded":
                # The request's oldest delivery: the longest any of its deliveries waited.
                waited = (outcome.started_at - job.oldest_event_at).total_seconds() + seconds
                observe_latency(max(waited, 0.0))
        for labels, count in attempts.items():
            child = self._attempts.get(labels)
            if child is None:
                child = self._attempts[labels] = self.attempts.labels(*labels)
            child.inc(count)
        for end, count in finished.items():
            if count:
                self._finished[end].inc(count)
