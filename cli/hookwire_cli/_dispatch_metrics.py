"""``hookwire dispatch``'s metrics: the ``--metrics-*`` options and the server they start.

``--metrics-port`` serves Prometheus metrics (the ``metrics`` extra) while the
command runs; ``--metrics-host`` and ``--metrics-per-webhook`` shape what it
serves, so either without ``--metrics-port`` is a usage error rather than a
setting that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from hookwire.extras import MissingExtraError, install_hint

if TYPE_CHECKING:
    from hookwire.metrics import Metrics

__all__ = ["metrics_for", "metrics_options", "serve_until_exit"]

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        help="Serve Prometheus metrics on this port at /metrics while running "
        "(0: any free port; needs the metrics extra).",
    ),
    click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        help="The address --metrics-port listens on (0.0.0.0 for every interface).",
    ),
    click.option(
        "--metrics-per-webhook",
        is_flag=True,
        help="With --metrics-port: give the queue gauges a webhook_id label (one series per "
        "webhook with work).",
    ),
)


def metrics_options(func: F) -> F:
    """``--metrics-port``, ``--metrics-host`` and ``--metrics-per-webhook``, in that order."""
    for option in reversed(_OPTIONS):
        func = option(func)
    return func


def metrics_for(port: int | None, *, per_webhook: bool) -> Metrics | None:
    """The :class:`~hookwire.metrics.Metrics` ``--metrics-port`` asks for (None without it).

    A metrics option without ``--metrics-port`` is a usage error; a missing
    extra is one line naming it.
    """
    if port is None:
        context = click.get_current_context()
        host_given = context.get_parameter_source("metrics_host") is ParameterSource.COMMANDLINE
        for given, option in (
            (per_webhook, "--metrics-per-webhook"),
            (host_given, "--metrics-host"),
        ):
            if given:
                raise click.UsageError(
                    f"{option} applies to the metrics --metrics-port serves: "
                    "give --metrics-port too"
                )
        return None
    try:
        from hookwire.metrics import Metrics
    except MissingExtraError as exc:
        raise click.ClickException(install_hint("--metrics-port", "metrics")) from exc
    return Metrics(per_webhook=per_webhook)


def serve_until_exit(metrics: Metrics, host: str, port: int, stack: ExitStack) -> str:
    """Serve ``/metrics`` until ``stack`` closes; its URL."""
    from hookwire.metrics import serve_metrics

    try:
        server = serve_metrics(metrics, port, host=host)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise click.ClickException(f"cannot serve metrics on {host}:{port}: {why}") from None
    stack.callback(server.close)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.port}/metrics"
