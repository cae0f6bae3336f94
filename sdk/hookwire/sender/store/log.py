"""The delivery log's read side in SQL: cursor-paged deliveries and events, a webhook's stats.

The deliveries of an account (or of a list of webhooks) are read webhook by
webhook, each through the ``(webhook_id, seq)`` index and limited to one page,
and merged: the database never sorts more than a page per webhook. Statements
are built with SQLAlchemy Core from the schema's tables and run the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql.elements import BindParameter

from .. import schema
from ..log_pages import (
    DeliveryFilter,
    DeliveryPage,
    EventFilter,
    EventPage,
    WebhookStats,
    delivery_after,
    encode_cursor,
    time_after,
    time_cursor,
)
from ..rows import DeliveryRow, delivery_from_row, event_from_row
from ..schema import UtcDateTime

__all__ = ["delivery_page", "event_page", "webhook_stats"]

_d, _e = schema.deliveries, schema.events


# Built once: each page runs them with its seqs bound (``expanding``: one value per seq).
_SEQS: BindParameter[Any] = bindparam("seqs", expanding=True)
# The page's rows, in DeliveryRow's order: each row becomes a DeliveryRow as it is read.
_COLUMN_OF = {
    **{column.name: column for column in _d.c},
    "event_name": _e.c.name.label("event_name"),
    "account_id": _e.c.account_id,
}
_PAGE_COLUMNS = [_COLUMN_OF[name] for name in DeliveryRow._fields]
_PAGE_ROWS = (
    select(*_PAGE_COLUMNS)
    .join(_e, _e.c.id == _d.c.event_id)
    .where(_d.c.seq.in_(_SEQS))
    .order_by(_d.c.seq.desc())
)
_rd, _a = schema.request_deliveries, schema.attempts
# A delivery's attempts: those of its current request and of the earlier requests a
# redelivery moved it out of.
_CARRIED = union(
    select(_d.c.seq.label("seq"), _d.c.request_id.label("request_id")).where(
        _d.c.seq.in_(_SEQS), _d.c.request_id.is_not(None)
    ),
    select(_rd.c.delivery_seq, _rd.c.request_id).where(_rd.c.delivery_seq.in_(_SEQS)),
).subquery()
_ATTEMPT_COUNTS = (
    select(_CARRIED.c.seq, func.count(_a.c.id))
    .join(_a, _a.c.request_id == _CARRIED.c.request_id)
    .group_by(_CARRIED.c.seq)
)
_ACCOUNT_WEBHOOKS = select(schema.webhooks.c.id).where(
    schema.webhooks.c.account_id == bindparam("account_id")
)


@lru_cache(maxsize=256)
def _seqs_statement(sources: int, filters: frozenset[str]) -> Executable:
    """The seqs of the next page of each of ``sources`` webhooks (0: of every webhook),
    newest first, with the ``filters`` given; values travel as bound parameters, so one
    statement serves every page of the same shape."""
    parts = [_one_source_seqs(str(n) if sources else None, filters) for n in range(sources or 1)]
    if len(parts) == 1:
        return parts[0]
    return union_all(*(select(part.subquery().c.seq) for part in parts))


def _one_source_seqs(source: str | None, filters: frozenset[str]) -> Select[Any]:
    query = select(_d.c.seq)
    if source is not None:
        query = query.where(_d.c.webhook_id == bindparam(f"webhook_{source}"))
    if "event_name" in filters:
        query = query.join(_e, _e.c.id == _d.c.event_id).where(_e.c.name == bindparam("event_name"))
    if "status" in filters:
        query = query.where(_d.c.status == bindparam("status"))
    if "since" in filters:
        query = query.where(_d.c.created_at >= bindparam("since", type_=UtcDateTime))
    if "until" in filters:
        query = query.where(_d.c.created_at < bindparam("until", type_=UtcDateTime))
    if "after" in filters:
        query = query.where(_d.c.seq < bindparam("after"))
    return query.order_by(_d.c.seq.desc()).limit(bindparam("limit"))


def _seqs_parameters(
    wanted: DeliveryFilter, sources: list[str], after: int | None, limit: int
) -> tuple[frozenset[str], dict[str, Any]]:
    values: dict[str, Any] = {f"webhook_{n}": source for n, source in enumerate(sources)}
    given = {
        "event_name": wanted.event_name,
        "status": wanted.status,
        "since": wanted.since,
        "until": wanted.until,
        "after": after,
    }
    values.update((key, value) for key, value in given.items() if value is not None)
    values["limit"] = limit
    return frozenset(key for key, value in given.items() if value is not None), values


def delivery_page(
    conn: Connection, wanted: DeliveryFilter, *, cursor: str | None, limit: int
) -> DeliveryPage:
    """The page of deliveries after ``cursor`` (the first without one), newest first."""
    after = delivery_after(cursor)
    sources = [wanted.webhook_id] if wanted.webhook_id is not None else []
    if wanted.account_id is not None:
        # Deliveries name no account: the account's are those of its webhooks.
        owned = conn.execute(_ACCOUNT_WEBHOOKS, {"account_id": wanted.account_id}).scalars()
        sources = [h for h in owned if wanted.webhook_id in (None, h)]
        if not sources:
            return DeliveryPage((), None)
    filters, values = _seqs_parameters(wanted, sources, after, limit + 1)
    found = conn.execute(_seqs_statement(len(sources), filters), values).scalars()
    seqs = sorted(found, reverse=True)[: limit + 1]
    more = len(seqs) > limit
    seqs = seqs[:limit]
    if not seqs:
        return DeliveryPage((), None)
    rows = [DeliveryRow._make(row) for row in conn.execute(_PAGE_ROWS, {"seqs": seqs})]
    items = tuple(delivery_from_row(row) for row in rows)
    counts = {int(seq): int(n) for seq, n in conn.execute(_ATTEMPT_COUNTS, {"seqs": seqs})}
    return DeliveryPage(
        items,
        encode_cursor("delivery", seqs[-1]) if more else None,
        {item.id: counts.get(row.seq, 0) for item, row in zip(items, rows, strict=True)},
    )


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
