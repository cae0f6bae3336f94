"""Store queries that record what attempts did: attempt rows, request and delivery
statuses, disabled webhooks, and the leases given back.

A dispatcher's claim applies a turn's outcomes through :meth:`ResultQueries._complete`
in the same transaction as it leases new work (see ``store_dispatch``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, update

from . import store_dispatch_sql as sql
from .schema import attempts, deliveries, requests, sqlite_text, utc_iso, webhooks
from .store_base import sqlite_connection
from .store_registry import RegistryQueries
from .work import Outcome

__all__ = ["ResultQueries"]


class ResultQueries(RegistryQueries):
    """Apply the outcome of each attempt; release leases; store a lone test attempt."""

    def _complete(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        """In ``conn``'s transaction: store each attempt, apply its verdict to its request
        and deliveries, and give back ``owner``'s lease on its webhook."""
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
