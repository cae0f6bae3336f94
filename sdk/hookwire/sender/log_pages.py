"""The delivery log's pages: what a page, a filter and a cursor are (the SQL is the store's).

Pages are keyset pages, not offsets: a cursor names the last row of the page
before (a delivery's ``seq``; an event's ``(created_at, id)``), and the next
page starts strictly after it. A deep page therefore costs what the first one
costs, and rows published while a caller pages never shift or repeat a page.
Cursors are opaque to callers (base64url of a tagged JSON value); one that does
not decode is a :class:`~hookwire.errors.QueryError` naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..errors import QueryError
from . import schema
from .models import (
    DELIVERY_STATUSES,
    Delivery,
    DeliveryStatus,
    StoredEvent,
    check_account_id,
    check_aware,
    check_duration,
    check_limit,
    check_text,
    is_possible_id,
)

__all__ = [
    "MAX_PAGE",
    "DeliveryFilter",
    "DeliveryPage",
    "EventFilter",
    "EventPage",
    "WebhookStats",
    "check_page_limit",
    "check_window",
    "decode_cursor",
    "delivery_after",
    "encode_cursor",
    "time_after",
    "time_cursor",
]

MAX_PAGE = 1000
"""The most rows one page holds."""

_MAX_NAME = 120  # an event name's column width


@dataclass(frozen=True)
class DeliveryPage:
    """One page of deliveries, newest first.

    ``next_cursor`` continues after the last item (None on the last page).
    ``attempt_counts`` holds each item's number of attempts, by delivery id
    (the items themselves carry no attempts; ``sender.deliveries.get`` has them).
    """

    items: tuple[Delivery, ...]
    next_cursor: str | None
    attempt_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EventPage:
    """One page of stored events, newest first; ``next_cursor`` continues after the last."""

    items: tuple[StoredEvent, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class WebhookStats:
    """How a webhook has been doing over the last ``window``.

    ``attempts`` counts the HTTP attempts started in the window (a request
    carrying many events is one attempt; a ``sender.webhooks.test`` delivery
    is one too) and ``succeeded`` those the target answered 2xx;
    ``success_rate`` is their ratio, None without attempts. ``last_attempt_at``,
    ``last_status_code`` and ``last_error`` describe the newest attempt ever
    made (inside the window or not). ``failing_since`` is when the webhook's
    current run of failures began; ``queue_depth`` counts its pending deliveries.
    """

    webhook_id: str
    window: timedelta
    attempts: int
    succeeded: int
    success_rate: float | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    failing_since: datetime | None
    queue_depth: int


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries a page holds (each given filter narrows it).

    ``since`` is inclusive and ``until`` exclusive, on the delivery's
    ``created_at``. Build one with :meth:`checked`, which validates what a
    caller handed in.
    """

    account_id: int | None = None
    webhook_id: str | None = None
    event_name: str | None = None
    status: DeliveryStatus | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def checked(
        cls,
        *,
        account_id: object = None,
        webhook_id: object = None,
        event_name: object = None,
        status: object = None,
        since: object = None,
        until: object = None,
    ) -> DeliveryFilter:
        """The filter of these values; :class:`~hookwire.errors.QueryError` naming a bad one."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise QueryError(
                f"unknown status {str(status)[:40]!r}; use one of {', '.join(DELIVERY_STATUSES)}"
            )
        if webhook_id is not None and not is_possible_id(webhook_id):
            raise QueryError("webhook_id must be a webhook id string such as 'wh_...'")
        start, end = _checked_window(since, until)
        return cls(
            account_id=None if account_id is None else check_account_id(account_id, QueryError),
            webhook_id=webhook_id,  # type: ignore[arg-type]
            event_name=_checked_name(event_name, "event_name"),
            status=status,
            since=start,
            until=end,
        )


@dataclass(frozen=True)
class EventFilter:
    """Which events a page holds: of one account, of one name, created in ``[since, until)``."""

    account_id: int | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def checked(
        cls,
        *,
        account_id: object = None,
        name: object = None,
        since: object = None,
        until: object = None,
    ) -> EventFilter:
        """The filter of these values; :class:`~hookwire.errors.QueryError` naming a bad one."""
        start, end = _checked_window(since, until)
        return cls(
            account_id=None if account_id is None else check_account_id(account_id, QueryError),
            name=_checked_name(name, "name"),
            since=start,
            until=end,
        )


def check_page_limit(limit: object) -> int:
    """``limit`` as a page size: 1 to :data:`MAX_PAGE`; QueryError otherwise."""
    check_limit(limit, QueryError)
    if limit > MAX_PAGE:  # type: ignore[operator]
        raise QueryError(f"limit must be at most {MAX_PAGE}")
    return limit  # type: ignore[return-value]


def check_window(window: object) -> timedelta:
    """``window`` as a stats window: a positive ``timedelta`` of at most ten years."""
    found = check_duration(window, "window", QueryError)
    if not found:
        raise QueryError("window must be a positive timedelta")
    return found


def _checked_name(value: object, what: str) -> str | None:
    if value is None:
        return None
    return check_text(value, what, QueryError, max_length=_MAX_NAME)


def _checked_window(since: object, until: object) -> tuple[datetime | None, datetime | None]:
    return (
        None if since is None else check_aware(since, "since", QueryError),
        None if until is None else check_aware(until, "until", QueryError),
    )


def encode_cursor(kind: str, value: Any) -> str:
    """An opaque cursor: base64url (unpadded) of ``[kind, value]`` as JSON."""
    text = json.dumps([kind, value], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: object, kind: str) -> Any:
    """The value :func:`encode_cursor` put in a cursor of ``kind``; QueryError if it is not one."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= 400 or not cursor.isascii():
        raise _bad_cursor(kind)
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _bad_cursor(kind) from None
    if not isinstance(found, list) or len(found) != 2 or found[0] != kind:
        raise _bad_cursor(kind)
    return found[1]


def _bad_cursor(kind: str) -> QueryError:
    return QueryError(f"cursor is not a cursor this {kind} list gave; start again without it")


def delivery_after(cursor: str | None) -> int | None:
    """The ``seq`` a delivery cursor continues after (None without one); QueryError if bad."""
    if cursor is None:
        return None
    seq = decode_cursor(cursor, "delivery")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**63:
        raise _bad_cursor("delivery")
    return seq


def time_cursor(kind: str, at: datetime, row_id: str) -> str:
    """A cursor of ``kind`` after the row ``(at, row_id)``, for lists in time order."""
    return encode_cursor(kind, [at.isoformat(), row_id])


def time_after(cursor: str | None, kind: str) -> tuple[datetime, str] | None:
    """The ``(at, id)`` a :func:`time_cursor` continues after (None without one); QueryError
    if it is not a cursor of ``kind``."""
    if cursor is None:
        return None
    found = decode_cursor(cursor, kind)
    try:
        at, row_id = found
        if isinstance(row_id, str):
            return schema.stored_time(datetime.fromisoformat(at)), row_id
    except (TypeError, ValueError):
        pass
    raise _bad_cursor(kind)
