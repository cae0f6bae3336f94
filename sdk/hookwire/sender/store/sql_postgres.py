"""The hot PostgreSQL statements, by name: SQLAlchemy statements, built once at import.

``sql_sqlite`` holds SQLite's under the same names; read the two side by side.
A dispatcher turn runs LEASE_DUE (SQLite's DUE and LEASE in one statement,
with ``FOR UPDATE SKIP LOCKED``), QUEUED and INSERT_REQUESTS, then FINISH for
the last turn's attempts (SQLite's INSERT_ATTEMPTS, FINISH_DELIVERIES,
FINISH_REQUESTS and FINISH_WEBHOOKS in one), and RELEASE.

Every statement is a round trip, so a turn's rows travel as one JSON array per
statement (psycopg quotes a text array element by element in Python, which
costs more than the statement), and the writes of one step share a statement
(data-modifying CTEs). Each row is a JSON array whose fields the SQL reads (with
``->>``, from jsonb, parsed once) by the names of the NamedTuple that built it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by

from ..schema import (
    UtcDateTime,
    attempts,
    deliveries,
    events,
    requests,
    webhook_secrets,
    webhooks,
)
from .sql_common import NOW, RELEASE_LEASE, SECRET_IS_VALID, due, job_columns, round_robin

__all__ = [
    "FINISH",
    "INSERT_DELIVERIES",
    "INSERT_EVENT",
    "INSERT_EVENTS",
    "INSERT_REQUESTS",
    "LEASE_DUE",
    "LISTEN_WORK",
    "NAME_WAKE_CONNECTION",
    "NOTIFY_WORK",
    "QUEUED",
    "RELEASE",
    "STORE_SCHEMA",
    "SUBSCRIBERS",
    "WAKE_APPLICATION_NAME",
    "WORK_CHANNEL",
    "WORK_SCHEMA",
    "Attempted",
    "DeliveryChange",
    "NewRequest",
]


class NewRequest(NamedTuple):
    """A new request as INSERT_REQUESTS reads it."""

    id: str
    webhook_id: str
    body: str
    event_ids: str
    oldest_event_at: str


class Attempted(NamedTuple):
    """A finished attempt as FINISH reads it (``:outcomes``)."""

    attempt_id: str
    request_id: str
    webhook_id: str
    started_at: str
    status_code: int | None
    latency_ms: float
    error: str | None
    response_body: str
    request_status: str
    next_attempt_at: str | None
    succeeded: bool


class DeliveryChange(NamedTuple):
    """A delivery's new status, as FINISH reads it (``:deliveries``; sent as plain tuples
    in this order, one per delivery)."""

    seq: int
    status: str
    request_id: str


def _fields(shape: type[Any], row: str) -> dict[str, str]:
    """Each field of ``shape`` read as text from the jsonb array ``row``."""
    return {name: f"{row}->>{n}" for n, name in enumerate(shape._fields)}


# The claim: picking and leasing in one statement (one round trip). NO KEY UPDATE
# does not conflict with the key-share locks of concurrent publishers.
_picked = webhooks.alias("picked")
LEASE_DUE = (
    update(webhooks)
    .where(
        webhooks.c.id.in_(
            select(_picked.c.id)
            .where(*due(_picked))
            .order_by(*round_robin(_picked))
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True, key_share=True)
        )
    )
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until", type_=UtcDateTime))
    .returning(
        *job_columns(
            select(
                func.array_agg(
                    aggregate_order_by(webhook_secrets.c.secret, webhook_secrets.c.id.desc())
                )
            )
            .where(SECRET_IS_VALID)
            .scalar_subquery()
        )
    )
)

# One statement text whatever the number of webhooks, so the server keeps it
# prepared instead of planning a fresh union every turn.
QUEUED = (
    text(
        f"""
        SELECT q.seq, q.event_id, q.webhook_id, q.size, q.due_at, q.payload, q.trace_context
        FROM json_array_elements_text(CAST(:ids AS json)) AS w(id)
        CROSS JOIN LATERAL (
            SELECT d.seq, d.event_id, d.webhook_id, d.size, d.due_at, e.payload, e.trace_context
            FROM {deliveries.name} AS d
            JOIN {events.name} AS e ON e.id = d.event_id
            WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.request_id IS NULL
              AND d.due_at <= :now
            ORDER BY d.seq
            LIMIT :max_batch
        ) AS q
        """  # noqa: S608
    )
    .bindparams(NOW, bindparam("ids"), bindparam("max_batch"))
    .columns(due_at=UtcDateTime)
)

_R = _fields(NewRequest, "r")
INSERT_REQUESTS = text(
    f"""
    INSERT INTO {requests.name} (id, webhook_id, status, body, event_ids, attempts,
        next_attempt_at, oldest_event_at, created_at, updated_at)
    SELECT {_R["id"]}, {_R["webhook_id"]}, 'open', {_R["body"]}, {_R["event_ids"]}, 0, :now,
        CAST({_R["oldest_event_at"]} AS TIMESTAMPTZ), :now, :now
    FROM jsonb_array_elements(CAST(:requests AS jsonb)) AS j(r)
    """  # noqa: S608
).bindparams(NOW)

# Finishing a turn's attempts (SQLite: INSERT_ATTEMPTS, FINISH_DELIVERIES,
# FINISH_WEBHOOKS, FINISH_REQUESTS). ``LIMIT :n`` (the row count) gives the planner
# the size it cannot see in the JSON (it assumes 100 rows, and then hashed the whole
# requests table to join 20 rows). The statement's parts all see the tables as they
# were before it: deliveries change, and the webhook's failing run moves, only if their
# request was open then (see sql_sqlite.FINISH_DELIVERIES and FINISH_WEBHOOKS).
_A = _fields(Attempted, "r")
_D = _fields(DeliveryChange, "x.r")
FINISH = text(
    f"""
    WITH v AS (
        SELECT {_A["attempt_id"]} AS attempt_id, {_A["request_id"]} AS request_id,
            {_A["webhook_id"]} AS webhook_id, CAST({_A["started_at"]} AS TIMESTAMPTZ) AS started,
            CAST({_A["status_code"]} AS INTEGER) AS code,
            CAST({_A["latency_ms"]} AS DOUBLE PRECISION) AS latency,
            {_A["error"]} AS error, {_A["response_body"]} AS body,
            {_A["request_status"]} AS request_st,
            CAST({_A["next_attempt_at"]} AS TIMESTAMPTZ) AS next_at,
            CAST({_A["succeeded"]} AS BOOLEAN) AS ok
        FROM jsonb_array_elements(CAST(:outcomes AS jsonb)) AS j(r)
        LIMIT :n
    ), attempt AS (
        INSERT INTO {attempts.name} (id, request_id, webhook_id, started_at, status_code,
            latency_ms, error, response_body)
        SELECT attempt_id, request_id, webhook_id, started, code, latency, error, body FROM v
    ), request AS (
        UPDATE {requests.name} AS r
        SET status = v.request_st, attempts = r.attempts + 1,
            next_attempt_at = COALESCE(v.next_at, :now), updated_at = :now
        FROM v WHERE r.id = v.request_id AND r.status = 'open'
    ), delivery AS (
        UPDATE {deliveries.name} AS d
        SET status = {_D["status"]}, request_id = {_D["request_id"]}, updated_at = :now
        FROM (SELECT r FROM jsonb_array_elements(CAST(:deliveries AS jsonb)) AS x(r) LIMIT :m) AS x
        WHERE d.seq = CAST({_D["seq"]} AS BIGINT) AND d.status IN ('pending', 'failed')
          AND (d.request_id IS NULL OR d.request_id = {_D["request_id"]})
          AND EXISTS (SELECT 1 FROM {requests.name} AS o
                      WHERE o.id = {_D["request_id"]} AND o.status = 'open')
    )
    UPDATE {webhooks.name} AS w
    SET failing_since = CASE
            WHEN NOT EXISTS (SELECT 1 FROM {requests.name} AS o
                             WHERE o.id = v.request_id AND o.status = 'open')
                THEN w.failing_since
            WHEN v.ok THEN NULL ELSE COALESCE(w.failing_since, v.started) END,
        {RELEASE_LEASE.strip()}
    FROM v WHERE w.id = v.webhook_id
    """  # noqa: S608
).bindparams(NOW)

RELEASE = text(
    f"""
    UPDATE {webhooks.name} AS w SET{RELEASE_LEASE}
    WHERE w.id IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))
      AND w.lease_owner = :owner
    """
).bindparams(NOW)
"""Give back ``:owner``'s leases on the webhooks ``:ids`` (their requests stay open)."""

