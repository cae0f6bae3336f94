"""The console's settings and the parts one app's console shares between requests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..sender.store.engine import reading

if TYPE_CHECKING:
    from flask import Request
    from sqlalchemy import Connection, Engine

    from ..sender import Sender
    from .principal import Principal

__all__ = ["Authorize", "ConsoleSettings", "ConsoleState"]

Authorize = Callable[["Request"], "Principal | None"]
"""The host application's own login: the principal of a request, or None."""

_MIN_SECRET_KEY = 16


@dataclass(frozen=True)
class ConsoleSettings:
    """The console's settings, read from ``app.config`` (``HOOKWIRE_CONSOLE_*``).

    - ``secret_key`` (``HOOKWIRE_CONSOLE_SECRET_KEY``, else the app's
      ``SECRET_KEY``): signs access links, session cookies and CSRF tokens.
      Rotating it ends every session and voids every link.
    - ``session_lifetime`` (``HOOKWIRE_CONSOLE_SESSION_LIFETIME``, seconds,
      default 8 hours).
    - ``link_ttl`` (``HOOKWIRE_CONSOLE_LINK_TTL``, seconds, default 15 minutes):
      how long an access link works when ``access_link`` is given no ``ttl``.
    - ``frame_ancestors`` (``HOOKWIRE_CONSOLE_FRAME_ANCESTORS``, default
      ``'self'``): who may show the console's pages in a frame.
    """

    secret_key: str
    session_lifetime: timedelta = timedelta(hours=8)
    link_ttl: timedelta = timedelta(minutes=15)
    frame_ancestors: str = "'self'"

    def __repr__(self) -> str:
        return (
            f"ConsoleSettings(secret_key=<hidden>, session_lifetime={self.session_lifetime}, "
            f"link_ttl={self.link_ttl}, frame_ancestors={self.frame_ancestors!r})"
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ConsoleSettings:
        """Read the settings; a missing or short secret key is a ConfigurationError."""
        key = config.get("HOOKWIRE_CONSOLE_SECRET_KEY") or config.get("SECRET_KEY")
        if not isinstance(key, str | bytes) or len(key) < _MIN_SECRET_KEY:
            raise ConfigurationError(
                "the console needs a secret key of at least 16 characters: set "
                "HOOKWIRE_CONSOLE_SECRET_KEY (or SECRET_KEY) in the app's config"
            )
        return cls(
            secret_key=key.decode() if isinstance(key, bytes) else key,
            session_lifetime=_seconds(config, "HOOKWIRE_CONSOLE_SESSION_LIFETIME", 8 * 3600),
            link_ttl=_seconds(config, "HOOKWIRE_CONSOLE_LINK_TTL", 15 * 60),
            frame_ancestors=str(config.get("HOOKWIRE_CONSOLE_FRAME_ANCESTORS", "'self'")),
        )


def _seconds(config: Mapping[str, Any], name: str, default: float) -> timedelta:
    value = config.get(name, default)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds")
    return timedelta(seconds=value)


@dataclass
class ConsoleState:
    """One app's console: its sender, settings and the host's ``authorize`` hook."""

    sender: Sender
    settings: ConsoleSettings
    authorize: Authorize | None = None

    @property
    def engine(self) -> Engine:
        """The sender's database, where the console keeps its own tables."""
        return self.sender.engine

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection for reads only (on SQLite it never takes the write lock)."""
        return reading(self.sender.engine)
