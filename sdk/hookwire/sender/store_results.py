"""Store queries that settle requests and deliveries: what attempts did (attempt rows,
request and delivery statuses, splits, disabled webhooks, the leases given back), a
request's deliveries, and the expiry of work too old to send.

A dispatcher's claim applies a turn's outcomes through :meth:`ResultQueries._complete`
in the same transaction as it leases new work (see ``store_dispatch``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, update

from . import store_dispatch_sql as sql
from .rows import new_id
from .schema import (
    attempts,
    deliveries,
    events,
    request_deliveries,
    requests,
    sqlite_text,
    utc_iso,
    webhooks,
)
from .store_base import sqlite_connection
from .store_registry import RegistryQueries
from .work import Outcome, request_body

__all__ = ["ResultQueries"]


class ResultQueries(RegistryQueries):
    """Apply the outcome of each attempt; release leases; store a lone test attempt."""

    def _complete(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        """In ``conn``'s transaction: store each attempt, apply its verdict to its request
        and deliveries, and give back ``owner``'s lease on its webhook."""
        if any(o.verdict == "split" for o in outcomes):
            outcomes = self._split(conn, outcomes, now)
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
                utc_iso(o.started_at),
                o.status_code,
                o.latency_ms,
                o.error,
                o.response_body,
                sql.REQUEST_STATUS[o.verdict],
                None if o.next_attempt_at is None else utc_iso(o.next_attempt_at),
                o.verdict == "succeeded",
            )
            for o in outcomes
        ]
        statuses = [
            (seq, sql.DELIVERY_STATUS[o.verdict], o.job.request_id)
            for o in outcomes
            for seq in o.job.delivery_seqs
        ]
        params = {
            "now": now,
            "owner": owner,
            "outcomes": json.dumps(rows, ensure_ascii=False),
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
        driver = sqlite_connection(conn)
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
        driver.executemany(
            sql.FINISH_DELIVERIES_SQLITE,
            [
                (
                    sql.DELIVERY_STATUS[o.verdict],
                    stamp,
                    o.job.request_id,
                    json.dumps(o.job.delivery_seqs),
                )
                for o in outcomes
                if o.job.delivery_seqs
            ],
        )
        driver.execute(sql.FINISH_REQUESTS_SQLITE, params)
        driver.execute(sql.RELEASE_SQLITE, params)

    def _split(self, conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> list[Outcome]:
        """Split each request a target refused as too large (413) into two.

        The first half of its events becomes a new open request, due now; every
        delivery it carried is queued again (the first half's are carried by the
        new request, the rest wait behind it, so the order holds), keeping the
        refused request in its history. A request that is no longer open (a late
        outcome) is left alone. Returns ``outcomes`` with the split ones carrying
        no deliveries, so that finishing them closes only the request.
        """
        split = [o for o in outcomes if o.verdict == "split"]
        still_open = set(
            conn.execute(
                select(requests.c.id).where(
                    requests.c.id.in_([o.job.request_id for o in split]),
                    requests.c.status == sql.OPEN,
                )
            ).scalars()
        )
        for outcome in split:
            if outcome.job.request_id in still_open:
                self._requeue_halves(conn, outcome, now)
        return [
            dataclasses.replace(o, job=dataclasses.replace(o.job, delivery_seqs=()))
            if o.verdict == "split"
            else o
            for o in outcomes
        ]

    def _requeue_halves(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        job = outcome.job
        first = job.event_ids[: len(job.event_ids) // 2]
        payloads = dict(
            conn.execute(select(events.c.id, events.c.payload).where(events.c.id.in_(first))).all()
        )
        conn.execute(
            insert(requests).values(
                id=new_id("msg"),
                webhook_id=job.webhook_id,
                status=sql.OPEN,
                body=request_body(job.account_id, [payloads[e] for e in first]),
                event_ids=json.dumps(list(first)),
                attempts=0,
                next_attempt_at=now,
                oldest_event_at=job.oldest_event_at,
                created_at=now,
                updated_at=now,
            )
        )
        kept = set(
            conn.execute(
                select(request_deliveries.c.delivery_seq).where(
                    request_deliveries.c.request_id == job.request_id
                )
            ).scalars()
        )
        history = [
            {"request_id": job.request_id, "delivery_seq": seq}
            for seq in job.delivery_seqs
            if seq not in kept
        ]
        if history:
            conn.execute(insert(request_deliveries), history)
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.seq.in_(job.delivery_seqs),
                deliveries.c.status.in_(["pending", "failed"]),
            )
            .values(status="pending", request_id=None, updated_at=now)
        )

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

    def release(self, webhook_ids: Sequence[str], *, owner: str, now: datetime) -> None:
        """Give up the leases of ``owner`` on these webhooks (their requests stay open)."""
        if not webhook_ids:
            return
        with self.transaction() as conn:
            self._release(conn, webhook_ids, owner=owner, now=now)

    def _release(
        self, conn: Connection, webhook_ids: Sequence[str], *, owner: str, now: datetime
    ) -> None:
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
