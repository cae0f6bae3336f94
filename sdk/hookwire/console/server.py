"""The console on its own, for operators: ``hookwire console serve --db URL``.

:func:`create_app` builds a Flask app that serves only the console, over a
sender on ``db_url``; :func:`access_link` makes a link that it exchanges. It
has no login of its own: callers bring an API key or open an access link.
Any WSGI server can run it (``gunicorn
'hookwire.console.server:create_app("sqlite:///hookwire.db")'``); ``hookwire
console serve`` runs werkzeug's threaded server, which is meant for an
operator on localhost, through :class:`RedactingRequestHandler` so an access
link's token never reaches the request log.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from ..errors import ConfigurationError
from .app import Console
from .links import access_url
from .state import ConsoleSettings

__all__ = ["SECRET_KEY_ENV", "RedactingRequestHandler", "access_link", "create_app"]

SECRET_KEY_ENV = "HOOKWIRE_CONSOLE_SECRET_KEY"
"""The environment variable :func:`create_app` reads the secret key from."""

# A token in a query string: an access link's, or any other a caller put there.
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


def create_app(db_url: str, *, secret_key: str | None = None) -> Flask:
    """A Flask app serving the console over a sender on ``db_url``.

    The secret key (which signs links, cookies and CSRF tokens) is
    ``secret_key`` or the ``HOOKWIRE_CONSOLE_SECRET_KEY`` environment variable;
    without one (or with one under 16 characters) this raises
    :class:`~hookwire.ConfigurationError`.
    """
    from ..sender import Sender

    key = _secret_key(secret_key)
    app = Flask("hookwire.console.server")
    app.config.update(HOOKWIRE_CONSOLE_SECRET_KEY=key)
    sender = Sender(db_url)
    try:
        Console(app, sender=sender)
    except BaseException:
        sender.close()
        raise
    return app


def access_link(
    account_id: int,
    *,
    read_only: bool = False,
    ttl: timedelta | None = None,
    base_url: str = "http://127.0.0.1:8000",
    secret_key: str | None = None,
) -> str:
    """A single-use link that opens ``account_id``'s console served by :func:`create_app`.

    It is signed with ``secret_key`` or ``HOOKWIRE_CONSOLE_SECRET_KEY``, which
    must be the serving console's key; it works for ``ttl`` (default 15
    minutes, at most 7 days). No database is needed: the link is checked
    when it is opened.
    """
    settings = ConsoleSettings.from_config({SECRET_KEY_ENV: _secret_key(secret_key)})
    return access_url(settings, account_id, read_only=read_only, ttl=ttl, base_url=base_url)


def _secret_key(given: str | None) -> str:
    key = given or os.environ.get(SECRET_KEY_ENV)
    if not key:
        raise ConfigurationError(
            f"the console needs a secret key: set {SECRET_KEY_ENV} (make one with "
            "`hookwire secret new`)"
        )
    return key


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, with any ``token=`` value in the logged request line hidden."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log as werkzeug does, with ``token=`` values in the arguments (the request line,
        an error's path) replaced by ``<hidden>``."""
        hidden = tuple(
            _TOKEN_IN_QUERY.sub(r"\1<hidden>", a) if isinstance(a, str) else a for a in args
        )
        super().log(type, message, *hidden)
