"""The audit log: every change made through the console, who made it and when.

:func:`record` writes a request's entries; :func:`page` reads an account's
entries back, newest first, a keyset page at a time (the cursor names the last
entry's ``(at, id)``, which the ``(account_id, at, id)`` index serves).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from ..sender.log_pages import time_after, time_cursor
from ..sender.rows import new_id
from . import tables

__all__ = ["AuditEntry", "AuditPage", "audit_after", "page", "record"]

_CURSOR_KIND = "audit"


@dataclass(frozen=True)
class AuditEntry:
    """One change: ``actor`` did ``action`` (to ``webhook_id``) in ``account_id`` at ``at``."""

    id: str
    account_id: int
    actor: str
    action: str
    webhook_id: str | None
    detail: dict[str, Any]
    at: datetime


def record(
    conn: Connection, *, account_id: int, actor: str, entries: Sequence[dict[str, Any]]
) -> None:
    """Insert the entries a view collected with :meth:`Call.audit`, all at one time."""
    if not entries:
        return
    now = datetime.now(UTC)
    conn.execute(
        insert(tables.audit),
        [
            {
                "id": new_id("aud"),
                "account_id": account_id,
                "actor": actor,
                "action": entry["action"],
                "webhook_id": entry["webhook_id"],
                "detail": json.dumps(entry["detail"], default=str, sort_keys=True),
                "at": now,
            }
            for entry in entries
        ],
    )


@dataclass(frozen=True)
class AuditPage:
    """One page of audit entries, newest first; ``next_cursor`` continues after the last."""

    items: tuple[AuditEntry, ...]
    next_cursor: str | None


def audit_after(cursor: str | None) -> tuple[datetime, str] | None:
    """The ``(at, id)`` an audit cursor continues after (None without one); QueryError if bad."""
    return time_after(cursor, _CURSOR_KIND)


def page(
    conn: Connection,
    *,
    account_id: int,
    webhook_id: str | None = None,
    action: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """The account's audit entries after ``cursor`` (from the newest without one),
    of one webhook and one action if given."""
    a = tables.audit
    query = (
        select(a)
        .where(a.c.account_id == account_id)
        .order_by(a.c.at.desc(), a.c.id.desc())
        .limit(limit + 1)
    )
    if webhook_id is not None:
        query = query.where(a.c.webhook_id == webhook_id)
    if action is not None:
        query = query.where(a.c.action == action)
    after = audit_after(cursor)
    if after is not None:
        at, entry_id = after
        # A plain range on ``at`` for the index, then the cursor's own instant by id.
        query = query.where(and_(a.c.at <= at, or_(a.c.at < at, a.c.id < entry_id)))
    rows = conn.execute(query).all()
    items = tuple(_entry_of(row) for row in rows[:limit])
    if len(rows) <= limit:
        return AuditPage(items, None)
    return AuditPage(items, time_cursor(_CURSOR_KIND, items[-1].at, items[-1].id))


def _entry_of(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        account_id=row.account_id,
        actor=row.actor,
        action=row.action,
        webhook_id=row.webhook_id,
        detail=json.loads(row.detail),
        at=row.at,
    )
