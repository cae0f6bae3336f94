"""The hot SQLite statements, by name: SQL text run on the driver with plain parameters.

``sql_postgres`` holds PostgreSQL's under the same names; read the two side by
side. A dispatcher turn runs DUE and LEASE (the claim), QUEUED and
INSERT_REQUESTS (new requests), then, to finish the last turn's attempts,
INSERT_ATTEMPTS, FINISH_DELIVERIES, FINISH_WEBHOOKS and FINISH_REQUESTS (what
PostgreSQL does in its one FINISH), and RELEASE for webhooks leased with
nothing left to send. A turn's rows travel as one JSON array per statement (a
statement per table however many jobs), each row a JSON array whose fields the
SQL reads by the names of the NamedTuple that built it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.dialects import sqlite

from ..schema import attempts, deliveries, events, requests, webhook_secrets, webhooks
from .sql_common import RELEASE_LEASE, SECRET_IS_VALID, due, job_columns, round_robin

__all__ = [
    "ANY_DUE",
    "ANY_DUE_PARAMS",
    "CHECKPOINT",
    "DATABASE_FILES",
    "DATA_VERSION",
    "DUE",
    "DUE_PARAMS",
    "FINISH_DELIVERIES",
    "FINISH_REQUESTS",
    "FINISH_WEBHOOKS",
    "INSERT_ATTEMPTS",
    "INSERT_DELIVERIES",
    "INSERT_EVENT",
    "INSERT_EVENTS",
    "INSERT_REQUESTS",
    "LEASE",
    "QUEUED",
    "RELEASE",
    "STORED_EVENTS",
    "SUBSCRIBERS",
    "WATCH_BUSY_TIMEOUT",
    "Finished",
]


class Finished(NamedTuple):
    """A finished attempt's request and webhook, as FINISH_REQUESTS and FINISH_WEBHOOKS read it."""

    request_id: str
    request_status: str
    next_attempt_at: str
    webhook_id: str
    succeeded: bool
    started_at: str


def _fields(shape: type[Any]) -> dict[str, str]:
    """Each field of ``shape`` read from the JSON array ``j.value``."""
    return {name: f"json_extract(j.value, '$[{n}]')" for n, name in enumerate(shape._fields)}


_F = _fields(Finished)

# The claim. SQLite before 3.44 cannot order inside an aggregate: [id, secret] pairs,
# sorted in Python (see ``dispatch.secrets_of``).
_DUE = (
    select(
        *job_columns(
            select(
                func.json_group_array(
                    func.json_array(webhook_secrets.c.id, webhook_secrets.c.secret)
                )
            )
            .where(SECRET_IS_VALID)
            .scalar_subquery()
        )
    )
    .where(*due(webhooks))
    .order_by(*round_robin(webhooks))
    .limit(bindparam("limit"))
    .compile(dialect=sqlite.dialect(paramstyle="named"))
)
DUE = str(_DUE)
DUE_PARAMS = dict(_DUE.params)
"""The values of DUE's own LIMIT 1 OFFSET 0 parameters."""
LEASE = f"""
    UPDATE {webhooks.name} SET lease_owner = :owner, lease_until = :until
    WHERE id IN (SELECT value FROM json_each(:ids))
"""  # noqa: S608

# SQLite has no LATERAL; a correlated IN (... LIMIT n) per webhook is its equivalent,
# and one statement text for any number of webhooks is compiled only once.
QUEUED = f"""
    SELECT d.seq, d.event_id, d.webhook_id, d.size, d.due_at, e.payload, e.trace_context
    FROM json_each(:ids) AS w
    JOIN {deliveries.name} AS d ON d.seq IN (
        SELECT q.seq FROM {deliveries.name} AS q
        WHERE q.webhook_id = w.value AND q.status = 'pending' AND q.request_id IS NULL
          AND q.due_at <= :now
        ORDER BY q.seq
        LIMIT :max_batch
    )
    JOIN {events.name} AS e ON e.id = d.event_id
"""  # noqa: S608
INSERT_REQUESTS = (
    f"INSERT INTO {requests.name} (id, webhook_id, status, body, event_ids, attempts, "  # noqa: S608
    "next_attempt_at, oldest_event_at, created_at, updated_at) VALUES (:id, :webhook_id, "
    "'open', :body, :event_ids, 0, :now, :oldest_event_at, :now, :now)"
)

