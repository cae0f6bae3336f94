"""The delivery log's read side: cursor-paged deliveries and events, and a webhook's stats.

Pages are keyset pages, not offsets: a cursor names the last row of the page
before (a delivery's ``seq``; an event's ``(created_at, id)``), and the next
page starts strictly after it. A deep page therefore costs what the first one
costs, and rows published while a caller pages never shift or repeat a page.
Cursors are opaque to callers (base64url of a tagged JSON value); one that does
not decode is a :class:`~hookwire.errors.QueryError` naming ``cursor``.

The deliveries of an account (or of a list of webhooks) are read webhook by
webhook, each through the ``(webhook_id, seq)`` index and limited to one page,
and merged: the database never sorts more than a page per webhook.

Every function takes a :class:`~sqlalchemy.Connection` and builds its SQL with
SQLAlchemy Core from :mod:`.schema`'s tables, so it runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.sql import ColumnElement

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
from .rows import delivery_from_row, event_from_row

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
    "delivery_page",
    "encode_cursor",
    "event_page",
    "time_after",
    "time_cursor",
    "webhook_stats",
]

MAX_PAGE = 1000
"""The most rows one page holds."""

_MAX_NAME = 120  # an event name's column width

_d, _e = schema.deliveries, schema.events
# Every delivery column, and the event's name and account, as ``delivery_from_row`` reads them.
_DELIVERY_COLUMNS = (_d, _e.c.name.label("event_name"), _e.c.account_id)


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


def _delivery_seqs(
    wanted: DeliveryFilter, webhook_id: str | None, after: int | None, limit: int
) -> Select[tuple[int]]:
    """The seqs of one webhook's (or, with None, every webhook's) next page, newest first."""
    query = select(_d.c.seq)
    if webhook_id is not None:
        query = query.where(_d.c.webhook_id == webhook_id)
    if wanted.event_name is not None:
        query = query.join(_e, _e.c.id == _d.c.event_id).where(_e.c.name == wanted.event_name)
    if wanted.status is not None:
        query = query.where(_d.c.status == wanted.status)
    if wanted.since is not None:
        query = query.where(_d.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(_d.c.created_at < wanted.until)
    if after is not None:
        query = query.where(_d.c.seq < after)
    return query.order_by(_d.c.seq.desc()).limit(limit)


def delivery_page(
    conn: Connection, wanted: DeliveryFilter, *, cursor: str | None, limit: int
) -> DeliveryPage:
    """The page of deliveries after ``cursor`` (the first without one), newest first."""
    after = delivery_after(cursor)
    sources: list[str | None] = [wanted.webhook_id]
    if wanted.account_id is not None:
        # Deliveries name no account: the account's are those of its webhooks.
        w = schema.webhooks
        owned = conn.execute(select(w.c.id).where(w.c.account_id == wanted.account_id))
        sources = [h for h in owned.scalars() if wanted.webhook_id in (None, h)]
        if not sources:
            return DeliveryPage((), None)
    parts = [_delivery_seqs(wanted, source, after, limit + 1).subquery() for source in sources]
    merged = union_all(*(select(part.c.seq) for part in parts))
    seqs = sorted(conn.execute(merged).scalars(), reverse=True)[: limit + 1]
    more = len(seqs) > limit
    seqs = seqs[:limit]
    if not seqs:
        return DeliveryPage((), None)
    rows = conn.execute(
        select(*_DELIVERY_COLUMNS)
        .join(_e, _e.c.id == _d.c.event_id)
        .where(_d.c.seq.in_(seqs))
        .order_by(_d.c.seq.desc())
    ).all()
    items = tuple(delivery_from_row(row) for row in rows)
    counts = _attempt_counts(conn, seqs)
    return DeliveryPage(
        items,
        encode_cursor("delivery", seqs[-1]) if more else None,
        {item.id: counts.get(row.seq, 0) for item, row in zip(items, rows, strict=True)},
    )


def _attempt_counts(conn: Connection, seqs: Sequence[int]) -> dict[int, int]:
    """How many attempts each delivery had: those of its current request and of the
    earlier requests a redelivery moved it out of."""
    rd, a = schema.request_deliveries, schema.attempts
    carried = union(
        select(_d.c.seq.label("seq"), _d.c.request_id.label("request_id")).where(
            _d.c.seq.in_(seqs), _d.c.request_id.is_not(None)
        ),
        select(rd.c.delivery_seq, rd.c.request_id).where(rd.c.delivery_seq.in_(seqs)),
    ).subquery()
    query = (
        select(carried.c.seq, func.count(a.c.id))
        .join(a, a.c.request_id == carried.c.request_id)
        .group_by(carried.c.seq)
    )
    return {int(seq): int(count) for seq, count in conn.execute(query)}


def event_page(
    conn: Connection, wanted: EventFilter, *, cursor: str | None, limit: int
) -> EventPage:
    """The page of events after ``cursor`` (the first without one), newest first."""
    after = time_after(cursor, "event")
    query = select(_e).order_by(_e.c.created_at.desc(), _e.c.id.desc()).limit(limit + 1)
    if wanted.account_id is not None:
        query = query.where(_e.c.account_id == wanted.account_id)
    if wanted.name is not None:
        query = query.where(_e.c.name == wanted.name)
    if wanted.since is not None:
        query = query.where(_e.c.created_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(_e.c.created_at < wanted.until)
    if after is not None:
        at, event_id = after
        # The first condition is a plain range the created_at index serves; the second
        # drops the rows of the cursor's own instant up to and including its id.
        tie: ColumnElement[bool] = or_(_e.c.created_at < at, _e.c.id < event_id)
        query = query.where(and_(_e.c.created_at <= at, tie))
    rows = conn.execute(query).all()
    items = tuple(event_from_row(row) for row in rows[:limit])
    if len(rows) <= limit:
        return EventPage(items, None)
    return EventPage(items, time_cursor("event", items[-1].created_at, items[-1].id))


def webhook_stats(
    conn: Connection, webhook_id: str, *, now: datetime, window: timedelta
) -> WebhookStats | None:
    """The stats of one webhook over ``[now - window, now]``; None if there is no such webhook."""
    w, a = schema.webhooks, schema.attempts
    failing_since = conn.execute(select(w.c.failing_since).where(w.c.id == webhook_id)).first()
    if failing_since is None:
        return None
    ok = case((a.c.status_code.between(200, 299), 1), else_=0)
    total, succeeded = conn.execute(
        select(func.count(), func.coalesce(func.sum(ok), 0))
        .select_from(a)
        .where(a.c.webhook_id == webhook_id, a.c.started_at >= now - window)
    ).one()
    last = conn.execute(
        select(a.c.started_at, a.c.status_code, a.c.error)
        .where(a.c.webhook_id == webhook_id)
        .order_by(a.c.started_at.desc(), a.c.id.desc())
        .limit(1)
    ).first()
    # A pending delivery has no request yet; saying so lets the dispatcher's partial
    # index of queued deliveries (ix_hookwire_deliveries_queued) answer the count.
    depth = conn.execute(
        select(func.count())
        .select_from(_d)
        .where(
            _d.c.webhook_id == webhook_id,
            _d.c.status == literal_column("'pending'"),  # SQLite matches a literal only
            _d.c.request_id.is_(None),
        )
    ).scalar_one()
    return WebhookStats(
        webhook_id=webhook_id,
        window=window,
        attempts=int(total),
        succeeded=int(succeeded),
        success_rate=int(succeeded) / int(total) if total else None,
        last_attempt_at=None if last is None else last.started_at,
        last_status_code=None if last is None else last.status_code,
        last_error=None if last is None else last.error,
        failing_since=failing_since[0],
        queue_depth=int(depth),
    )
