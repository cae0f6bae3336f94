"""The outbox: events and their deliveries; the delivery log: listing, resending, purging."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.sql import ColumnElement

from ..models import Attempt, Delivery, DeliveryStatus, StoredEvent
from ..rows import attempt_from_row, delivery_from_row, delivery_seq, event_from_row
from ..schema import (
    attempts,
    deliveries,
    events,
    request_deliveries,
    requests,
    sqlite_text,
)
from . import sql_common as common
from . import sql_postgres as pg
from . import sql_sqlite as lite
from .runner import Database

__all__ = ["Outbox"]

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
_IDS_PER_LOOKUP = 500  # bound parameters per statement: far below any SQLite's limit
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _formatted_once(form: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """``form`` formatting each distinct datetime once: the rows of a call share a few."""
    texts: dict[datetime, str] = {}

    def formatted(moment: datetime) -> str:
        found = texts.get(moment)
        if found is None:
            found = texts[moment] = form(moment)
        return found

    return formatted


class Outbox:
    """Store events and fan them out; list, resend and purge deliveries.

    Publishing is a hot path: its statements are prebuilt (``sql_sqlite``,
    ``sql_postgres``), and SQLite's run as SQL text with plain tuples.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        # PostgreSQL: the schema named in the wake notification, read at the first insert.
        self._schema: str | None = None

    def subscribers(self, conn: Connection, account_id: int) -> list[tuple[str, str]]:
        """The account's active webhooks as ``(id, events JSON)`` pairs."""
        if self._db.is_postgres:
            found = self._db.run(conn, pg.SUBSCRIBERS, {"a": account_id})
        else:
            found = self._db.run(conn, lite.SUBSCRIBERS, (account_id,))
        return [(webhook_id, names) for webhook_id, names in found]

    def insert_event(self, conn: Connection, values: dict[str, Any]) -> bool:
        """Insert an event unless its id is stored already; True when it was new."""
        statement = pg.INSERT_EVENT if self._db.is_postgres else lite.INSERT_EVENT
        return self._db.run(conn, statement, values).first() is not None

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
        if self._db.is_postgres:
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
                    row.get("trace_context"),
                )
                for row in ordered
            ]
            return set(self._db.run(conn, pg.INSERT_EVENTS, {"rows": _to_json(values)}).scalars())
        ids = [row["id"] for row in rows]
        stored_ids: set[str] = set()
        for start in range(0, len(ids), _IDS_PER_LOOKUP):
            chunk = ids[start : start + _IDS_PER_LOOKUP]
            lookup = lite.STORED_EVENTS.format(", ".join("?" * len(chunk)))
            stored_ids.update(self._db.run(conn, lookup, tuple(chunk)).scalars())
        stored = _formatted_once(sqlite_text)
        fresh_ids = [row["id"] for row in rows if row["id"] not in stored_ids]
        fresh = [
            (
                row["id"],
                row["account_id"],
                row["name"],
                stored(row["timestamp"]),
                row["realtime"],
                row["payload"],
                stored(row["created_at"]),
                row.get("trace_context"),
            )
            for row in rows
            if row["id"] not in stored_ids
        ]
        if fresh:
            self._db.run(conn, lite.INSERT_EVENTS, fresh)
        return set(fresh_ids)

    def insert_deliveries(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert deliveries in one statement, in the given order (which ``seq`` keeps)."""
        if not rows:
            return
        if self._db.is_postgres:
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
            if self._schema is None:
                self._schema = str(self._db.run(conn, pg.STORE_SCHEMA).scalar_one())
            self._db.run(
                conn, pg.INSERT_DELIVERIES, {"rows": _to_json(values), "schema": self._schema}
            )
            return
        # SQLite: plain tuples; the rows share their few datetimes, formatted once.
        stored = _formatted_once(sqlite_text)
        self._db.run(
            conn,
            lite.INSERT_DELIVERIES,
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
        with self._db.transaction() as conn:
            return [event_from_row(row) for row in self._db.run(conn, query)]

    def get_event(self, event_id: str) -> StoredEvent | None:
        """One stored event, or ``None``."""
        with self._db.transaction() as conn:
            row = self._db.run(conn, select(events).where(events.c.id == event_id)).one_or_none()
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
        with self._db.transaction() as conn:
            return [delivery_from_row(row) for row in self._db.run(conn, query)]

    def get_delivery(self, public_id: str) -> Delivery | None:
        """One delivery with every attempt of every request it travelled in."""
        seq = delivery_seq(public_id)
        if seq is None:
            return None
        with self._db.transaction() as conn:
            row = self._db.run(
                conn,
                select(*_DELIVERY_COLUMNS)
                .join(events, events.c.id == deliveries.c.event_id)
                .where(deliveries.c.seq == seq),
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
            found = self._db.run(
                conn,
                select(attempts, requests.c.event_ids)
                .join(requests, requests.c.id == attempts.c.request_id)
                .where(carried)
                .order_by(attempts.c.started_at, attempts.c.id),
            )
            history: tuple[Attempt, ...] = tuple(attempt_from_row(a) for a in found)
        return delivery_from_row(row, history)

    def delivery_counts(self, webhook_id: str | None) -> dict[str, int]:
        """How many deliveries are in each status (every status listed, zeros included)."""
        query = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        if webhook_id is not None:
            query = query.where(deliveries.c.webhook_id == webhook_id)
        counts = {"pending": 0, "succeeded": 0, "failed": 0, "dead": 0}
        with self._db.transaction() as conn:
            for status, count in self._db.run(conn, query):
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
        with self._db.transaction() as conn:
            failing = select(deliveries.c.request_id).where(chosen, deliveries.c.status == "failed")
            self._db.run(
                conn,
                update(requests)
                .where(requests.c.id.in_(failing), requests.c.status == "open")
                .values(next_attempt_at=now, updated_at=now),
            )
            hurried = self._db.run(
                conn,
                select(func.count())
                .select_from(deliveries)
                .where(chosen, deliveries.c.status == "failed"),
            ).scalar_one()
            # Keep the history: the request each re-queued delivery leaves.
            leaving = and_(chosen, deliveries.c.status != "failed")
            self._db.run(
                conn,
                insert(request_deliveries).from_select(
                    ["request_id", "delivery_seq"],
                    select(deliveries.c.request_id, deliveries.c.seq).where(
                        leaving, deliveries.c.request_id.is_not(None)
                    ),
                ),
            )
            queued = self._db.run(
                conn,
                update(deliveries)
                .where(leaving)
                .values(status="pending", request_id=None, due_at=now, updated_at=now),
            ).rowcount
        return int(hurried) + int(queued)

    def purge(self, *, before: datetime) -> dict[str, int]:
        """Drop finished deliveries, requests, attempts and events older than ``before``."""
        finished = common.FINISHED_REQUEST_STATUSES
        with self._db.transaction() as conn:
            attempt_count = self._db.run(
                conn, delete(attempts).where(attempts.c.started_at < before)
            ).rowcount
            old_requests = select(requests.c.id).where(
                requests.c.status.in_(finished), requests.c.updated_at < before
            )
            self._db.run(
                conn,
                delete(request_deliveries).where(request_deliveries.c.request_id.in_(old_requests)),
            )
            request_count = self._db.run(
                conn,
                delete(requests).where(
                    requests.c.status.in_(finished), requests.c.updated_at < before
                ),
            ).rowcount
            delivery_count = self._db.run(
                conn,
                delete(deliveries).where(
                    deliveries.c.status.in_(finished), deliveries.c.updated_at < before
                ),
            ).rowcount
            still_needed = exists().where(deliveries.c.event_id == events.c.id)
            event_count = self._db.run(
                conn, delete(events).where(events.c.created_at < before, ~still_needed)
            ).rowcount
        return {
            "events": int(event_count),
            "deliveries": int(delivery_count),
            "requests": int(request_count),
            "attempts": int(attempt_count),
        }