# The outbox. Many rows go as one statement over one JSON array of rows: the driver
# sends one text parameter (encoded by json's C encoder) instead of a placeholder or
# an array element per value, each adapted in Python.
SUBSCRIBERS = select(webhooks.c.id, webhooks.c.events).where(
    webhooks.c.account_id == bindparam("a"), webhooks.c.active.is_(True)
)
INSERT_EVENT = (
    postgresql.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
)
INSERT_EVENTS = text(
    f'INSERT INTO {events.name} (id, account_id, name, "timestamp", realtime, payload, '  # noqa: S608
    "created_at, trace_context) SELECT v->>0, CAST(v->>1 AS BIGINT), v->>2, "
    "CAST(v->>3 AS TIMESTAMPTZ), CAST(v->>4 AS BOOLEAN), v->>5, CAST(v->>6 AS TIMESTAMPTZ), v->>7 "
    "FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS given (v, n) "
    "ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING id"
)

# Waking dispatchers in other processes: a transaction that queues deliveries notifies
# WORK_CHANNEL (delivered at commit, never for a rollback; PostgreSQL folds a
# transaction's identical notifications into one), and each listening
# dispatcher wakes for the payloads that name its own store: the schema of the
# deliveries table that its search path finds, so stores in several schemas of one
# database do not wake each other's dispatchers.
WORK_CHANNEL = "hookwire_work"
WORK_SCHEMA = (
    "SELECT relnamespace::regnamespace::text FROM pg_class "  # noqa: S608
    f"WHERE oid = '{deliveries.name}'::regclass"
)
NOTIFY_WORK = f"SELECT pg_notify('{WORK_CHANNEL}', ({WORK_SCHEMA}))"
# The schema read once per store, for INSERT_DELIVERIES' :schema.
STORE_SCHEMA = text(WORK_SCHEMA)

