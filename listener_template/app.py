"""{{project_name}}: a webhook listener built on hookwire.

Run it with ``flask --app app run`` or ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.
Settings come from the environment (see README.md) into the app's config, where hookwire's
``WebhookListener`` reads the ``HOOKWIRE_*`` ones. Without any of the first four, the app
verifies with ``signature.json`` next to this file (``hookwire init`` wrote it, with a fresh
secret), and without that file either it refuses to start.

- ``HOOKWIRE_SECRET``: the webhook's ``whsec_`` secret (several, space-separated, while
  rotating), or ``HOOKWIRE_SIGNATURE_FILE``: the signature file downloaded for it, or
  ``HOOKWIRE_PUBLIC_KEY``: the ``whpk_`` key of an ed25519 webhook;
- ``HOOKWIRE_BASIC_AUTH``: ``user:password`` for webhooks that use basic auth;
- ``HOOKWIRE_TOLERANCE``: how far webhook-timestamp may be from the clock (300 seconds);
- ``HOOKWIRE_PATH``: the webhook URL's path (``/webhooks``);
- ``HOOKWIRE_DEDUPE_URL``: where handled eventIds are kept (``sqlite:///dedupe.db`` by
  default; ``redis://host:6379/0`` when several machines serve the URL);
- ``HOOKWIRE_RECORD``: a file to record every request to, for ``hookwire replay``;
- ``HOOKWIRE_MAX_BODY``: the largest body accepted, in bytes (1 MiB);
- ``LISTENER_DB``: the SQLite file of this listener's own records (``listener.db``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from hookwire.flask import WebhookListener

import handlers
from store import Store

PROJECT = "{{project_name}}"
AUTHENTICATION = (
    "HOOKWIRE_SECRET",
    "HOOKWIRE_SIGNATURE_FILE",
    "HOOKWIRE_PUBLIC_KEY",
    "HOOKWIRE_BASIC_AUTH",
)
SETTINGS = (
    *AUTHENTICATION,
    "HOOKWIRE_TOLERANCE",
    "HOOKWIRE_PATH",
    "HOOKWIRE_DEDUPE_URL",
    "HOOKWIRE_RECORD",
    "HOOKWIRE_MAX_BODY",
    "LISTENER_DB",
)
DEFAULTS = {"HOOKWIRE_DEDUPE_URL": "sqlite:///dedupe.db", "LISTENER_DB": "listener.db"}
# The signature file `hookwire init` writes; `hookwire trigger --signature-file` reads it too.
SIGNATURE_FILE = Path(__file__).resolve().parent / "signature.json"


def settings_from_env(
    environ: Mapping[str, str], *, signature_file: Path = SIGNATURE_FILE
) -> dict[str, Any]:
    """The listener's settings from environment variables, with the defaults filled in.

    When no authentication setting is given and ``signature_file`` exists, the
    listener verifies with it (``HOOKWIRE_SIGNATURE_FILE``).
    """
    settings: dict[str, Any] = dict(DEFAULTS)
    settings.update({name: environ[name] for name in SETTINGS if environ.get(name)})
    if not any(name in settings for name in AUTHENTICATION) and signature_file.is_file():
        settings["HOOKWIRE_SIGNATURE_FILE"] = str(signature_file)
    return settings


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the listener; ``config`` replaces the environment (tests pass their own).

    Without any authentication setting it refuses to start, with a message
    naming the settings to give.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        settings_from_env(os.environ) if config is None else {**DEFAULTS, **config}
    )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("listener.events").setLevel(logging.INFO)
    # Authentication, path, de-duplication, recording and size cap: all from app.config.
    listener = WebhookListener(app)
    handlers.register(listener, Store(app.config["LISTENER_DB"]))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "service": PROJECT}

    return app
