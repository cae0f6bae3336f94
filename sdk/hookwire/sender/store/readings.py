"""The read-only queries behind hookwire's queue metrics: the queue's size and how late it is.

:func:`queue` is what a Prometheus scrape reads (``hookwire_queue_depth`` and
``hookwire_queue_oldest_age_seconds``). It runs in a read-only transaction, so
on SQLite it never takes the write lock the dispatcher needs.

Only active webhooks count: the queue of a disabled or retired webhook waits
for someone to act and would otherwise look like a backlog for ever. Each
query reads an index the dispatcher already keeps: queued deliveries are
counted in the partial index the dispatcher claims from (its predicate is
written out literally, so both databases can use it); the age comes from the
head of each webhook's queue in that index, one lookup per webhook, not from
a scan of every queued row; retries from the open requests' partial index.
A reading costs in proportion to the backlog, not to the delivery log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.sql import Executable

from .. import schema
from ..schema import UtcDateTime
from .runner import Database

__all__ = ["QueueReading", "queue"]

_d, _r, _w = schema.deliveries, schema.requests, schema.webhooks
_NOW = bindparam("now", type_=UtcDateTime)
_ACTIVE = select(_w.c.id).where(_w.c.active == true()).scalar_subquery()
_OPEN = _r.c.status == literal_column("'open'")
# Webhooks whose open request waits for its next attempt: their queues wait behind it.
_WAITING = select(_r.c.webhook_id).where(_OPEN, _r.c.next_attempt_at > _NOW).scalar_subquery()


@dataclass(frozen=True, slots=True)
class QueueReading:
    """The unfinished deliveries of the active webhooks (of one, when ``webhook_id`` is set).

    ``queued``: deliveries waiting for their first attempt (batch events waiting
    for their flush included); ``retrying``: deliveries in requests that were
    tried and will be tried again. ``due_since``: since when the longest-waiting
    work a dispatcher could send now has been due (None when there is none): the
    head of a webhook's queue (its first due delivery in publish order) is due
    from its queued time, unless the webhook waits out a retry (ordering holds it
    back, not the dispatcher); a retry from its scheduled time. So a target that
    fails does not make the dispatcher look late.
    """

    webhook_id: str | None
    queued: int
    retrying: int
    due_since: datetime | None


_QUEUED = (
    # The predicate of ix_hookwire_deliveries_queued, as literals (see the module).
    _d.c.status == literal_column("'pending'"),
    _d.c.request_id.is_(None),
)
# The due time of the head of one webhook's queue: its first due delivery in publish order.
_HEAD = (
    select(_d.c.due_at)
    .where(_d.c.webhook_id == _w.c.id, *_QUEUED, _d.c.due_at <= _NOW)
    .order_by(_d.c.seq)
    .limit(1)
    .correlate(_w)
    .scalar_subquery()
)
_HEADS = (
    select(_w.c.id.label("webhook_id"), _HEAD.label("due_at"))
    .where(_w.c.active == true(), _w.c.id.not_in(_WAITING))
    .subquery()
)


@cache
def _statements(is_postgres: bool, per_webhook: bool) -> tuple[Executable, ...]:
    """The queued count, the queue heads and the retrying query, in total or by webhook."""
    queued = select(func.count()).where(*_QUEUED, _d.c.webhook_id.in_(_ACTIVE))
    heads = select(func.min(_HEADS.c.due_at))
    events = cast(_r.c.event_ids, JSON) if is_postgres else _r.c.event_ids
    retried = case((_r.c.attempts > 0, func.json_array_length(events)), else_=0)
    due = case((_r.c.next_attempt_at <= _NOW, _r.c.next_attempt_at))
    retrying = select(func.coalesce(func.sum(retried), 0, type_=Integer), func.min(due)).where(
        _OPEN, _r.c.webhook_id.in_(_ACTIVE)
    )
    if per_webhook:
        queued = queued.add_columns(_d.c.webhook_id).group_by(_d.c.webhook_id)
        heads = select(_HEADS.c.due_at, _HEADS.c.webhook_id).where(_HEADS.c.due_at.is_not(None))
        retrying = retrying.add_columns(_r.c.webhook_id).group_by(_r.c.webhook_id)
    return queued, heads, retrying


def queue(db: Database, *, now: datetime, per_webhook: bool = False) -> list[QueueReading]:
    """The queue now: one reading in total, or one per webhook that has unfinished work."""
    statements = _statements(db.is_postgres, per_webhook)
    with db.reading() as conn:
        queued, heads, retrying = (db.run(conn, sql, {"now": now}).all() for sql in statements)
    if not per_webhook:
        (count,), (head,), (tried, due) = queued[0], heads[0], retrying[0]
        return [QueueReading(None, int(count), int(tried), _earliest(head, due))]
    found: dict[str, list[Any]] = {}
    for count, webhook_id in queued:
        found[webhook_id] = [int(count), 0, None]
    for head, webhook_id in heads:
        found.setdefault(webhook_id, [0, 0, None])[2] = head
    for tried, due, webhook_id in retrying:
        entry = found.setdefault(webhook_id, [0, 0, None])
        entry[1] = int(tried)
        entry[2] = _earliest(entry[2], due)
    return [QueueReading(webhook_id, *entry) for webhook_id, entry in sorted(found.items())]


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None or second is None:
        return first or second
    return min(first, second)