# ORDER BY n: seq (the column's default) is drawn in the rows' order. The insert
# notifies WORK_CHANNEL in the same statement, so queueing work costs no extra round
# trip to wake the dispatchers of other processes; :schema is STORE_SCHEMA's answer.
INSERT_DELIVERIES = text(
    f"WITH queued AS (INSERT INTO {deliveries.name} (event_id, webhook_id, status, "  # noqa: S608
    "request_id, size, created_at, due_at, updated_at) SELECT v->>0, v->>1, v->>2, v->>3, "
    "CAST(v->>4 AS INTEGER), CAST(v->>5 AS TIMESTAMPTZ), CAST(v->>6 AS TIMESTAMPTZ), "
    "CAST(v->>7 AS TIMESTAMPTZ) "
    "FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS given (v, n) "
    "ORDER BY n RETURNING 1) "
    f"SELECT pg_notify('{WORK_CHANNEL}', :schema) FROM (SELECT 1 FROM queued LIMIT 1) AS q"
)
LISTEN_WORK = f"LISTEN {WORK_CHANNEL}"
# The listening connection's name in pg_stat_activity.
WAKE_APPLICATION_NAME = "hookwire-wake"
NAME_WAKE_CONNECTION = f"SET application_name = '{WAKE_APPLICATION_NAME}'"
