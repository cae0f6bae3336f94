"""``hookwire_queue_*``: the sender's queue, read from its store at scrape time.

The gauges come from a read-only query when Prometheus scrapes, not from a
counter kept by one process: every process with a :class:`~hookwire.sender.Sender`
sees the same queue, however many dispatchers share it. A database that cannot
be read leaves the queue families out of that scrape (and logs why) instead of
failing the whole scrape.

The collector reads through the open senders on its database: each
:class:`~hookwire.sender.Sender` attaches when it is made and detaches when it
closes. With none attached a scrape leaves the queue out and reads nothing, so
a closed sender's database is never opened again for the metrics.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..errors import ConfigurationError, error_line

if TYPE_CHECKING:
    from ..sender.store.readings import QueueReading

__all__ = ["QueueCollector", "Reader"]

log = logging.getLogger("hookwire.metrics")

Reader = Callable[[datetime, bool], "list[QueueReading]"]
"""``read(now, per_webhook)``: a store's queue readings."""

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
    """The queue gauges of one database, in total or by webhook when ``per_webhook``.

    It reads through one of the senders attached to it (:meth:`attach`), each
    with its ``read`` (the store's readings) and its ``clock``; with none
    attached it yields nothing.
    """

    def __init__(self, *, per_webhook: bool) -> None:
        self._per_webhook = per_webhook
        # Held while a scrape reads, so a detaching sender waits for a read through
        # its store to end before the store closes.
        self._lock = threading.Lock()
        self._sources: dict[object, tuple[Reader, Callable[[], datetime]]] = {}
        self._database: str | None = None

    def attach(
        self, sender: object, database: str, read: Reader, clock: Callable[[], datetime]
    ) -> None:
        """Read the queue through ``sender`` (a key: its store) until :meth:`detach`.

        A sender on another database than the attached ones is refused: its
        queue would be served under the same names.
        """
        with self._lock:
            if self._sources and database != self._database:
                raise ConfigurationError(
                    "this Metrics reads the queue of another database already; give each "
                    "database's Sender a Metrics of its own (with a registry of its own)"
                )
            self._sources[sender] = (read, clock)
            self._database = database

    def detach(self, sender: object) -> None:
        """Stop reading through ``sender`` (a sender detached already is left as it is)."""
        with self._lock:
            self._sources.pop(sender, None)
            if not self._sources:
                self._database = None

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        labels = ["state", "webhook_id"] if self._per_webhook else ["state"]
        depth = GaugeMetricFamily(_DEPTH, _DEPTH_HELP, labels=labels)
        age = GaugeMetricFamily(_AGE, _AGE_HELP, labels=labels[1:])
        return depth, age

    def describe(self) -> Iterator[Metric]:
        """The families without samples (a registry asks before the first scrape)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """Read the queue now, through an attached sender (nothing when none is)."""
        with self._lock:
            source = next(iter(self._sources.values()), None)
            if source is None:
                return
            read, clock = source
            now = clock()
            try:
                readings = read(now, self._per_webhook)
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
