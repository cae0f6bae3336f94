"""What both dialects' statements share: statuses, when a webhook is due, the lease rule.

Built once at import: building a SQLAlchemy statement costs more than running
it on SQLite, and a dispatcher turn runs a fixed handful of them whatever the
number of jobs. The dialects' own statements are in ``sql_sqlite`` and
``sql_postgres``, under the same names.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, exists, literal_column, or_, select
from sqlalchemy.sql import ColumnElement

from ..rows import DueWebhook
from ..schema import UtcDateTime, deliveries, events, requests, webhook_secrets, webhooks

__all__ = [
    "DELIVERY_STATUS",
    "FINISHED_REQUEST_STATUSES",
    "MEMBERS",
    "NOW",
    "OPEN",
    "OPEN_REQUESTS",
    "RELEASE_LEASE",
    "REQUEST_STATUS",
    "SECRET_IS_VALID",
    "TRACE_CONTEXTS",
    "UNFINISHED_DELIVERY_STATUSES",
    "due",
    "job_columns",
    "round_robin",
]

OPEN = "open"

DELIVERY_STATUS = {
    "succeeded": "succeeded",
    "retry": "failed",
    "split": "pending",
    "dead": "dead",
    "disable": "dead",
}
"""The status an attempt's verdict gives the deliveries its request carried."""
REQUEST_STATUS = {
    "succeeded": "succeeded",
    "retry": OPEN,
    "split": "split",
    "dead": "dead",
    "disable": "dead",
}
"""The status an attempt's verdict gives its request."""
FINISHED_REQUEST_STATUSES = ("succeeded", "split", "dead")
"""A request in one of these is closed: never sent again, and purged when old."""
UNFINISHED_DELIVERY_STATUSES = ["pending", "failed"]
"""A delivery in one of these may still be sent; disabling or expiry makes it dead."""

NOW = bindparam("now", type_=UtcDateTime)

# Giving back a lease: only its owner's, and a released lease keeps its time (the
# round-robin below). Used with the webhooks table aliased ``w``, by both dialects'
# RELEASE (a list of webhooks) and FINISH (the webhooks of a turn's outcomes).
RELEASE_LEASE = """
        lease_owner = CASE WHEN w.lease_owner = :owner THEN NULL ELSE w.lease_owner END,
        lease_until = CASE WHEN w.lease_owner = :owner THEN :now ELSE w.lease_until END"""

# Status tests are SQL literals, not bound parameters: psycopg prepares a statement
# after a few runs, and PostgreSQL's generic plan for ``status = $1`` cannot use the
# partial indexes (``WHERE status = 'open'``, ``'pending' AND request_id IS NULL``),
# so the claim would read whole tables instead of probing them.
_REQUEST_OPEN = requests.c.status == literal_column("'open'")
_DELIVERY_QUEUED = and_(
    deliveries.c.status == literal_column("'pending'"), deliveries.c.request_id.is_(None)
)

# Only what a job needs: every extra column is read and converted once per claimed row.
_JOB_COLUMNS = [webhooks.c[name] for name in DueWebhook._fields if name in webhooks.c]


def due(table: Any) -> list[ColumnElement[bool]]:
    """Whether a webhook (of ``table``, the webhooks table or an alias) is due at ``:now``.

    Due: active, not leased, and either a retry of its open request is due, or it
    has no open request and its queue holds a due delivery.
    """
    return [
        table.c.active.is_(True),
        or_(table.c.lease_until.is_(None), table.c.lease_until <= NOW),
        or_(
            exists().where(
                requests.c.webhook_id == table.c.id,
                _REQUEST_OPEN,
                requests.c.next_attempt_at <= NOW,
            ),
            and_(
                ~exists().where(requests.c.webhook_id == table.c.id, _REQUEST_OPEN),
                # A LIMIT 1 probe per webhook, not EXISTS: PostgreSQL turns EXISTS into a
                # hashed subplan that reads the whole queue on every turn.
                select(literal_column("1"))
                .where(
                    deliveries.c.webhook_id == table.c.id,
                    _DELIVERY_QUEUED,
                    deliveries.c.due_at <= NOW,
                )
                .limit(literal_column("1"))
                .scalar_subquery()
                .is_not(None),
            ),
        ),
    ]


def round_robin(table: Any) -> list[ColumnElement[Any]]:
    """Oldest lease first: a released lease keeps its time, so this takes turns."""
    return [table.c.lease_until.is_not(None), table.c.lease_until]


def job_columns(secrets: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """A claimed webhook's columns (a :class:`~..rows.DueWebhook`): a job's, its valid
    ``secrets``, its open request."""
    # Whether a webhook has an open request, so a turn without retries skips OPEN_REQUESTS.
    open_request = (
        select(requests.c.id)
        .where(requests.c.webhook_id == webhooks.c.id, _REQUEST_OPEN)
        .limit(literal_column("1"))
        .scalar_subquery()
    )
    return [*_JOB_COLUMNS, secrets.label("secrets"), open_request.label("open_request")]


# The secrets valid at :now travel with the claimed webhook rows, saving every turn a
# statement of its own for a few rows.
SECRET_IS_VALID = and_(
    webhook_secrets.c.webhook_id == webhooks.c.id,
    or_(webhook_secrets.c.expires_at.is_(None), webhook_secrets.c.expires_at > NOW),
)

OPEN_REQUESTS = select(
    requests.c.id,
    requests.c.webhook_id,
    requests.c.body,
    requests.c.event_ids,
    requests.c.attempts,
    requests.c.oldest_event_at,
).where(requests.c.webhook_id.in_(bindparam("ids", expanding=True)), _REQUEST_OPEN)
"""The open requests of the webhooks ``ids`` (a retry or a takeover)."""

TRACE_CONTEXTS = select(events.c.id, events.c.trace_context).where(
    events.c.id.in_(bindparam("ids", expanding=True)), events.c.trace_context.is_not(None)
)
"""The stored trace contexts of the events ``ids`` that have one."""

# A request's deliveries are its webhook's deliveries of its events: it points at
# them (request_id) only from its first finished attempt on.
MEMBERS = select(deliveries.c.seq, deliveries.c.event_id, deliveries.c.webhook_id).where(
    deliveries.c.event_id.in_(bindparam("events", expanding=True)),
    deliveries.c.webhook_id.in_(bindparam("webhooks", expanding=True)),
)
