"""Registering hookwire's collectors in a registry: all of a part's, or none of them.

prometheus_client refuses a second collector under a name a registry holds
already, with a ``ValueError`` listing the series. Here that is a one-line
:class:`~hookwire.errors.ConfigurationError` saying what to do, and the
collectors registered before the refused one are taken out again, so a refused
part leaves the registry as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from ..errors import ConfigurationError

__all__ = ["register_all"]


def _name(collector: Collector) -> str:
    families = collector.describe() if hasattr(collector, "describe") else []
    return next((family.name for family in families), type(collector).__name__)


def register_all(registry: CollectorRegistry, collectors: Sequence[Collector]) -> None:
    """Register every one of ``collectors`` in ``registry``, or none of them."""
    done: list[Collector] = []
    for collector in collectors:
        try:
            registry.register(collector)
        except ValueError:
            for registered in done:
                registry.unregister(registered)
            raise ConfigurationError(
                f"{_name(collector)} is registered in this registry already (by another "
                "hookwire Metrics on it?): make one Metrics per registry and pass it to "
                "every Sender and listener of the process, or give each Metrics a registry "
                "of its own"
            ) from None
        done.append(collector)