# Finishing a turn's attempts (PostgreSQL: FINISH).
INSERT_ATTEMPTS = (
    f"INSERT INTO {attempts.name} (id, request_id, webhook_id, started_at, status_code, "  # noqa: S608
    "latency_ms, error, response_body) VALUES (:id, :request_id, :webhook_id, :started_at, "
    ":status_code, :latency_ms, :error, :response_body)"
)
# An outcome counts for a request's deliveries only while the request is open (run
# before FINISH_REQUESTS closes it): one that lands after its lease ran out, when
# another dispatcher finished the request or a purge killed it, must not touch
# deliveries redelivered since (queued again, with no request).
FINISH_DELIVERIES = f"""
    UPDATE {deliveries.name} SET status = :status, updated_at = :now, request_id = :request_id
    WHERE seq IN (SELECT value FROM json_each(:seqs)) AND status IN ('pending', 'failed')
      AND (request_id IS NULL OR request_id = :request_id)
      AND EXISTS (SELECT 1 FROM {requests.name} WHERE id = :request_id AND status = 'open')
"""  # noqa: S608
FINISH_REQUESTS = f"""
    UPDATE {requests.name} AS r
    SET status = {_F["request_status"]}, attempts = r.attempts + 1,
        next_attempt_at = {_F["next_attempt_at"]}, updated_at = :now
    FROM json_each(:rows) AS j
    WHERE r.id = {_F["request_id"]} AND r.status = 'open'
"""  # noqa: S608
# Like FINISH_DELIVERIES, run before FINISH_REQUESTS: an outcome of a request that is
# no longer open (it landed after its lease ran out, and another dispatcher finished
# the request) gives back the lease but leaves the webhook's failing run as it is.
FINISH_WEBHOOKS = f"""
    UPDATE {webhooks.name} AS w
    SET failing_since = CASE
            WHEN NOT EXISTS (SELECT 1 FROM {requests.name} AS r
                             WHERE r.id = {_F["request_id"]} AND r.status = 'open')
                THEN w.failing_since
            WHEN {_F["succeeded"]} THEN NULL
            ELSE coalesce(w.failing_since, {_F["started_at"]}) END,{RELEASE_LEASE}
    FROM json_each(:rows) AS j
    WHERE w.id = {_F["webhook_id"]}
"""  # noqa: S608

RELEASE = f"""
    UPDATE {webhooks.name} AS w SET{RELEASE_LEASE}
    WHERE w.id IN (SELECT value FROM json_each(:ids)) AND w.lease_owner = :owner
"""  # noqa: S608
"""Give back ``:owner``'s leases on the webhooks ``:ids`` (their requests stay open)."""

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
# A number that changes when another connection commits a change to the database: what
# a dispatcher's idle watch reads to notice work committed by other processes.
DATA_VERSION = "PRAGMA data_version"
# The watching connection waits at most this long for a lock (ms): it reads on the
# dispatcher's event loop, and a read it misses is retried a few ms later.
WATCH_BUSY_TIMEOUT = "PRAGMA busy_timeout = 5"
# The files of the connection's databases (seq, name, path): where the watch finds the log.
DATABASE_FILES = "PRAGMA database_list"
# Whether any webhook is due at :now (DUE's test, nothing else read): the watch asks
# before it wakes the dispatcher, so a commit that queued nothing (the dispatcher's own
# turn, most often) wakes nothing.
_ANY_DUE = (
    select(literal_column("1"))
    .where(*due(webhooks))
    .limit(1)
    .compile(dialect=sqlite.dialect(paramstyle="named"))
)
ANY_DUE = str(_ANY_DUE)
ANY_DUE_PARAMS = dict(_ANY_DUE.params)

# The outbox: run through SQLAlchemy (``Database.run``) with plain tuples.
SUBSCRIBERS = f"SELECT id, events FROM {webhooks.name} WHERE account_id = ? AND active = 1"  # noqa: S608
INSERT_EVENT = (
    sqlite.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
)
INSERT_EVENTS = (
    f"INSERT INTO {events.name} (id, account_id, name, timestamp, realtime, payload, "  # noqa: S608
    "created_at, trace_context) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
STORED_EVENTS = f"SELECT id FROM {events.name} WHERE id IN ({{}})"  # noqa: S608
"""Which of some event ids are stored (``{}``: a placeholder per id)."""
INSERT_DELIVERIES = (
    f"INSERT INTO {deliveries.name} (event_id, webhook_id, status, request_id, size, "  # noqa: S608
    "created_at, due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
