"""The reserved operator webhook: the registry row that carries operator events.

``sender.webhooks.set_operator`` (and ``Sender(operator_url=..., operator_secret=...)``)
puts it in the store, so every dispatcher on the store delivers operator events to
it; :mod:`.operator` says what those events are.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from ..errors import InvalidSecretError, NotFoundError
from ..signing import Signer, parse_key
from .models import AuthKind, Webhook
from .operator import OPERATOR_ACCOUNT_ID, OPERATOR_EVENT_NAMES, OPERATOR_WEBHOOK_ID
from .store import Store

__all__ = ["operator_auth", "put_operator_webhook"]

log = logging.getLogger("hookwire.sender")


def operator_auth(secret: object) -> AuthKind:
    """The auth kind of an operator secret (``whsec_`` or ``whsk_``); refused unless it
    can sign, without quoting it."""
    if not isinstance(secret, str):
        raise InvalidSecretError("the secret must be a whsec_ secret or a whsk_ signing key")
    Signer([secret])  # InvalidSecretError unless it can sign
    return "signature" if parse_key(secret).scheme == "v1" else "signature-ed25519"


def put_operator_webhook(store: Store, target_url: str, secret: str, *, now: datetime) -> Webhook:
    """Create or update the operator webhook: active, at ``target_url`` (checked by the
    caller), signing with ``secret`` alone; nothing is written when it is so already."""
    kind = operator_auth(secret)
    found = store.get_webhook(OPERATOR_WEBHOOK_ID)
    if found is not None and _unchanged(store, found, target_url, kind, secret, now=now):
        return found
    values: dict[str, Any] = {
        "name": "hookwire operator events",
        "description": "The sender's own alerts about the health of webhooks.",
        "target_url": target_url,
        "events": json.dumps(OPERATOR_EVENT_NAMES),
        "auth": kind,
        "basic_username": None,
        "basic_password": None,
        "active": True,
        "disabled_reason": None,
        "failing_since": None,
        "updated_at": now,
    }
    if found is None:
        values.update(id=OPERATOR_WEBHOOK_ID, account_id=OPERATOR_ACCOUNT_ID, created_at=now)
        # No account limit applies: the operator webhook is never counted.
        webhook = store.insert_webhook(values, secret=secret, limit=2**62)
    else:
        webhook = store.update_webhook(OPERATOR_WEBHOOK_ID, values, secrets=(secret,))
    if webhook is None:
        raise NotFoundError(f"the operator webhook {OPERATOR_WEBHOOK_ID} vanished; try again")
    log.info("operator events go to webhook %s (%s auth)", OPERATOR_WEBHOOK_ID, kind)
    return webhook


def _unchanged(
    store: Store, found: Webhook, target_url: str, kind: str, secret: str, *, now: datetime
) -> bool:
    if not (found.active and found.target_url == target_url and found.auth == kind):
        return False
    if found.events != OPERATOR_EVENT_NAMES:  # made by a release with fewer operator events
        return False
    valid = store.valid_secrets([OPERATOR_WEBHOOK_ID], now=now).get(OPERATOR_WEBHOOK_ID)
    return valid == [secret]
