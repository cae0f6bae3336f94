"""``hookwire_queue_*``: the sender's queue, read from its store at scrape time.

The gauges come from a read-only query when Prometheus scrapes, not from a
counter kept by one process: every process with a :class:`~hookwire.sender.Sender`
sees the same queue, however many dispatchers share it. A database that cannot
be read leaves the queue families out of that scrape (and logs why) instead of
failing the whole scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..errors import error_line

if TYPE_CHECKING:
    from ..sender.store.readings import QueueReading

__all__ = ["QueueCollector"]

log = logging.getLogger("hookwire.metrics")

_DEPTH = "hookwire_queue_depth"
_DEPTH_HELP = (
    "Unfinished deliveries of active webhooks: queued (waiting for a first attempt, batch "
    "events included) and retrying (tried, to be tried again)"
)
_AGE = "hookwire_queue_oldest_age_seconds"
_AGE_HELP = (
    "Seconds the longest-waiting work a dispatcher could send now has been due (0 when "
    "none waits); retries wait from their scheduled time, so a failing target does not count"
)


class QueueCollector(Collector):
    """The queue gauges of one store: in total, or by webhook when ``per_webhook``.

    ``read(now, per_webhook)`` returns the store's readings; ``clock`` is the
    sender's clock.
    """

    def __init__(
        self,
        read: Callable[[datetime, bool], list[QueueReading]],
        clock: Callable[[], datetime],
        *,
        per_webhook: bool,
    ) -> None:
        self._read = read
        self._clock = clock
        self._per_webhook = per_webhook

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["state", "webhook_id"] if self._per_webhook else ["state"]
        depth = GaugeMetricFamily(_DEPTH, _DEPTH_HELP, labels=labels)
        age = GaugeMetricFamily(_AGE, _AGE_HELP, labels=labels[1:])
        return depth, age

    def describe(self) -> Iterator[Metric]:
        """The families without samples (a registry asks before the first scrape)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """Read the queue now."""
        now = self._clock()
        try:
            readings = self._read(now, self._per_webhook)
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("could not read the queue for the metrics: %s", error_line(exc))
            return
        depth, age = self._families()
        for reading in readings:
            webhook = [reading.webhook_id] if reading.webhook_id is not None else []
            depth.add_metric(["queued", *webhook], reading.queued)
            depth.add_metric(["retrying", *webhook], reading.retrying)
            since = reading.due_since
            age.add_metric(webhook, 0.0 if since is None else max((now - since).total_seconds(), 0))
        yield depth
        yield age
