"""The names the standardwebhooks test suite imports, backed by hookwire.

The reference Python library's suite (github.com/standard-webhooks/standard-webhooks,
``libraries/python/tests/test_webhooks.py``, for ``standardwebhooks`` 1.1.0) imports
``Webhook``, ``WebhookVerificationError``, ``EmptyWebhookSecretError`` and
``hmac_data`` from ``standardwebhooks.webhooks``. Neither the wheel nor the sdist
ships that suite, so ``test_standard_webhooks_suite.py`` mirrors its cases against
these names.

``Webhook`` verifies with :class:`hookwire.Receiver` and signs with
:func:`hookwire.sign`. The two errors are hookwire's own classes, so a case that
expects ``WebhookVerificationError`` passes only when hookwire raised a
:class:`~hookwire.VerificationError`, and one that expects
``EmptyWebhookSecretError`` only when it raised an
:class:`~hookwire.InvalidSecretError`. ``hmac_data`` stays the standard library's
HMAC-SHA256: the suite builds its expected signatures with it, independently of
hookwire.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hookwire import InvalidSecretError, Receiver, VerificationError, sign

__all__ = ["EmptyWebhookSecretError", "Webhook", "WebhookVerificationError", "hmac_data"]

WebhookVerificationError = VerificationError
"""What ``Webhook.verify`` raises for a request that is not authentic."""

EmptyWebhookSecretError = InvalidSecretError
"""What ``Webhook(...)`` raises for an empty secret."""


def hmac_data(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under ``key``, from the standard library."""
    return hmac.digest(key, data, "sha256")


class Webhook:
    """``standardwebhooks.Webhook``: one secret, a ``verify`` and a ``sign``."""

    def __init__(self, whsecret: str | bytes) -> None:
        self._secret = whsecret
        self._receiver = Receiver(secret=whsecret)

    def verify(
        self, data: bytes | str, headers: Mapping[str, str], *, json_parse: bool = True
    ) -> Any:
        """Authenticate the request; return the body as JSON (None without ``json_parse``)."""
        body = data.encode() if isinstance(data, str) else data
        self._receiver.authenticate(body, headers)
        return json.loads(body) if json_parse else None

    def sign(self, msg_id: str, timestamp: datetime, data: str) -> str:
        """The ``v1,...`` signature of ``data``; a naive ``timestamp`` is taken as UTC."""
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        return sign(self._secret, msg_id, math.floor(timestamp.timestamp()), data.encode())
