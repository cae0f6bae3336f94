"""Serving ``/metrics``: a Flask view, a WSGI app, or a server thread of its own.

Under a server with several worker processes (gunicorn), each process counts
in its own memory and a scrape reaches one of them. prometheus_client's
multi-process mode solves that: with ``PROMETHEUS_MULTIPROC_DIR`` set (to an
empty directory, before the processes start), counters and histograms write to
files there, and the endpoint answers from all of them through a
``MultiProcessCollector``. Every endpoint here does so when the variable is set;
the collectors that read live state at scrape time (the queue, the latency
counts) are served beside it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client import make_wsgi_app as _make_wsgi_app
from prometheus_client.registry import Collector

__all__ = ["MULTIPROC_DIR", "MetricsServer", "scrape_registry", "serve", "view", "wsgi_app"]

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""The environment variable that switches prometheus_client to multi-process mode."""

FlaskView = Callable[[], tuple[bytes, int, dict[str, str]]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def scrape_registry(registry: CollectorRegistry, live: Iterable[Collector]) -> CollectorRegistry:
    """What a ``/metrics`` endpoint serves: ``registry``, or in multi-process mode the
    processes' files together with the ``live`` collectors (read at each scrape)."""
    if not os.environ.get(MULTIPROC_DIR):
        return registry
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    for collector in live:
        merged.register(collector)
    return merged


def view(registry: CollectorRegistry) -> FlaskView:
    """A Flask view answering with ``registry`` in Prometheus' text format."""

    def metrics() -> tuple[bytes, int, dict[str, str]]:
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}

    return metrics


def wsgi_app(registry: CollectorRegistry) -> WsgiApp:
    """A WSGI app answering every path with ``registry`` (prometheus_client's own app)."""
    app: WsgiApp = _make_wsgi_app(registry)
    return app


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """A ``/metrics`` HTTP server running on a daemon thread; :meth:`close` stops it."""

    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve(registry: CollectorRegistry, port: int, host: str) -> MetricsServer:
    """Serve ``registry`` on ``http://host:port/metrics`` (port 0: any free port)."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host, server.server_address[1], server, thread)
