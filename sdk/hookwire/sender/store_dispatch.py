"""Store queries of the dispatcher: claim work under a lease, record what happened.

``FOR UPDATE SKIP LOCKED`` lives here and only here. A claim picks webhooks
that have work due and no live lease, leases them to one dispatcher, and
returns one :class:`~hookwire.sender.work.Job` per webhook: the webhook's open
request when it is due for a retry, or a new request made of its oldest due
deliveries. A webhook with an open request gets no new one, which is what
keeps events in order across retries.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    Connection,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from . import store_dispatch_sql as sql
from .rows import new_id
from .schema import (
    attempts,
    deliveries,
    requests,
    sqlite_text,
    stored_time,
    webhooks,
)
from .store_registry import RegistryQueries
from .work import Job, Outcome

__all__ = ["DispatchQueries"]


class DispatchQueries(RegistryQueries):
    """Claim due work with a lease; apply the outcome of each attempt."""

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
    ) -> list[Job]:
        """Apply ``outcomes``, then lease up to ``limit`` webhooks with due work to ``owner``.

        Both happen in one transaction (one commit per dispatcher turn), and a
        webhook whose request just finished can be claimed again at once.
        """
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
                found = self._members(conn, {r[0]: r[2] for r in open_requests.values()})
                for retry in open_requests.values():
                    retry[5].extend(found[retry[0]])
            fresh = [row for row in rows if row.id not in open_requests]
            if fresh:
                open_requests.update(
                    self._new_requests(conn, fresh, now, max_batch, max_batch_bytes)
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
        connection (SQLAlchemy's per-statement work cost more than SQLite's); its
        errors still reach the dispatcher as the ``SQLAlchemyError`` it retries on.
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
        driver = _driver(conn)
        params = {**sql.DUE_SQLITE_PARAMS, "now": sqlite_text(now), "limit": limit}
        found = [_due_from_sqlite(row) for row in driver.execute(sql.DUE_SQLITE, params)]
        if found:
            leased = json.dumps([row.id for row in found])
            driver.execute(sql.LEASE_SQLITE, (owner, sqlite_text(until), leased))
        return found

    def _members(
        self, conn: Connection, event_ids: dict[str, Sequence[str]]
    ) -> dict[str, list[int]]:
        """The delivery seqs, in order, of each request (given as id -> its event ids).

        A request's deliveries are its events' deliveries that point back at it,
        found through the indexed event ids (``request_id`` has no index of its own).
        """
        members: dict[str, list[int]] = {request_id: [] for request_id in event_ids}
        if event_ids:
            params = {
                "events": [e for found in event_ids.values() for e in found],
                "ids": list(event_ids),
            }
            for seq, request_id in conn.execute(sql.MEMBERS, params):
                members[request_id].append(seq)
        for seqs in members.values():
            seqs.sort()
        return members

    def expire(self, *, before: datetime, now: datetime) -> int:
        """Declare dead the unfinished work older than ``before`` of webhooks no dispatcher holds.

        An open request whose oldest event is older dies with every delivery it
        carries; a queued delivery created before ``before`` dies. Returns how many
        deliveries died. The dispatcher applies the same age limit when an attempt
        fails; this catches what no attempt reaches (a retired webhook's queue, or
        work left while no dispatcher ran).
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
                row.id: json.loads(row.event_ids)
                for row in conn.execute(
                    select(requests.c.id, requests.c.event_ids).where(
                        requests.c.webhook_id.in_(held),
                        requests.c.status == sql.OPEN,
                        requests.c.oldest_event_at < before,
                    )
                )
            }
            count = 0
            if old:
                conn.execute(update(requests).where(requests.c.id.in_(list(old))).values(**dead))
                carried = [seq for seqs in self._members(conn, old).values() for seq in seqs]
                count += conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.seq.in_(carried),
                        deliveries.c.status.in_(["pending", "failed"]),
                    )
                    .values(**dead)
                ).rowcount
            count += conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.webhook_id.in_(held),
                    deliveries.c.status == "pending",
                    deliveries.c.request_id.is_(None),
                    deliveries.c.created_at < before,
                )
                .values(**dead)
            ).rowcount
        return int(count)

    def _new_requests(
        self,
        conn: Connection,
        fresh: Sequence[Any],
        now: datetime,
        max_batch: int,
        max_batch_bytes: int,
    ) -> dict[str, sql.Request]:
        """Group each webhook's oldest due deliveries into a new request."""
        ids = [row.id for row in fresh]
        found: Sequence[Sequence[Any]]
        if self.is_postgres:
            params = {"now": now, "max_batch": max_batch, "ids": json.dumps(ids)}
            found = conn.execute(sql.QUEUED_LATERAL, params).all()
        else:
            # Plain tuples from the driver; the oldest creation time is parsed once below.
            params = {"now": sqlite_text(now), "max_batch": max_batch, "ids": json.dumps(ids)}
            found = _driver(conn).execute(sql.QUEUED_SQLITE, params).fetchall()
        # Each item: (seq, event_id, webhook_id, size, created_at, payload).
        queued: dict[str, list[Sequence[Any]]] = {}
        for each in found:
            queued.setdefault(each[2], []).append(each)
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
            payloads = ",".join([item[5] for item in chosen])
            body = f'{{"accountId":{int(row.account_id)},"events":[{payloads}]}}'
            event_ids = tuple([item[1] for item in chosen])
            oldest = stored_time(min(item[4] for item in chosen))
            made[row.id] = (new_id("msg"), body, event_ids, 0, oldest, [i[0] for i in chosen])
        if made:
            self._insert_requests(conn, made, now)
        return made

    def _insert_requests(
        self, conn: Connection, made: dict[str, sql.Request], now: datetime
    ) -> None:
        """Store new requests, and point their deliveries at them."""
        if self.is_postgres:
            rows = [
                (request_id, webhook_id, body, json.dumps(event_ids), oldest.isoformat())
                for webhook_id, (request_id, body, event_ids, _, oldest, _) in made.items()
            ]
            assigned = [(seq, request[0]) for request in made.values() for seq in request[5]]
            params = {
                "now": now,
                "requests": json.dumps(rows),
                "assigned": json.dumps(assigned),
                "n": len(assigned),
            }
            conn.execute(sql.INSERT_REQUESTS_PG, params)
            return
        # SQLite: plain tuples to the driver; SQLAlchemy's per-row processing cost more.
        stamp = sqlite_text(now)
        driver = _driver(conn)
        driver.executemany(
            sql.INSERT_REQUESTS_SQLITE,
            [
                (request_id, webhook_id, body, json.dumps(event_ids), stamp, sqlite_text(oldest))
                for webhook_id, (request_id, body, event_ids, _, oldest, _) in made.items()
            ],
        )
        # One writer at a time on SQLite (BEGIN IMMEDIATE): the queued, due deliveries of a
        # webhook between a request's first and last seq are exactly the ones it carries.
        driver.executemany(
            sql.ASSIGN_SQLITE,
            [
                (request_id, webhook_id, seqs[0], seqs[-1], stamp)
                for webhook_id, (request_id, _, _, _, _, seqs) in made.items()
            ],
        )

    def _complete(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        if self.is_postgres:
            self._complete_pg(conn, outcomes, owner=owner, now=now)
        else:
            self._complete_sqlite(conn, outcomes, owner=owner, now=now)
        for outcome in outcomes:
            if outcome.verdict == "disable":
                self._disable(conn, outcome, now)

    def _complete_pg(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        # One statement over JSON rows: a round trip per table (or per row) costs more.
        rows = [
            (
                o.attempt_id,
                o.job.request_id,
                o.job.webhook_id,
                o.started_at.isoformat(),
                o.status_code,
                o.latency_ms,
                o.error,
                o.response_body,
                sql.REQUEST_STATUS[o.verdict],
                None if o.next_attempt_at is None else o.next_attempt_at.isoformat(),
                o.verdict == "succeeded",
            )
            for o in outcomes
        ]
        statuses = [
            (seq, sql.DELIVERY_STATUS[o.verdict]) for o in outcomes for seq in o.job.delivery_seqs
        ]
        params = {
            "now": now,
            "owner": owner,
            "outcomes": json.dumps(rows),
            "deliveries": json.dumps(statuses),
            "n": len(rows),
            "m": len(statuses),
        }
        conn.execute(sql.COMPLETE_PG, params)

    def _complete_sqlite(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        # Plain tuples to the driver, and one JSON array per UPDATE: one statement per
        # table, without SQLAlchemy's per-row parameter processing.
        stamp = sqlite_text(now)
        started = [sqlite_text(o.started_at) for o in outcomes]
        driver = _driver(conn)
        driver.executemany(
            sql.INSERT_ATTEMPTS_SQLITE,
            [
                (
                    o.attempt_id,
                    o.job.request_id,
                    o.job.webhook_id,
                    at,
                    o.status_code,
                    o.latency_ms,
                    o.error,
                    o.response_body,
                )
                for o, at in zip(outcomes, started, strict=True)
            ],
        )
        finished = [
            (
                o.job.request_id,
                sql.REQUEST_STATUS[o.verdict],
                stamp if o.next_attempt_at is None else sqlite_text(o.next_attempt_at),
                o.job.webhook_id,
                o.verdict == "succeeded",
                at,
            )
            for o, at in zip(outcomes, started, strict=True)
        ]
        params = {"rows": json.dumps(finished), "now": stamp, "owner": owner}
        driver.execute(sql.FINISH_REQUESTS_SQLITE, params)
        driver.executemany(
            sql.FINISH_DELIVERIES_SQLITE,
            [
                (
                    sql.DELIVERY_STATUS[o.verdict],
                    stamp,
                    o.job.webhook_id,
                    min(o.job.delivery_seqs),
                    max(o.job.delivery_seqs),
                    o.job.request_id,
                )
                for o in outcomes
                if o.job.delivery_seqs
            ],
        )
        driver.execute(sql.RELEASE_SQLITE, params)

    def _disable(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        """Switch a webhook off: nothing more goes to it until someone activates it."""
        webhook_id = outcome.job.webhook_id
        conn.execute(
            update(requests)
            .where(requests.c.webhook_id == webhook_id, requests.c.status == sql.OPEN)
            .values(status="dead", updated_at=now)
        )
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status.in_(["pending", "failed"]),
            )
            .values(status="dead", updated_at=now)
        )
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(active=False, disabled_reason=outcome.disabled_reason, updated_at=now)
        )

    def release(self, webhook_ids: Sequence[str], *, owner: str, now: datetime) -> None:
        """Give up the leases of ``owner`` on these webhooks (their requests stay open)."""
        if not webhook_ids:
            return
        with self.transaction() as conn:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_(list(webhook_ids)), webhooks.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=now)
            )

    def record_attempt(self, outcome: Outcome) -> None:
        """Store a lone attempt (a test delivery) with a request row of its own."""
        job = outcome.job
        with self.transaction() as conn:
            conn.execute(
                insert(requests).values(
                    id=job.request_id,
                    webhook_id=job.webhook_id,
                    status="succeeded" if outcome.verdict == "succeeded" else "dead",
                    body=job.body.decode(),
                    event_ids=json.dumps(list(job.event_ids)),
                    attempts=1,
                    next_attempt_at=outcome.started_at,
                    oldest_event_at=outcome.started_at,
                    created_at=outcome.started_at,
                    updated_at=outcome.started_at,
                )
            )
            conn.execute(
                insert(attempts).values(
                    id=outcome.attempt_id,
                    request_id=job.request_id,
                    webhook_id=job.webhook_id,
                    started_at=outcome.started_at,
                    status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms,
                    error=outcome.error,
                    response_body=outcome.response_body,
                )
            )


def _driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn``, in ``conn``'s transaction."""
    return cast(sqlite3.Connection, conn.connection.driver_connection)


def _due_from_sqlite(row: Sequence[Any]) -> sql.DueWebhook:
    """A due webhook read from SQLite, where ``failing_since`` is stored text."""
    due = sql.DueWebhook._make(row)
    if due.failing_since is None:
        return due
    return due._replace(failing_since=stored_time(due.failing_since))
