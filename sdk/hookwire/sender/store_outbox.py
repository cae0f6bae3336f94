"""Store queries of the outbox: events, their deliveries, and the delivery log."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from . import store_dispatch_sql as sql
from .models import Attempt, Delivery, DeliveryStatus, StoredEvent
from .rows import attempt_from_row, delivery_from_row, delivery_seq, event_from_row
from .schema import (
    attempts,
    deliveries,
    events,
    request_deliveries,
    requests,
    sqlite_text,
    webhooks,
)
from .store_base import StoreBase

__all__ = ["OutboxQueries"]

_DELIVERY_COLUMNS = (
    deliveries.c.seq,
    deliveries.c.event_id,
    events.c.name.label("event_name"),
    deliveries.c.webhook_id,
    events.c.account_id,
    deliveries.c.status,
    deliveries.c.request_id,
    deliveries.c.created_at,
    deliveries.c.due_at,
    deliveries.c.updated_at,
)


# Built once: publish is a hot path, and building a statement costs more than running it.
_SUBSCRIBERS = select(webhooks.c.id, webhooks.c.events).where(
    webhooks.c.account_id == bindparam("a"), webhooks.c.active.is_(True)
)
_SUBSCRIBERS_SQLITE = "SELECT id, events FROM hookwire_webhooks WHERE account_id = ? AND active = 1"
_INSERT_EVENT_SQLITE = (
    sqlite.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
)
_INSERT_EVENT_PG = (
    postgresql.insert(events).on_conflict_do_nothing(index_elements=["id"]).returning(events.c.id)
)
_INSERT_EVENTS_SQLITE = (
    "INSERT INTO hookwire_events (id, account_id, name, timestamp, realtime, payload, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_STORED_EVENTS_SQLITE = "SELECT id FROM hookwire_events WHERE id IN ({})"
_IDS_PER_LOOKUP = 500  # bound parameters per statement: far below any SQLite's limit
# PostgreSQL: many rows as one statement over one JSON array of rows. The driver
# sends one text parameter (encoded by json's C encoder) instead of a placeholder
# or an array element per value, each adapted in Python.
_INSERT_EVENTS_PG = text(
    'INSERT INTO hookwire_events (id, account_id, name, "timestamp", realtime, payload, '
    "created_at) SELECT v->>0, CAST(v->>1 AS BIGINT), v->>2, CAST(v->>3 AS TIMESTAMPTZ), "
    "CAST(v->>4 AS BOOLEAN), v->>5, CAST(v->>6 AS TIMESTAMPTZ) "
    "FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS given (v, n) "
    "ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING id"
)
# ORDER BY n: seq (the column's default) is drawn in the rows' order.
_INSERT_DELIVERIES_PG = text(
    "INSERT INTO hookwire_deliveries (event_id, webhook_id, status, request_id, size, "
    "created_at, due_at, updated_at) SELECT v->>0, v->>1, v->>2, v->>3, "
    "CAST(v->>4 AS INTEGER), CAST(v->>5 AS TIMESTAMPTZ), CAST(v->>6 AS TIMESTAMPTZ), "
    "CAST(v->>7 AS TIMESTAMPTZ) "
    "FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS given (v, n) "
    "ORDER BY n"
)
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_INSERT_DELIVERIES_SQLITE = (
    "INSERT INTO hookwire_deliveries (event_id, webhook_id, status, request_id, size, "
    "created_at, due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _formatted_once(form: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """``form`` formatting each distinct datetime once: the rows of a call share a few."""
    texts: dict[datetime, str] = {}

    def formatted(moment: datetime) -> str:
        found = texts.get(moment)
        if found is None:
            found = texts[moment] = form(moment)
        return found

    return formatted


class OutboxQueries(StoreBase):
    """Store events and fan them out; list, resend and purge deliveries."""

    def subscribers(self, conn: Connection, account_id: int) -> list[tuple[str, str]]:
        """The account's active webhooks as ``(id, events JSON)`` pairs."""
        if self.is_postgres:
            return [(row.id, row.events) for row in conn.execute(_SUBSCRIBERS, {"a": account_id})]
        # SQLite: plain tuples from the driver (see sqlite_connection).
        found = conn.exec_driver_sql(_SUBSCRIBERS_SQLITE, (account_id,)).fetchall()
        return [(webhook_id, names) for webhook_id, names in found]

    def insert_event(self, conn: Connection, values: dict[str, Any]) -> bool:
        """Insert an event unless its id is stored already; True when it was new."""
        statement = _INSERT_EVENT_PG if self.is_postgres else _INSERT_EVENT_SQLITE
        return conn.execute(statement, values).first() is not None

    def insert_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events (distinct ids) in one statement, skipping stored ids; the new ids.

        PostgreSQL reports the rows it inserted (``ON CONFLICT DO NOTHING
        RETURNING id``), so a concurrent publisher of the same id cannot make
        an event count as new twice. SQLite looks the ids up first and then
        inserts at the driver level: every transaction holds SQLite's one write
        lock from its ``BEGIN IMMEDIATE``, so no other writer can store one of
        the ids in between, and the driver's ``executemany`` skips SQLAlchemy's
        per-row parameter processing.
        """
        if not rows:
            return set()
        if self.is_postgres:
            # In id order, so that concurrent calls with shared ids lock them in one order.
            ordered = sorted(rows, key=lambda row: str(row["id"]))
            iso = _formatted_once(datetime.isoformat)
            values = [
                (
                    row["id"],
                    row["account_id"],
                    row["name"],
                    iso(row["timestamp"]),
                    row["realtime"],
                    row["payload"],
                    iso(row["created_at"]),
                )
                for row in ordered
            ]
            return set(conn.execute(_INSERT_EVENTS_PG, {"rows": _to_json(values)}).scalars())
        ids = [row["id"] for row in rows]
        stored_ids: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_LOOKUP):
            chunk = ids[start : start + _IDS_PER_LOOKUP]
            lookup = _STORED_EVENTS_SQLITE.format(", ".join("?" * len(chunk)))
            stored_ids.update(found for (found,) in conn.exec_driver_sql(lookup, tuple(chunk)))
        stored = _formatted_once(sqlite_text)
        fresh = [
            (
                row["id"],
                row["account_id"],
                row["name"],
                stored(row["timestamp"]),
                row["realtime"],
                row["payload"],
                stored(row["created_at"]),
            )
            for row in rows
            if row["id"] not in stored_ids
        ]
        if fresh:
            conn.exec_driver_sql(_INSERT_EVENTS_SQLITE, fresh)
        return {values[0] for values in fresh}

    def insert_deliveries(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert deliveries in one statement, in the given order (which ``seq`` keeps)."""
        if not rows:
            return
        if self.is_postgres:
            iso = _formatted_once(datetime.isoformat)
            values = [
                (
                    row["event_id"],
                    row["webhook_id"],
                    row["status"],
                    row["request_id"],
                    row["size"],
                    iso(row["created_at"]),
                    iso(row["due_at"]),
                    iso(row["updated_at"]),
                )
                for row in rows
            ]
            conn.execute(_INSERT_DELIVERIES_PG, {"rows": _to_json(values)})
            return
        # SQLite: plain tuples to the driver (see sqlite_connection); the rows share
        # their few datetimes, formatted once.
        stored = _formatted_once(sqlite_text)
        conn.exec_driver_sql(
            _INSERT_DELIVERIES_SQLITE,
            [
                (
                    row["event_id"],
                    row["webhook_id"],
                    row["status"],
                    row["request_id"],
                    row["size"],
                    stored(row["created_at"]),
                    stored(row["due_at"]),
                    stored(row["updated_at"]),
                )
                for row in rows
            ],
        )

    def list_events(self, account_id: int | None, limit: int) -> list[StoredEvent]:
        """The newest events (of one account) first."""
        query = select(events).order_by(events.c.created_at.desc(), events.c.id).limit(limit)
        if account_id is not None:
            query = query.where(events.c.account_id == account_id)
        with self.transaction() as conn:
            return [event_from_row(row) for row in conn.execute(query)]

    def get_event(self, event_id: str) -> StoredEvent | None:
        """One stored event, or ``None``."""
        with self.transaction() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).one_or_none()
        return event_from_row(row) if row is not None else None

    def list_deliveries(
        self, webhook_id: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[Delivery]:
        """The newest deliveries first, optionally of one webhook or in one status."""
        query = (
            select(*_DELIVERY_COLUMNS)
            .join(events, events.c.id == deliveries.c.event_id)
            .order_by(deliveries.c.seq.desc())
            .limit(limit)
        )
        if webhook_id is not None:
            query = query.where(deliveries.c.webhook_id == webhook_id)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        with self.transaction() as conn:
            return [delivery_from_row(row) for row in conn.execute(query)]

    def get_delivery(self, public_id: str) -> Delivery | None:
        """One delivery with every attempt of every request it travelled in."""
        seq = delivery_seq(public_id)
        if seq is None:
            return None
        with self.transaction() as conn:
            row = conn.execute(
                select(*_DELIVERY_COLUMNS)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(deliveries.c.seq == seq)
            ).one_or_none()
            if row is None:
                return None
            # Its current request, and the earlier ones a redelivery moved it out of.
            carried: ColumnElement[bool] = attempts.c.request_id.in_(
                select(request_deliveries.c.request_id).where(
                    request_deliveries.c.delivery_seq == seq
                )
            )
            if row.request_id is not None:
                carried = or_(carried, attempts.c.request_id == row.request_id)
            found = conn.execute(
                select(attempts, requests.c.event_ids)
                .join(requests, requests.c.id == attempts.c.request_id)
                .where(carried)
                .order_by(attempts.c.started_at, attempts.c.id)
            )
            history: tuple[Attempt, ...] = tuple(attempt_from_row(a) for a in found)
        return delivery_from_row(row, history)

    def delivery_counts(self, webhook_id: str | None) -> dict[str, int]:
        """How many deliveries are in each status (every status listed, zeros included)."""
        query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        if webhook_id is not None:
            query = query.where(deliveries.c.webhook_id == webhook_id)
        counts = {"pending": 0, "succeeded": 0, "failed": 0, "dead": 0}
        with self.transaction() as conn:
            for status, count in conn.execute(query):
                counts[status] = int(count)
        return counts

    def resend(
        self,
        *,
        delivery_ids: Sequence[str] | None = None,
        webhook_id: str | None = None,
        since: datetime | None = None,
        now: datetime,
    ) -> int:
        """Queue deliveries again; failed ones make their open request due now.

        Give ``delivery_ids`` (any status but pending), or ``webhook_id`` and
        ``since`` (its failed and dead deliveries created since then).
        Returns how many deliveries were queued or hurried.
        """
        if delivery_ids is not None:
            seqs = [seq for seq in map(delivery_seq, delivery_ids) if seq is not None]
            chosen = and_(deliveries.c.seq.in_(seqs), deliveries.c.status != "pending")
        else:
            chosen = and_(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status.in_(["failed", "dead"]),
                deliveries.c.created_at >= since,
            )
        with self.transaction() as conn:
            failing = select(deliveries.c.request_id).where(chosen, deliveries.c.status == "failed")
            conn.execute(
                update(requests)
                .where(requests.c.id.in_(failing), requests.c.status == "open")
                .values(next_attempt_at=now, updated_at=now)
            )
            hurried = conn.execute(
                select(func.count())
                .select_from(deliveries)
                .where(chosen, deliveries.c.status == "failed")
            ).scalar_one()
            # Keep the history: the request each re-queued delivery leaves.
            leaving = and_(chosen, deliveries.c.status != "failed")
            conn.execute(
                insert(request_deliveries).from_select(
                    ["request_id", "delivery_seq"],
                    select(deliveries.c.request_id, deliveries.c.seq).where(
                        leaving, deliveries.c.request_id.is_not(None)
                    ),
                )
            )
            queued = conn.execute(
                update(deliveries)
                .where(leaving)
                .values(status="pending", request_id=None, due_at=now, updated_at=now)
            ).rowcount
        return int(hurried) + int(queued)

    def purge(self, *, before: datetime) -> dict[str, int]:
        """Drop finished deliveries, requests, attempts and events older than ``before``."""
        finished = sql.FINISHED_REQUEST_STATUSES
        with self.transaction() as conn:
            attempt_count = conn.execute(
                delete(attempts).where(attempts.c.started_at < before)
            ).rowcount
            old_requests = select(requests.c.id).where(
                requests.c.status.in_(finished), requests.c.updated_at < before
            )
            conn.execute(
                delete(request_deliveries).where(request_deliveries.c.request_id.in_(old_requests))
            )
            request_count = conn.execute(
                delete(requests).where(
                    requests.c.status.in_(finished), requests.c.updated_at < before
                )
            ).rowcount
            delivery_count = conn.execute(
                delete(deliveries).where(
                    deliveries.c.status.in_(finished), deliveries.c.updated_at < before
                )
            ).rowcount
            still_needed = exists().where(deliveries.c.event_id == events.c.id)
            event_count = conn.execute(
                delete(events).where(events.c.created_at < before, ~still_needed)
            ).rowcount
        return {
            "events": int(event_count),
            "deliveries": int(delivery_count),
            "requests": int(request_count),
            "attempts": int(attempt_count),
        }
