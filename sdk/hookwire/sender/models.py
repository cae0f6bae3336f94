"""The records the sender hands out (webhooks, events, deliveries and attempts) and takes in.

All are frozen dataclasses. The store builds the records it hands out; none of
them holds a secret or a password: those stay in the database and are read
only to sign a request. :class:`Publication` is the one a caller builds: one
event for ``sender.publish_many``. :class:`Published` is what ``publish`` and
``publish_many`` return for each event: what that call stored and queued.

The ``check_*`` functions guard the values callers hand in for these records
(account ids, ids, text, times), so that a wrong type or an impossible value
becomes a :class:`~hookwire.errors.WebhookError` that says what to fix, never a
database or ``TypeError`` from deeper down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ..errors import WebhookError

__all__ = [
    "AUTH_KINDS",
    "DELIVERY_STATUSES",
    "Attempt",
    "AuthKind",
    "BasicAuth",
    "Delivery",
    "DeliveryStatus",
    "Publication",
    "Published",
    "StoredEvent",
    "Webhook",
    "check_account_id",
    "check_aware",
    "check_duration",
    "check_limit",
    "check_text",
    "is_possible_id",
    "shown_id",
]

AuthKind = Literal["none", "signature", "signature-ed25519", "basic"]
AUTH_KINDS: tuple[AuthKind, ...] = ("none", "signature", "signature-ed25519", "basic")

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]
"""The type of :attr:`Delivery.status`: one of :data:`DELIVERY_STATUSES`."""
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed", "dead")
"""Every delivery status, for filters such as ``sender.deliveries.list(status=...)``.

``pending``: not tried yet; ``succeeded``: the target answered 2xx; ``failed``:
tried, will be retried; ``dead``: given up.
"""


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
    ``active`` is False once a person retired it or the sender disabled it;
    ``disabled_reason`` says why the sender disabled it (a 410, a week of
    failures) and is None otherwise, also for a retired webhook.
    ``failing_since`` is when its current run of failures began.
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
class Publication:
    """One event to publish with ``sender.publish_many``: the keyword arguments of ``publish``.

    Example::

        sender.publish_many([
            Publication("COURSE_COMPLETED", data={...}, account_id=1010),
            Publication("LEARNER_PROGRESS", data={...}, account_id=1010, event_id="p-1"),
        ])
    """

    event_name: str
    data: Mapping[str, Any] | Any
    account_id: int
    event_id: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """What one ``sender.publish`` call did with its event (``publish_many``: one per item).

    ``webhook_ids`` are the webhooks this call queued a delivery of the event for,
    in the order the deliveries were stored: the account's active webhooks
    subscribed to the event's name when it was stored. ``duplicate`` is True
    when the event's id was stored already (or, in ``publish_many``, appeared
    earlier in the same call): nothing was stored or queued again, and
    ``webhook_ids`` is empty. With ``connection=`` it is what the call did in
    the caller's transaction, which a rollback undoes.

    Example::

        published = sender.publish("COURSE_COMPLETED", data={...}, account_id=1010)
        if published.duplicate:
            print(f"{published.event_id} was published before")
        else:
            print(f"queued for {len(published.webhook_ids)} webhook(s)")
    """

    event_id: str
    webhook_ids: tuple[str, ...]
    duplicate: bool


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
    then says why); ``error`` beside a status says why that answer ended the
    delivery (a lone event answered 413). ``response_body`` holds at most the
    first 4 KiB.
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

    ``request_id`` is the request (``webhook-id``) it currently travels in, once
    that request's first attempt has finished (``None`` while queued and during
    the first attempt). ``attempts`` is filled by ``sender.deliveries.get`` (empty in lists).
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


Fail = Callable[[str], WebhookError]

# Account ids are BIGINT columns; a larger int would fail inside the database driver.
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
# Event ids are at most 200 characters; webhook and delivery ids are shorter.
_MAX_ID_LENGTH = 200
_LINE_BREAKS = frozenset("\n\r\t")
_MAX_DURATION = timedelta(days=3653)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_account_id(value: object, fail: Fail) -> int:
    """``value`` as an account id: an ``int`` (not a ``bool``) that fits in 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"account_id must be an integer, not {type(value).__name__}")
    if not _BIGINT_MIN <= value <= _BIGINT_MAX:
        raise fail("account_id must fit in a signed 64-bit integer")
    return value


def is_possible_id(value: object) -> bool:
    """True when ``value`` could be the id of a stored webhook, event or delivery.

    Anything else cannot be found, so the caller answers ``NotFoundError``
    without asking a database that may reject the value's type or bytes.
    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_ID_LENGTH
        and value.isprintable()
        and _encodable(value)
    )


def shown_id(value: object) -> str:
    """How an id the caller gave is quoted in a message: short, and never a huge value."""
    return repr(value)[:80] if isinstance(value, str) else f"of type {type(value).__name__}"


def check_text(
    value: object, what: str, fail: Fail, *, max_length: int, multiline: bool = False
) -> str:
    """``value`` as stored text: a ``str`` of at most ``max_length`` characters.

    Control characters (NUL among them, which PostgreSQL cannot store) and lone
    surrogates (which cannot be encoded) are refused; ``multiline`` allows line
    breaks and tabs.
    """
    if not isinstance(value, str):
        raise fail(f"{what} must be a string, not {type(value).__name__}")
    if len(value) > max_length:
        raise fail(f"{what} is {len(value)} characters long; the most is {max_length}")
    allowed = _LINE_BREAKS if multiline else frozenset()
    if not _encodable(value) or any(
        not ch.isprintable() and ch != " " and ch not in allowed for ch in value
    ):
        raise fail(f"{what} contains control characters or invalid Unicode; remove them")
    return value


def check_aware(value: object, what: str, fail: Fail) -> datetime:
    """``value`` as a timezone-aware ``datetime``."""
    if not isinstance(value, datetime):
        raise fail(f"{what} must be a timezone-aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(f"{what} must be timezone-aware (e.g. datetime.now(UTC))")
    return value


def check_limit(value: object, fail: Fail) -> int:
    """``value`` as a page size: a positive ``int``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail("limit must be a positive integer")
    return value


def check_duration(value: object, what: str, fail: Fail) -> timedelta:
    """``value`` as a ``timedelta`` from zero to ten years (more would overflow a date)."""
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= _MAX_DURATION:
        raise fail(f"{what} must be a timedelta from zero to ten years")
    return value
