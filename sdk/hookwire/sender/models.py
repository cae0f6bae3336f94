"""The records the sender hands out: webhooks, events, deliveries and attempts.

All are frozen dataclasses built by the store. None of them holds a secret or a
password: those stay in the database and are read only to sign a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "AUTH_KINDS",
    "DELIVERY_STATUSES",
    "Attempt",
    "AuthKind",
    "BasicAuth",
    "Delivery",
    "DeliveryStatus",
    "StoredEvent",
    "Webhook",
]

AuthKind = Literal["none", "signature", "signature-ed25519", "basic"]
AUTH_KINDS: tuple[AuthKind, ...] = ("none", "signature", "signature-ed25519", "basic")

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed", "dead")
"""``pending``: not tried yet; ``failed``: tried, will be retried; ``dead``: given up."""


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """Basic auth credentials for a webhook; the password never shows in a repr.

    Example::

        sender.webhooks.create(..., auth=BasicAuth("hooks", "s3cret"))
    """

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password=<redacted>)"


@dataclass(frozen=True, slots=True)
class Webhook:
    """One registered webhook.

    ``auth`` is the kind of authentication (``"none"``, ``"signature"``,
    ``"signature-ed25519"`` or ``"basic"``); the secret or password itself is
    not part of this record (see ``sender.webhooks.signature_file``).
    ``disabled_reason`` says why the sender switched it off (410, a week of
    failures), ``failing_since`` when its current run of failures began.
    """

    id: str
    account_id: int
    name: str
    description: str
    target_url: str
    events: tuple[str, ...]
    auth: AuthKind
    basic_username: str | None
    active: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One published event as the outbox keeps it; ``data`` is in wire (camelCase) form."""

    id: str
    name: str
    account_id: int
    timestamp: datetime
    realtime: bool
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt at sending a request (one or more events) to a webhook.

    ``request_id`` is the ``webhook-id`` header value, the same on every retry
    of a request. ``status_code`` is ``None`` when no response came (``error``
    then says why). ``response_body`` holds at most the first 4 KiB.
    """

    id: str
    request_id: str
    webhook_id: str
    started_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    response_body: str
    event_ids: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        """True when the target answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one webhook.

    ``request_id`` is the request (``webhook-id``) it currently travels in, if
    any. ``attempts`` is filled by ``sender.deliveries.get`` (empty in lists).
    """

    id: str
    event_id: str
    event_name: str
    webhook_id: str
    account_id: int
    status: DeliveryStatus
    request_id: str | None
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = ()
