"""Prometheus metrics for the sender and the listener (the ``metrics`` extra).

One :class:`Metrics` object holds a registry; hand it to whatever should count
into it, and serve it::

    from hookwire.metrics import Metrics, metrics_view
    from hookwire.sender import Sender
    from hookwire.flask import WebhookListener

    metrics = Metrics()                                  # its own CollectorRegistry
    sender = Sender("sqlite:///hookwire.db", metrics=metrics)
    listener = WebhookListener(metrics=metrics, metrics_path="/metrics")
    app.add_url_rule("/metrics", view_func=metrics_view(metrics))   # any Flask app

Nothing is counted unless a ``Metrics`` is given; without one, the dispatcher
and the listening core only check, where they would count, that there is none.
One ``Metrics`` per registry: it serves every sender and listener of a process
(a second ``Metrics`` on the same registry is refused when it would register
the same names). The metrics, their labels and the operations they serve are
listed in docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..extras import requires_extra

with requires_extra("metrics", __name__, "prometheus_client"):
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

    from . import _exposition
    from ._dispatch import DispatchMetrics
    from ._exposition import MULTIPROC_DIR as MULTIPROC_DIR
    from ._exposition import MetricsServer as MetricsServer
    from ._listener import VERIFICATION_REASONS as VERIFICATION_REASONS
    from ._listener import ListenerMetrics
    from ._queue import QueueCollector
    from ._registering import register_all

if TYPE_CHECKING:
    from ..sender.store import Store

__all__ = [
    "MULTIPROC_DIR",
    "VERIFICATION_REASONS",
    "Metrics",
    "MetricsServer",
    "metrics_app",
    "metrics_view",
    "serve_metrics",
]


class Metrics:
    """Prometheus metrics of senders and listeners, in one registry.

    ``registry`` is a ``prometheus_client.CollectorRegistry`` (a new one by
    default; pass ``prometheus_client.REGISTRY`` to join the process-wide one).
    ``queue`` adds the queue gauges of the senders' database, read at each
    scrape; ``per_webhook`` gives them a ``webhook_id`` label (one series per
    webhook with unfinished work: ask for it only where webhooks are few).

    Pass it as ``Sender(..., metrics=metrics)``, ``ListeningCore(..., metrics=metrics)``
    or ``WebhookListener(metrics=metrics)``; serve it with :func:`metrics_view`,
    :func:`metrics_app` or :func:`serve_metrics`. One object serves any number
    of senders and listeners: they count into the same counters, and the queue
    gauges read the database through any of its senders still open. Make one per
    registry: a second ``Metrics`` on a registry is refused (a
    :class:`~hookwire.errors.ConfigurationError`) when it would register names
    the first holds.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        queue: bool = True,
        per_webhook: bool = False,
    ) -> None:
        if registry is not None and not isinstance(registry, CollectorRegistry):
            raise ConfigurationError("registry must be a prometheus_client.CollectorRegistry")
        self.registry = registry if registry is not None else CollectorRegistry()
        self.queue = queue
        self.per_webhook = per_webhook
        self._dispatch: DispatchMetrics | None = None
        self._listener: ListenerMetrics | None = None
        self._queue = QueueCollector(per_webhook=per_webhook)
        self._queue_registered = False
        # Served beside the processes' files in multi-process mode; it yields
        # nothing until a sender attaches.
        self._live: list[Collector] = [self._queue] if queue else []

    def __repr__(self) -> str:
        return f"Metrics(queue={self.queue}, per_webhook={self.per_webhook})"

    def for_sender(self, store: Store, clock: Callable[[], datetime]) -> DispatchMetrics:
        """What a :class:`~hookwire.sender.Sender` on ``store`` reports into (it calls this).

        The queue gauges read ``store`` until :meth:`release` (``Sender.close``).
        A sender on another database than the open senders' is refused, as its
        queue would share their names; once they are all closed, any database
        is taken.
        """
        from ..sender.store import readings

        dispatch = self._dispatch if self._dispatch is not None else DispatchMetrics()
        new: list[Collector] = list(dispatch.collectors) if self._dispatch is None else []
        if self.queue:
            database = store.engine.url.render_as_string(hide_password=True)
            self._queue.attach(
                store,
                database,
                lambda now, per_webhook: readings.queue(store.db, now=now, per_webhook=per_webhook),
                clock,
            )
            if not self._queue_registered:
                new.append(self._queue)
        try:
            register_all(self.registry, new)
        except BaseException:
            self._queue.detach(store)
            raise
        self._dispatch = dispatch
        self._queue_registered = self._queue_registered or self.queue
        return dispatch

    def release(self, store: Store) -> None:
        """A sender on ``store`` closes (``Sender.close`` calls this): the queue gauges
        stop reading through it, and leave the scrape when no sender is left open."""
        self._queue.detach(store)

    def for_listener(self) -> ListenerMetrics:
        """What a :class:`~hookwire.listening.ListeningCore` reports into (it calls this)."""
        if self._listener is None:
            listener = ListenerMetrics()
            register_all(self.registry, listener.collectors)
            self._listener = listener
        return self._listener

    def scrape_registry(self) -> CollectorRegistry:
        """The registry a ``/metrics`` endpoint serves (multi-process mode aware)."""
        return _exposition.scrape_registry(self.registry, self._live)


def checked_metrics(metrics: object) -> Metrics:
    """``metrics`` if it is a :class:`Metrics`, else a ConfigurationError.

    The parts that take a ``metrics=`` (``Sender``, ``ListeningCore``) check it
    with this, importing it when one is given, so ``import hookwire`` does not
    load prometheus_client.
    """
    if not isinstance(metrics, Metrics):
        raise ConfigurationError("metrics must be a hookwire.metrics.Metrics")
    return metrics


def _registry_of(source: Metrics | CollectorRegistry) -> CollectorRegistry:
    if isinstance(source, Metrics):
        return source.scrape_registry()
    if isinstance(source, CollectorRegistry):
        return _exposition.scrape_registry(source, ())
    raise ConfigurationError("expected a hookwire.metrics.Metrics or a CollectorRegistry")


def metrics_view(source: Metrics | CollectorRegistry) -> _exposition.FlaskView:
    """A Flask view that answers with the metrics, for ``app.add_url_rule("/metrics", ...)``.

    With ``PROMETHEUS_MULTIPROC_DIR`` set it serves every worker process's
    metrics (prometheus_client's multi-process mode).
    """
    return _exposition.view(_registry_of(source))


def metrics_app(source: Metrics | CollectorRegistry) -> _exposition.WsgiApp:
    """A WSGI app that answers with the metrics (for a WSGI dispatcher or any server)."""
    return _exposition.wsgi_app(_registry_of(source))


def serve_metrics(
    source: Metrics | CollectorRegistry, port: int, *, host: str = "127.0.0.1"
) -> MetricsServer:
    """Serve the metrics on ``http://host:port/metrics`` from a thread; ``close()`` stops it.

    The host is the loopback address unless told otherwise: metrics name
    webhooks and show traffic, so exposing them is a choice. Port 0 takes a
    free port (``server.port`` says which).
    """
    return _exposition.serve(_registry_of(source), port, host)
