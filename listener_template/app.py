"""{{project_name}}: a webhook listener built on hookwire.

Run it with ``flask --app app run`` or ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.
Settings come from the environment (see README.md):

- ``HOOKWIRE_SECRET``: the webhook's ``whsec_`` secret (several, space-separated, while
  rotating), or ``HOOKWIRE_SIGNATURE_FILE``: the signature file downloaded for it;
- ``HOOKWIRE_BASIC_AUTH``: ``user:password`` for webhooks that use basic auth;
- ``HOOKWIRE_DEDUPE_URL``: where handled eventIds are kept (``sqlite:///dedupe.db`` by
  default; ``redis://host:6379/0`` when several machines serve the URL);
- ``HOOKWIRE_RECORD``: a file to record every request to, for ``hookwire replay``;
- ``LISTENER_DB``: the SQLite file of this listener's own records (``listener.db``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from hookwire import ConfigurationError, Receiver
from hookwire.flask import WebhookListener

import handlers
from store import Store

PROJECT = "{{project_name}}"
SETTINGS = (
    "HOOKWIRE_SECRET",
    "HOOKWIRE_SIGNATURE_FILE",
    "HOOKWIRE_BASIC_AUTH",
    "HOOKWIRE_DEDUPE_URL",
    "HOOKWIRE_RECORD",
    "HOOKWIRE_MAX_BODY",
    "LISTENER_DB",
)
DEFAULTS = {"HOOKWIRE_DEDUPE_URL": "sqlite:///dedupe.db", "LISTENER_DB": "listener.db"}


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The listener's settings from environment variables, with the defaults filled in."""
    settings: dict[str, Any] = dict(DEFAULTS)
    settings.update({name: environ[name] for name in SETTINGS if environ.get(name)})
    if "HOOKWIRE_MAX_BODY" in settings:
        settings["HOOKWIRE_MAX_BODY"] = int(settings["HOOKWIRE_MAX_BODY"])
    return settings


def build_receiver(settings: Mapping[str, Any]) -> Receiver:
    """A Receiver from the auth settings; a clear error when none is set."""
    secrets = str(settings.get("HOOKWIRE_SECRET") or "").split()
    signature_file = settings.get("HOOKWIRE_SIGNATURE_FILE") or None
    basic = settings.get("HOOKWIRE_BASIC_AUTH") or None
    if not secrets and signature_file is None and basic is None:
        raise ConfigurationError(
            "no webhook authentication is configured: set HOOKWIRE_SECRET (a whsec_ secret),"
            " HOOKWIRE_SIGNATURE_FILE (the downloaded signature JSON) or HOOKWIRE_BASIC_AUTH"
            " (user:password)"
        )
    basic_auth = None
    if basic is not None:
        user, sep, password = str(basic).partition(":")
        if not sep or not user:
            raise ConfigurationError("HOOKWIRE_BASIC_AUTH must look like user:password")
        basic_auth = (user, password)
    return Receiver(secrets=secrets or None, signature_file=signature_file, basic_auth=basic_auth)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the listener; ``config`` replaces the environment (tests pass their own)."""
    app = Flask(__name__)
    app.config.from_mapping(
        settings_from_env(os.environ) if config is None else {**DEFAULTS, **config}
    )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("listener.events").setLevel(logging.INFO)
    listener = WebhookListener(app, receiver=build_receiver(app.config), path="/webhooks")
    handlers.register(listener, Store(app.config["LISTENER_DB"]))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": PROJECT}

    return app
