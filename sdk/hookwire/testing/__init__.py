"""Helpers for testing code that receives or sends webhooks.

For a listener: :func:`make_event` and :func:`make_envelope` build realistic
events, :func:`signed_request` signs them as a hookwire sender would (or
tampers with them on purpose), and :func:`post_webhook` posts them to a Flask
test client, a WSGI app or a URL. For a sender: :class:`WebhookTarget` is a
verifying HTTP server that records what arrives and asserts on it.

The pytest plugin (:mod:`hookwire.testing.plugin`, registered as ``hookwire``)
adds the fixtures ``webhook_secret``, ``webhook_signer``, ``webhook_target``
and ``hookwire_sender``; ``-p no:hookwire`` turns it off.

Importing this package loads neither the sender, Flask, pytest nor
pytest-httpserver: each name imports its module on first use (PEP 562), and
only :class:`WebhookTarget` needs pytest-httpserver, only
:class:`TestingSender` the sender's packages.

Example::

    from hookwire.testing import make_envelope, make_event, post_webhook, signed_request

    envelope = make_envelope(make_event("COURSE_COMPLETED", user_id=7), account_id=1010)
    request = signed_request(envelope, secret="whsec_...")
    response = post_webhook(app.test_client(), request, path="/webhooks")
    assert response.status == 202
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import make_envelope as make_envelope
    from .events import make_event as make_event
    from .post import WebhookResponse as WebhookResponse
    from .post import post_webhook as post_webhook
    from .sending import TestingSender as TestingSender
    from .signed import TAMPER_SKEW as TAMPER_SKEW
    from .signed import TAMPERINGS as TAMPERINGS
    from .signed import SignedRequest as SignedRequest
    from .signed import signed_request as signed_request
    from .signed import tamperings_for as tamperings_for
    from .signer import WebhookSigner as WebhookSigner
    from .target import ReceivedRequest as ReceivedRequest
    from .target import RejectedRequest as RejectedRequest
    from .target import WebhookTarget as WebhookTarget

#: Where each public name lives: every module loads on first use, so that the
#: pytest plugin (a submodule) costs nothing in runs that use none of it.
_LAZY_EXPORTS: dict[str, tuple[str, ...]] = {
    "events": ("make_envelope", "make_event"),
    "post": ("WebhookResponse", "post_webhook"),
    "sending": ("TestingSender",),
    "signed": (
        "TAMPERINGS",
        "TAMPER_SKEW",
        "SignedRequest",
        "signed_request",
        "tamperings_for",
    ),
    "signer": ("WebhookSigner",),
    "target": ("ReceivedRequest", "RejectedRequest", "WebhookTarget"),
}
_HOME: dict[str, str] = {name: module for module, names in _LAZY_EXPORTS.items() for name in names}

__all__ = [
    "TAMPERINGS",
    "TAMPER_SKEW",
    "ReceivedRequest",
    "RejectedRequest",
    "SignedRequest",
    "TestingSender",
    "WebhookResponse",
    "WebhookSigner",
    "WebhookTarget",
    "make_envelope",
    "make_event",
    "post_webhook",
    "signed_request",
    "tamperings_for",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import the module behind a public name on first use."""
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """The module's names, lazy ones included."""
        return sorted({*globals(), *_HOME})
