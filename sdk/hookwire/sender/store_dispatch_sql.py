"""The prebuilt statements of the dispatcher's store queries.

Built once at import: building a SQLAlchemy statement costs more than running
it on SQLite, and a dispatcher turn runs a fixed handful of them whatever the
number of jobs. ``FOR UPDATE SKIP LOCKED`` is here (``LEASE_DUE_PG``).
The SQLite statements are text, run on the driver's own connection.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import ColumnElement

from .schema import (
    UtcDateTime,
    deliveries,
    requests,
    webhook_secrets,
    webhooks,
)

__all__ = [
    "COMPLETE_PG",
    "DELIVERY_STATUS",
    "DUE_SQLITE",
    "DUE_SQLITE_PARAMS",
    "FINISHED_REQUEST_STATUSES",
    "FINISH_DELIVERIES_SQLITE",
    "FINISH_REQUESTS_SQLITE",
    "INSERT_ATTEMPTS_SQLITE",
    "INSERT_REQUESTS_PG",
    "INSERT_REQUESTS_SQLITE",
    "LEASE_DUE_PG",
    "LEASE_SQLITE",
    "MEMBERS",
    "NOW",
    "OPEN",
    "OPEN_REQUESTS",
    "QUEUED_LATERAL",
    "QUEUED_SQLITE",
    "RELEASE_SQLITE",
    "REQUEST_STATUS",
    "DueWebhook",
    "secrets_of",
]

OPEN = "open"

NOW = bindparam("now", type_=UtcDateTime)

# Status tests are SQL literals, not bound parameters: psycopg prepares a statement
# after a few runs, and PostgreSQL's generic plan for ``status = $1`` cannot use the
# partial indexes (``WHERE status = 'open'``, ``'pending' AND request_id IS NULL``),
# so the claim would read whole tables instead of probing them.
_REQUEST_OPEN = requests.c.status == literal_column("'open'")
_DELIVERY_QUEUED = and_(
    deliveries.c.status == literal_column("'pending'"), deliveries.c.request_id.is_(None)
)


class DueWebhook(NamedTuple):
    """A claimed webhook as the claim reads it (PostgreSQL's rows have the same names)."""

    id: str
    account_id: int
    target_url: str
    auth: str
    basic_username: str | None
    basic_password: str | None
    failing_since: datetime | None
    secrets: str | None
    open_request: str | None


# Only what a job needs: every extra column is read and converted once per claimed row.
_JOB_COLUMNS = [webhooks.c[name] for name in DueWebhook._fields if name in webhooks.c]


def _due(table: Any) -> list[ColumnElement[bool]]:
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


def _round_robin(table: Any) -> list[ColumnElement[Any]]:
    # A released lease keeps its time: oldest first is a round-robin over webhooks.
    return [table.c.lease_until.is_not(None), table.c.lease_until]


def _job_columns(secrets: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """A claimed webhook's columns: a job's, its valid ``secrets``, its open request."""
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
_SECRET_IS_VALID = and_(
    webhook_secrets.c.webhook_id == webhooks.c.id,
    or_(webhook_secrets.c.expires_at.is_(None), webhook_secrets.c.expires_at > NOW),
)
# SQLite before 3.44 cannot order inside an aggregate: [id, secret] pairs, sorted in Python.
_DUE_SQLITE = (
    select(
        *_job_columns(
            select(
                func.json_group_array(
                    func.json_array(webhook_secrets.c.id, webhook_secrets.c.secret)
                )
            )
            .where(_SECRET_IS_VALID)
            .scalar_subquery()
        )
    )
    .where(*_due(webhooks))
    .order_by(*_round_robin(webhooks))
    .limit(bindparam("limit"))
    .compile(dialect=sqlite.dialect(paramstyle="named"))
)
# Run on the driver's connection: its text, and the values of its LIMIT 1 OFFSET 0 parameters.
DUE_SQLITE = str(_DUE_SQLITE)
DUE_SQLITE_PARAMS = dict(_DUE_SQLITE.params)
LEASE_SQLITE = """
    UPDATE hookwire_webhooks SET lease_owner = ?1, lease_until = ?2
    WHERE id IN (SELECT value FROM json_each(?3))
"""

# PostgreSQL: picking and leasing in one statement (one round trip). NO KEY UPDATE does
# not conflict with the key-share locks of concurrent publishers.
_picked = webhooks.alias("picked")
LEASE_DUE_PG = (
    update(webhooks)
    .where(
        webhooks.c.id.in_(
            select(_picked.c.id)
            .where(*_due(_picked))
            .order_by(*_round_robin(_picked))
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True, key_share=True)
        )
    )
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until", type_=UtcDateTime))
    .returning(
        *_job_columns(
            select(
                func.array_agg(
                    aggregate_order_by(webhook_secrets.c.secret, webhook_secrets.c.id.desc())
                )
            )
            .where(_SECRET_IS_VALID)
            .scalar_subquery()
        )
    )
)


def secrets_of(row: Any) -> tuple[str, ...]:
    """The secrets of a claimed webhook row, newest first."""
    found = row.secrets
    if not found:
        return ()
    if isinstance(found, str):
        # SQLite's [[id, secret], ...], parsed each time: a cache would keep rotated
        # secrets in memory for the life of the process.
        return tuple(secret for _, secret in sorted(json.loads(found), reverse=True))
    return tuple(found)


# PostgreSQL: one statement text whatever the number of webhooks, so the server
# keeps it prepared instead of planning a fresh union every turn.
QUEUED_LATERAL = (
    text(
        """
        SELECT q.seq, q.event_id, q.webhook_id, q.size, q.due_at, q.payload
        FROM json_array_elements_text(CAST(:ids AS json)) AS w(id)
        CROSS JOIN LATERAL (
            SELECT d.seq, d.event_id, d.webhook_id, d.size, d.due_at, e.payload
            FROM hookwire_deliveries AS d
            JOIN hookwire_events AS e ON e.id = d.event_id
            WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.request_id IS NULL
              AND d.due_at <= :now
            ORDER BY d.seq
            LIMIT :max_batch
        ) AS q
        """
    )
    .bindparams(NOW, bindparam("ids"), bindparam("max_batch"))
    .columns(due_at=UtcDateTime)
)

# SQLite has no LATERAL; a correlated IN (... LIMIT n) per webhook is its equivalent,
# and one statement text for any number of webhooks is compiled only once.
QUEUED_SQLITE = """
    SELECT d.seq, d.event_id, d.webhook_id, d.size, d.due_at, e.payload
    FROM json_each(:ids) AS w
    JOIN hookwire_deliveries AS d ON d.seq IN (
        SELECT q.seq FROM hookwire_deliveries AS q
        WHERE q.webhook_id = w.value AND q.status = 'pending' AND q.request_id IS NULL
          AND q.due_at <= :now
        ORDER BY q.seq
        LIMIT :max_batch
    )
    JOIN hookwire_events AS e ON e.id = d.event_id
"""
# SQLite: a turn's finished requests travel as one JSON array of [request id,
# request status, next attempt, webhook id, succeeded, started at], so the
# requests and the webhooks take one statement each however many jobs.
FINISH_REQUESTS_SQLITE = """
    UPDATE hookwire_requests
    SET status = json_extract(j.value, '$[1]'), attempts = hookwire_requests.attempts + 1,
        next_attempt_at = json_extract(j.value, '$[2]'), updated_at = :now
    FROM json_each(:rows) AS j
    WHERE hookwire_requests.id = json_extract(j.value, '$[0]')
      AND hookwire_requests.status = 'open'
"""
# An outcome counts for a request's deliveries only while the request is open (run
# before FINISH_REQUESTS_SQLITE closes it): one that lands after its lease ran out,
# when another dispatcher finished the request or a purge killed it, must not touch
# deliveries redelivered since (queued again, with no request).
FINISH_DELIVERIES_SQLITE = """
    UPDATE hookwire_deliveries SET status = ?1, updated_at = ?2, request_id = ?3
    WHERE seq IN (SELECT value FROM json_each(?4)) AND status IN ('pending', 'failed')
      AND (request_id IS NULL OR request_id = ?3)
      AND EXISTS (SELECT 1 FROM hookwire_requests WHERE id = ?3 AND status = 'open')
"""
RELEASE_SQLITE = """
    UPDATE hookwire_webhooks
    SET failing_since = CASE WHEN json_extract(j.value, '$[4]') THEN NULL
            ELSE coalesce(hookwire_webhooks.failing_since, json_extract(j.value, '$[5]')) END,
        lease_owner = CASE WHEN hookwire_webhooks.lease_owner = :owner THEN NULL
            ELSE hookwire_webhooks.lease_owner END,
        lease_until = CASE WHEN hookwire_webhooks.lease_owner = :owner THEN :now
            ELSE hookwire_webhooks.lease_until END
    FROM json_each(:rows) AS j
    WHERE hookwire_webhooks.id = json_extract(j.value, '$[3]')
"""
INSERT_REQUESTS_SQLITE = (
    "INSERT INTO hookwire_requests (id, webhook_id, status, body, event_ids, attempts, "
    "next_attempt_at, oldest_event_at, created_at, updated_at) "
    "VALUES (?1, ?2, 'open', ?3, ?4, 0, ?5, ?6, ?5, ?5)"
)
INSERT_ATTEMPTS_SQLITE = (
    "INSERT INTO hookwire_attempts (id, request_id, webhook_id, started_at, status_code, "
    "latency_ms, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

OPEN_REQUESTS = select(requests).where(
    requests.c.webhook_id.in_(bindparam("ids", expanding=True)), _REQUEST_OPEN
)

# PostgreSQL: every statement is a round trip, so a turn's rows travel as one JSON
# array per statement (psycopg quotes a text array element by element in Python,
# which costs more than the statement), and the writes of one step share a statement
# (data-modifying CTEs). Each row is a JSON array; its fields are read with ->>, from
# jsonb, which is parsed once (on json, every ->> parses the row again).
INSERT_REQUESTS_PG = text(
    """
    INSERT INTO hookwire_requests (id, webhook_id, status, body, event_ids, attempts,
        next_attempt_at, oldest_event_at, created_at, updated_at)
    SELECT r->>0, r->>1, 'open', r->>2, r->>3, 0, :now, CAST(r->>4 AS TIMESTAMPTZ), :now, :now
    FROM jsonb_array_elements(CAST(:requests AS jsonb)) AS j(r)
    """
).bindparams(NOW)
# ``LIMIT :n`` (the row count) gives the planner the size it cannot see in the JSON
# (it assumes 100 rows, and then hashed the whole requests table to join 20 rows).
# The statement's parts all see the tables as they were before it: deliveries change
# only if their request was open then (see FINISH_DELIVERIES_SQLITE).
COMPLETE_PG = text(
    """
    WITH v AS (
        SELECT r->>0 AS attempt_id, r->>1 AS request_id, r->>2 AS webhook_id,
            CAST(r->>3 AS TIMESTAMPTZ) AS started, CAST(r->>4 AS INTEGER) AS code,
            CAST(r->>5 AS DOUBLE PRECISION) AS latency, r->>6 AS error, r->>7 AS body,
            r->>8 AS request_st, CAST(r->>9 AS TIMESTAMPTZ) AS next_at,
            CAST(r->>10 AS BOOLEAN) AS ok
        FROM jsonb_array_elements(CAST(:outcomes AS jsonb)) AS j(r)
        LIMIT :n
    ), attempt AS (
        INSERT INTO hookwire_attempts (id, request_id, webhook_id, started_at, status_code,
            latency_ms, error, response_body)
        SELECT attempt_id, request_id, webhook_id, started, code, latency, error, body FROM v
    ), request AS (
        UPDATE hookwire_requests AS r
        SET status = v.request_st, attempts = r.attempts + 1,
            next_attempt_at = COALESCE(v.next_at, :now), updated_at = :now
        FROM v WHERE r.id = v.request_id AND r.status = 'open'
    ), delivery AS (
        UPDATE hookwire_deliveries AS d
        SET status = x.r->>1, request_id = x.r->>2, updated_at = :now
        FROM (SELECT r FROM jsonb_array_elements(CAST(:deliveries AS jsonb)) AS x(r) LIMIT :m) AS x
        WHERE d.seq = CAST(x.r->>0 AS BIGINT) AND d.status IN ('pending', 'failed')
          AND (d.request_id IS NULL OR d.request_id = x.r->>2)
          AND EXISTS (SELECT 1 FROM hookwire_requests AS o
                      WHERE o.id = x.r->>2 AND o.status = 'open')
    )
    UPDATE hookwire_webhooks AS w
    SET failing_since = CASE WHEN v.ok THEN NULL ELSE COALESCE(w.failing_since, v.started) END,
        lease_owner = CASE WHEN w.lease_owner = :owner THEN NULL ELSE w.lease_owner END,
        lease_until = CASE WHEN w.lease_owner = :owner THEN :now ELSE w.lease_until END
    FROM v WHERE w.id = v.webhook_id
    """
).bindparams(NOW)

# A request's deliveries are its webhook's deliveries of its events: it points at
# them (request_id) only from its first finished attempt on.
MEMBERS = select(deliveries.c.seq, deliveries.c.event_id, deliveries.c.webhook_id).where(
    deliveries.c.event_id.in_(bindparam("events", expanding=True)),
    deliveries.c.webhook_id.in_(bindparam("webhooks", expanding=True)),
)


DELIVERY_STATUS = {
    "succeeded": "succeeded",
    "retry": "failed",
    "split": "pending",
    "dead": "dead",
    "disable": "dead",
}
REQUEST_STATUS = {
    "succeeded": "succeeded",
    "retry": OPEN,
    "split": "split",
    "dead": "dead",
    "disable": "dead",
}
FINISHED_REQUEST_STATUSES = ("succeeded", "split", "dead")
"""A request in one of these is closed: never sent again, and purged when old."""
