"""Store queries of the dispatcher: claim work under a lease (``store_results``
records what happened, in the same transaction).

``FOR UPDATE SKIP LOCKED`` lives here and only here. A claim picks webhooks
that have work due and no live lease, leases them to one dispatcher, and
returns one :class:`~hookwire.sender.work.Job` per webhook: the webhook's open
request when it is due for a retry, or a new request made of its oldest due
deliveries. A webhook with an open request gets no new one, which is what
keeps events in order across retries.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from . import store_dispatch_sql as sql
from .rows import new_id
from .schema import (
    deliveries,
    requests,
    sqlite_text,
    stored_time,
    utc_iso,
    webhooks,
)
from .store_base import sqlite_connection
from .store_results import ResultQueries
from .work import Job, Outcome, request_body

__all__ = ["DispatchQueries"]

log = logging.getLogger("hookwire.sender")

REQUEST_CHARS_PER_STATEMENT = 48 * 2**20
"""PostgreSQL: new requests go in statements of at most this many characters of JSON.

A jsonb value holds at most 256 MiB, and a turn's requests can be larger
(``concurrency`` x ``max_batch_bytes``); 48 Mi characters stay under it even
at four bytes a character."""


class DispatchQueries(ResultQueries):
    """Claim due work with a lease, after applying the outcomes of a turn's attempts."""

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        max_batch: int,
        max_batch_bytes: int,
        outcomes: Sequence[Outcome] = (),
        expire_before: datetime | None = None,
    ) -> list[Job]:
        """Apply ``outcomes``, then lease up to ``limit`` webhooks with due work to ``owner``.

        Queued deliveries queued at or before ``expire_before`` (the retry policy's
        ``max_age`` ago) are dead instead of sent: events that old are lost.

        Both happen in one transaction (one commit per dispatcher turn), and a
        webhook whose request just finished can be claimed again at once.
        """
        expired: list[tuple[int, list[str]]] = []
        with self._turn() as conn:
            if outcomes:
                self._complete(conn, outcomes, owner=owner, now=now)
            if limit <= 0:
                return []
            rows = self._lease_due(conn, owner=owner, now=now, lease=lease, limit=limit)
            if not rows:
                return []
            retried = [row.id for row in rows if row.open_request is not None]
            open_requests: dict[str, sql.Request] = {}
            if retried:
                open_requests = {
                    row.webhook_id: (
                        row.id,
                        row.body,
                        tuple(json.loads(row.event_ids)),
                        row.attempts,
                        row.oldest_event_at,
                        [],
                    )
                    for row in conn.execute(sql.OPEN_REQUESTS, {"ids": retried})
                }
            if open_requests:
                found = self._members(conn, {r[0]: (w, r[2]) for w, r in open_requests.items()})
                for retry in open_requests.values():
                    retry[5].extend(found[retry[0]])
            fresh = [row for row in rows if row.id not in open_requests]
            if fresh:
                made = self._new_requests(
                    conn,
                    fresh,
                    now,
                    max_batch,
                    max_batch_bytes,
                    expire_before=expire_before,
                    expired=expired,
                )
                open_requests.update(made)
            idle = [row.id for row in rows if row.id not in open_requests]
            if idle:
                # Leased, but nothing left to send (its queue expired): free it at once.
                self._release(conn, idle, owner=owner, now=now)
        for killed, stale in expired:  # said once the turn has committed
            log.warning(
                "%d queued deliveries died unsent, queued at or before %s (max_age ago), "
                "webhooks %s",
                killed,
                expire_before.isoformat(timespec="seconds") if expire_before else "?",
                ", ".join(sorted(stale)),
            )
        return [
            Job(
                webhook_id=row.id,
                account_id=row.account_id,
                target_url=row.target_url,
                auth=row.auth,
                request_id=request[0],
                body=request[1].encode(),
                event_ids=request[2],
                attempts=request[3],
                oldest_event_at=request[4],
                delivery_seqs=tuple(request[5]),
                failing_since=row.failing_since,
                basic_username=row.basic_username,
                basic_password=row.basic_password,
                secrets=sql.secrets_of(row),
            )
            for row in rows
            if (request := open_requests.get(row.id)) is not None
        ]

    @contextmanager
    def _turn(self) -> Iterator[Connection]:
        """A transaction whose driver-level SQLite statements fail as SQLAlchemy errors.

        A dispatcher turn runs its SQLite statements on the driver's own
        connection (see ``sqlite_connection``); its errors still reach the
        dispatcher as the ``SQLAlchemyError`` it retries on.
        """
        try:
            with self.transaction() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _lease_due(
        self, conn: Connection, *, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> Sequence[Any]:
        """Up to ``limit`` due webhooks (as :class:`~.store_dispatch_sql.DueWebhook`), leased."""
        until = now + lease
        if self.is_postgres:
            params = {"now": now, "limit": limit, "owner": owner, "until": until}
            return conn.execute(sql.LEASE_DUE_PG, params).all()
        driver = sqlite_connection(conn)
        params = {**sql.DUE_SQLITE_PARAMS, "now": sqlite_text(now), "limit": limit}
        found = [_due_from_sqlite(row) for row in driver.execute(sql.DUE_SQLITE, params)]
        if found:
            leased = json.dumps([row.id for row in found])
            driver.execute(sql.LEASE_SQLITE, (owner, sqlite_text(until), leased))
        return found

    def _members(
        self, conn: Connection, carried: dict[str, tuple[str, Sequence[str]]]
    ) -> dict[str, list[int]]:
        """The delivery seqs, in order, of each request (given as id -> webhook id, event ids).

        A request's deliveries are its webhook's deliveries of its events (one per
        event and webhook), found through the indexed event ids: a delivery points
        at its request only once the request's first attempt has finished.
        """
        members: dict[str, list[int]] = {request_id: [] for request_id in carried}
        if carried:
            wanted = {
                (webhook_id, event_id): request_id
                for request_id, (webhook_id, event_ids) in carried.items()
                for event_id in event_ids
            }
            params = {
                "events": [e for _, found in carried.values() for e in found],
                "webhooks": [webhook_id for webhook_id, _ in carried.values()],
            }
            for seq, event_id, webhook_id in conn.execute(sql.MEMBERS, params):
                request_id = wanted.get((webhook_id, event_id))
                if request_id is not None:
                    members[request_id].append(seq)
        for seqs in members.values():
            seqs.sort()
        return members

    def expire(self, *, before: datetime, now: datetime) -> int:
        """Declare dead the unfinished work older than ``before`` of webhooks no dispatcher holds.

        An open request whose oldest delivery was queued at or before ``before``
        dies with every delivery it carries, and so does a queued delivery queued
        then (a redeliver or recover queues a delivery anew). Returns how many
        deliveries died. The dispatcher applies the same age limit when an attempt
        fails and when it reaches a queued delivery; this catches what no
        dispatcher reaches (a retired webhook's queue).
        """
        idle = select(webhooks.c.id).where(
            or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until <= now)
        )
        if self.is_postgres:
            # The claim's lock: no dispatcher takes these webhooks until this commits.
            idle = idle.with_for_update(skip_locked=True, key_share=True)
        dead = {"status": "dead", "updated_at": now}
        with self.transaction() as conn:
            held = [row.id for row in conn.execute(idle)]
            if not held:
                return 0
            old = {
                row.id: (row.webhook_id, json.loads(row.event_ids))
                for row in conn.execute(
                    select(requests.c.id, requests.c.webhook_id, requests.c.event_ids).where(
                        requests.c.webhook_id.in_(held),
                        requests.c.status == sql.OPEN,
                        requests.c.oldest_event_at <= before,
                    )
                )
            }
            count = 0
            if old:
                conn.execute(update(requests).where(requests.c.id.in_(list(old))).values(**dead))
                # Each dies pointing at the request that carried it (its attempt history).
                for request_id, carried in self._members(conn, old).items():
                    count += conn.execute(
                        update(deliveries)
                        .where(
                            deliveries.c.seq.in_(carried),
                            deliveries.c.status.in_(["pending", "failed"]),
                        )
                        .values(request_id=request_id, **dead)
                    ).rowcount
            count += self._kill_queued(conn, held, before=before, now=now)
        return int(count)

    def _kill_queued(
        self, conn: Connection, webhook_ids: list[str], *, before: datetime, now: datetime
    ) -> int:
        """Declare dead the queued deliveries of these webhooks queued at or before ``before``."""
        killed = conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id.in_(webhook_ids),
                deliveries.c.status == "pending",
                deliveries.c.request_id.is_(None),
                deliveries.c.due_at <= before,
            )
            .values(status="dead", updated_at=now)
        )
        return int(killed.rowcount)

    def _new_requests(
        self,
        conn: Connection,
        fresh: Sequence[Any],
        now: datetime,
        max_batch: int,
        max_batch_bytes: int,
        *,
        expire_before: datetime | None,
        expired: list[tuple[int, list[str]]],
    ) -> dict[str, sql.Request]:
        """Group each webhook's oldest due deliveries into a new request.

        Deliveries queued at or before ``expire_before`` die instead (noted in
        ``expired``: how many, which webhooks).
        """
        queued: dict[str, list[Sequence[Any]]] = {}
        for each in self._queued(conn, [row.id for row in fresh], now, max_batch):
            queued.setdefault(each[2], []).append(each)
        if expire_before is not None:
            queued = self._expire_queued(
                conn, queued, before=expire_before, now=now, max_batch=max_batch, expired=expired
            )
        made: dict[str, sql.Request] = {}
        for row in fresh:
            chosen: list[Sequence[Any]] = []
            total = 0
            for item in sorted(queued.get(row.id, ()), key=itemgetter(0)):
                if chosen and total + item[3] > max_batch_bytes:
                    break
                chosen.append(item)
                total += item[3]
            if not chosen:
                continue
            body = request_body(row.account_id, [item[5] for item in chosen])
            event_ids = tuple([item[1] for item in chosen])
            oldest = stored_time(min(item[4] for item in chosen))
            made[row.id] = (new_id("msg"), body, event_ids, 0, oldest, [i[0] for i in chosen])
        if made:
            self._insert_requests(conn, made, now)
        return made

    def _queued(
        self, conn: Connection, ids: list[str], now: datetime, max_batch: int
    ) -> Sequence[Sequence[Any]]:
        """Up to ``max_batch`` oldest due queued deliveries of each webhook of ``ids``,
        as (seq, event_id, webhook_id, size, due_at, payload).

        A delivery's age counts from ``due_at``, when it was queued: its publish (a
        batch event's flush), or a redeliver or recover, which queue it anew.
        """
        if self.is_postgres:
            params = {"now": now, "max_batch": max_batch, "ids": json.dumps(ids)}
            return conn.execute(sql.QUEUED_LATERAL, params).all()
        # Plain tuples from the driver; a request's oldest creation time is parsed once.
        params = {"now": sqlite_text(now), "max_batch": max_batch, "ids": json.dumps(ids)}
        return sqlite_connection(conn).execute(sql.QUEUED_SQLITE, params).fetchall()

    def _expire_queued(
        self,
        conn: Connection,
        queued: dict[str, list[Sequence[Any]]],
        *,
        before: datetime,
        now: datetime,
        max_batch: int,
        expired: list[tuple[int, list[str]]],
    ) -> dict[str, list[Sequence[Any]]]:
        """Kill the queued deliveries queued at or before ``before`` of the webhooks whose
        oldest queued item is that old, and read those webhooks' queues again."""
        # Stored values compare as they are: SQLite's text sorts as the time it spells.
        cutoff: Any = before if self.is_postgres else sqlite_text(before)
        stale = [
            webhook_id
            for webhook_id, items in queued.items()
            if min(item[4] for item in items) <= cutoff
        ]
        if not stale:
            return queued
        expired.append((self._kill_queued(conn, stale, before=before, now=now), stale))
        fresh = {k: v for k, v in queued.items() if k not in stale}
        for each in self._queued(conn, stale, now, max_batch):
            fresh.setdefault(each[2], []).append(each)
        return fresh

    def _insert_requests(
        self, conn: Connection, made: dict[str, sql.Request], now: datetime
    ) -> None:
        """Store new requests (their deliveries point at them once an attempt finishes)."""
        if self.is_postgres:
            rows = [
                (request_id, webhook_id, body, json.dumps(event_ids), utc_iso(oldest))
                for webhook_id, (request_id, body, event_ids, _, oldest, _) in made.items()
            ]
            for chunk in _by_size(rows, REQUEST_CHARS_PER_STATEMENT):
                params = {"now": now, "requests": json.dumps(chunk, ensure_ascii=False)}
                conn.execute(sql.INSERT_REQUESTS_PG, params)
            return
        # SQLite: plain tuples to the driver (see sqlite_connection).
        stamp = sqlite_text(now)
        sqlite_connection(conn).executemany(
            sql.INSERT_REQUESTS_SQLITE,
            [
                (request_id, webhook_id, body, json.dumps(event_ids), stamp, sqlite_text(oldest))
                for webhook_id, (request_id, body, event_ids, _, oldest, _) in made.items()
            ],
        )


def _by_size(
    rows: list[tuple[str, str, str, str, str]], limit: int
) -> Iterator[list[tuple[str, str, str, str, str]]]:
    """``rows`` in order, in runs of at most about ``limit`` characters (at least one row)."""
    run: list[tuple[str, str, str, str, str]] = []
    size = 0
    for row in rows:
        length = sum(map(len, row)) + 16
        if run and size + length > limit:
            yield run
            run, size = [], 0
        run.append(row)
        size += length
    if run:
        yield run


def _due_from_sqlite(row: Sequence[Any]) -> sql.DueWebhook:
    """A due webhook read from SQLite, where ``failing_since`` is stored text."""
    due = sql.DueWebhook._make(row)
    if due.failing_since is None:
        return due
    return due._replace(failing_since=stored_time(due.failing_since))
