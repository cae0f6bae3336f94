"""The claim: lease webhooks with due work, and hand each a job (``results`` records
what the last turn's attempts did, in the same transaction).

A claim picks webhooks that have work due and no live lease, leases them to one
dispatcher, and returns one :class:`~hookwire.sender.work.Job` per webhook: the
webhook's open request when it is due for a retry, or a new request made of its
oldest due deliveries. A webhook with an open request gets no new one, which is
what keeps events in order across retries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import Connection

from ..operator import OperatorTurn
from ..rows import DueWebhook, Queued, Request, new_id
from ..schema import sqlite_text, stored_time, utc_iso
from ..work import Job, Outcome, request_body
from . import sql_common as common
from . import sql_postgres as pg
from . import sql_sqlite as lite
from .results import Results
from .runner import Database
from .transitions import Expiry

__all__ = ["Dispatch", "secrets_of"]

log = logging.getLogger("hookwire.sender")

REQUEST_CHARS_PER_STATEMENT = 48 * 2**20
"""PostgreSQL: new requests go in statements of at most this many characters of JSON.

A jsonb value holds at most 256 MiB, and a turn's requests can be larger
(``concurrency`` x ``max_batch_bytes``); 48 Mi characters stay under it even
at four bytes a character."""

Expired = dict[str, Expiry]
"""The queued deliveries a turn killed as too old, by webhook."""


class Dispatch:
    """Claim due work with a lease, after applying the outcomes of a turn's attempts."""

    def __init__(self, db: Database, results: Results) -> None:
        self._db = db
        self._results = results

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
        operator: OperatorTurn | None = None,
    ) -> list[Job]:
        """Apply ``outcomes``, then lease up to ``limit`` webhooks with due work to ``owner``.

        Queued deliveries queued at or before ``expire_before`` (the retry policy's
        ``max_age`` ago) are dead instead of sent: events that old are lost, and with
        ``operator`` each webhook's loss is a ``DELIVERIES_EXPIRED`` operator event.

        Both happen in one transaction (one commit per dispatcher turn), and a
        webhook whose request just finished can be claimed again at once.
        """
        expired: Expired = {}
        with self._db.transaction() as conn:
            if outcomes:
                self._results.finish(conn, outcomes, owner=owner, now=now, operator=operator)
            if limit <= 0:
                return []
            rows = self._lease_due(conn, owner=owner, now=now, lease=lease, limit=limit)
            if not rows:
                return []
            requests = self._open_requests(conn, rows)
            fresh = [row for row in rows if row.id not in requests]
            if fresh:
                made = self._new_requests(
                    conn,
                    fresh,
                    now,
                    max_batch=max_batch,
                    max_batch_bytes=max_batch_bytes,
                    expire_before=expire_before,
                    expired=expired,
                )
                requests.update(made)
            self._results.expired_events(conn, expired, operator, now=now)
            idle = [row.id for row in rows if row.id not in requests]
            if idle:
                # Leased, but nothing left to send (its queue expired): free it at once.
                self._results.release_in(conn, idle, owner=owner, now=now)
        _warn_expired(expired, expire_before)  # once the turn has committed
        return [_job(row, found) for row in rows if (found := requests.get(row.id)) is not None]

    def _lease_due(
        self, conn: Connection, *, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[DueWebhook]:
        """Up to ``limit`` due webhooks, leased to ``owner``."""
        db, until = self._db, now + lease
        if db.is_postgres:
            params = {"now": now, "limit": limit, "owner": owner, "until": until}
            return list(map(DueWebhook._make, db.run(conn, pg.LEASE_DUE, params)))
        params = {**lite.DUE_PARAMS, "now": sqlite_text(now), "limit": limit}
        found = [_due_from_sqlite(row) for row in db.rows(conn, lite.DUE, params)]
        if found:
            leased = json.dumps([row.id for row in found])
            db.write(conn, lite.LEASE, {"owner": owner, "until": sqlite_text(until), "ids": leased})
        return found

    def _open_requests(self, conn: Connection, rows: Sequence[DueWebhook]) -> dict[str, Request]:
        """The open request of each claimed webhook that has one (a retry or a takeover)."""
        retried = [row.id for row in rows if row.open_request is not None]
        if not retried:
            return {}
        found = {
            webhook_id: Request(request_id, body, tuple(json.loads(ids)), tries, oldest, [])
            for request_id, webhook_id, body, ids, tries, oldest in self._db.run(
                conn, common.OPEN_REQUESTS, {"ids": retried}
            )
        }
        members = self._results.members(conn, {r.id: (w, r.event_ids) for w, r in found.items()})
        for request in found.values():
            request.seqs.extend(members[request.id])
        self._read_trace_contexts(conn, list(found.values()))
        return found

    def _read_trace_contexts(self, conn: Connection, requests: Sequence[Request]) -> None:
        """Fill in the stored trace contexts of these requests' events (a retry or a takeover)."""
        wanted = [event_id for request in requests for event_id in request.event_ids]
        found = self._db.run(conn, common.TRACE_CONTEXTS, {"ids": wanted})
        stored: dict[str, str] = dict(found.all())
        if stored:
            for request in requests:
                request.trace_contexts = _traced(stored.get(e) for e in request.event_ids)

    def _new_requests(
        self,
        conn: Connection,
        fresh: Sequence[DueWebhook],
        now: datetime,
        *,
        max_batch: int,
        max_batch_bytes: int,
        expire_before: datetime | None,
        expired: Expired,
    ) -> dict[str, Request]:
        """Group each webhook's oldest due deliveries into a new request.

        Deliveries queued at or before ``expire_before`` die instead (noted in
        ``expired``: how many, which webhooks).
        """
        queued = self._queued_by_webhook(conn, [row.id for row in fresh], now, max_batch)
        if expire_before is not None:
            queued = self._expire_queued(
                conn, queued, before=expire_before, now=now, max_batch=max_batch, expired=expired
            )
        made: dict[str, Request] = {}
        for row in fresh:
            chosen = _first_fitting(queued.get(row.id, ()), max_batch_bytes)
            if chosen:
                made[row.id] = Request(
                    new_id("msg"),
                    request_body(row.account_id, [item.payload for item in chosen]),
                    tuple([item.event_id for item in chosen]),
                    0,
                    stored_time(min(item.due_at for item in chosen)),
                    [item.seq for item in chosen],
                    _traced(item.trace_context for item in chosen),
                )
        if made:
            self._insert_requests(conn, made, now)
        return made

    def _queued_by_webhook(
        self, conn: Connection, ids: list[str], now: datetime, max_batch: int
    ) -> dict[str, list[Queued]]:
        """Up to ``max_batch`` oldest due queued deliveries of each webhook of ``ids``.

        A delivery's age counts from ``due_at``, when it was queued: its publish (a
        batch event's flush), or a redeliver or recover, which queue it anew.
        """
        db = self._db
        found: Sequence[Sequence[Any]]
        if db.is_postgres:
            params = {"now": now, "max_batch": max_batch, "ids": json.dumps(ids)}
            found = db.run(conn, pg.QUEUED, params).all()
        else:
            params = {"now": sqlite_text(now), "max_batch": max_batch, "ids": json.dumps(ids)}
            found = db.rows(conn, lite.QUEUED, params)
        queued: dict[str, list[Queued]] = {}
        for item in map(Queued._make, found):
            queued.setdefault(item.webhook_id, []).append(item)
        return queued

    def _expire_queued(
        self,
        conn: Connection,
        queued: dict[str, list[Queued]],
        *,
        before: datetime,
        now: datetime,
        max_batch: int,
        expired: Expired,
    ) -> dict[str, list[Queued]]:
        """Kill the queued deliveries queued at or before ``before`` of the webhooks whose
        oldest queued item is that old, and read those webhooks' queues again."""
        # Stored values compare as they are: SQLite's text sorts as the time it spells.
        cutoff: Any = before if self._db.is_postgres else sqlite_text(before)
        stale = [
            webhook_id
            for webhook_id, items in queued.items()
            if min(item.due_at for item in items) <= cutoff
        ]
        if not stale:
            return queued
        self._results.kill_queued(conn, stale, before=before, now=now, into=expired)
        fresh = {k: v for k, v in queued.items() if k not in stale}
        fresh.update(self._queued_by_webhook(conn, stale, now, max_batch))
        return fresh

    def _insert_requests(self, conn: Connection, made: dict[str, Request], now: datetime) -> None:
        """Store new requests (their deliveries point at them once an attempt finishes)."""
        db = self._db
        if db.is_postgres:
            rows = [
                pg.NewRequest(
                    r.id, webhook_id, r.body, json.dumps(r.event_ids), utc_iso(r.oldest_event_at)
                )
                for webhook_id, r in made.items()
            ]
            for chunk in _by_size(rows, REQUEST_CHARS_PER_STATEMENT):
                params = {"now": now, "requests": json.dumps(chunk, ensure_ascii=False)}
                db.run(conn, pg.INSERT_REQUESTS, params)
            return
        stamp = sqlite_text(now)
        db.write_many(
            conn,
            lite.INSERT_REQUESTS,
            [
                {
                    "id": r.id,
                    "webhook_id": webhook_id,
                    "body": r.body,
                    "event_ids": json.dumps(r.event_ids),
                    "now": stamp,
                    "oldest_event_at": sqlite_text(r.oldest_event_at),
                }
                for webhook_id, r in made.items()
            ],
        )


def _first_fitting(queued: Sequence[Queued], max_bytes: int) -> list[Queued]:
    """The oldest queued deliveries, in order, that fit in ``max_bytes`` (at least one)."""
    chosen: list[Queued] = []
    total = 0
    for item in sorted(queued, key=attrgetter("seq")):
        if chosen and total + item.size > max_bytes:
            break
        chosen.append(item)
        total += item.size
    return chosen


def _job(row: DueWebhook, request: Request) -> Job:
    """The job of a claimed webhook and its request."""
    return Job(
        webhook_id=row.id,
        account_id=row.account_id,
        target_url=row.target_url,
        auth=row.auth,
        request_id=request.id,
        body=request.body.encode(),
        event_ids=request.event_ids,
        attempts=request.attempts,
        oldest_event_at=request.oldest_event_at,
        delivery_seqs=tuple(request.seqs),
        failing_since=row.failing_since,
        basic_username=row.basic_username,
        basic_password=row.basic_password,
        secrets=secrets_of(row),
        trace_contexts=request.trace_contexts,
    )


def _traced(contexts: Iterable[str | None]) -> tuple[str | None, ...]:
    """The trace contexts of a request's events, or ``()`` when no event has one."""
    found = tuple(contexts)
    return found if any(found) else ()


def secrets_of(row: DueWebhook) -> tuple[str, ...]:
    """The secrets of a claimed webhook, newest first."""
    found = row.secrets
    if not found:
        return ()
    if isinstance(found, str):
        # SQLite's [[id, secret], ...], parsed each time: a cache would keep rotated
        # secrets in memory for the life of the process.
        return tuple(secret for _, secret in sorted(json.loads(found), reverse=True))
    return tuple(found)


def _warn_expired(expired: Expired, before: datetime | None) -> None:
    """Say how many queued deliveries died unsent in a turn, and of which webhooks."""
    if expired:
        log.warning(
            "%d queued deliveries died unsent, queued at or before %s (max_age ago), webhooks %s",
            sum(expiry.count for expiry in expired.values()),
            before.isoformat(timespec="seconds") if before else "?",
            ", ".join(sorted(expired)),
        )


_Row = TypeVar("_Row", bound=Sequence[str])


def _by_size(rows: list[_Row], limit: int) -> Iterator[list[_Row]]:
    """``rows`` in order, in runs of at most about ``limit`` characters (at least one row)."""
    run: list[_Row] = []
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


def _due_from_sqlite(row: Sequence[Any]) -> DueWebhook:
    """A due webhook read from SQLite, where ``failing_since`` is stored text."""
    due = DueWebhook._make(row)
    if due.failing_since is None:
        return due
    return due._replace(failing_since=stored_time(due.failing_since))
