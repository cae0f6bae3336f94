"""What attempts did: attempt rows, request and delivery statuses, disabled webhooks,
the leases given back; a request's deliveries; the expiry of work too old.

A dispatcher's claim finishes the last turn's attempts through :meth:`Results.finish`
in the same transaction as it leases new work (see ``dispatch``). The statements
that finish a turn are ``sql_sqlite``'s INSERT_ATTEMPTS, FINISH_DELIVERIES,
FINISH_WEBHOOKS and FINISH_REQUESTS (in that order), and ``sql_postgres``'s FINISH. When the
dispatcher asks, ``transitions`` decides the operator events the attempts cause in
that same transaction. A request refused as too large is split first, by ``splits``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, insert, or_, select, update

from ..operator import MAX_LISTED_EVENT_IDS, OperatorTurn
from ..schema import (
    attempts,
    deliveries,
    requests,
    sqlite_text,
    utc_iso,
    webhooks,
)
from ..work import Outcome
from . import sql_common as common
from . import sql_postgres as pg
from . import sql_sqlite as lite
from .runner import Database
from .splits import Splits
from .transitions import Expiry, Transitions

__all__ = ["Results"]


class Results:
    """Apply the outcome of each attempt; release leases; expire; store a lone test attempt."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._transitions = Transitions(db)
        self._splits = Splits(db)

    def finish(
        self,
        conn: Connection,
        outcomes: Sequence[Outcome],
        *,
        owner: str,
        now: datetime,
        operator: OperatorTurn | None = None,
    ) -> None:
        """In ``conn``'s transaction: store each attempt, apply its verdict to its request
        and deliveries, and give back ``owner``'s lease on its webhook.

        With ``operator``, the operator events the outcomes cause are decided, stored
        and queued in the same transaction, and the new ones added to ``operator.fired``
        (see ``transitions``).
        """
        before = None
        if operator is not None:
            before = self._transitions.before(conn, outcomes, operator)
        if any(o.verdict == "split" for o in outcomes):
            outcomes = self._splits.split(conn, outcomes, now)
        if self._db.is_postgres:
            self._finish_postgres(conn, outcomes, owner=owner, now=now)
        else:
            self._finish_sqlite(conn, outcomes, owner=owner, now=now)
        killed = Counter[str]()  # per webhook: the deliveries its disabling killed
        for outcome in outcomes:
            if outcome.verdict == "disable":
                killed[outcome.job.webhook_id] += self._disable(conn, outcome, now)
        if operator is not None and before is not None:
            self._transitions.record(conn, outcomes, before, operator, now=now, killed=killed)

    def _finish_postgres(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        # One statement over JSON rows: a round trip per table (or per row) costs more.
        rows = [
            pg.Attempted(
                o.attempt_id,
                o.job.request_id,
                o.job.webhook_id,
                utc_iso(o.started_at),
                o.status_code,
                o.latency_ms,
                o.error,
                o.response_body,
                common.REQUEST_STATUS[o.verdict],
                None if o.next_attempt_at is None else utc_iso(o.next_attempt_at),
                o.verdict == "succeeded",
            )
            for o in outcomes
        ]
        # Plain tuples in pg.DeliveryChange's order: a NamedTuple costs 0.5 us more a row,
        # and a turn changes thousands of deliveries.
        changes = [
            (seq, common.DELIVERY_STATUS[o.verdict], o.job.request_id)
            for o in outcomes
            for seq in o.job.delivery_seqs
        ]
        params = {
            "now": now,
            "owner": owner,
            "outcomes": json.dumps(rows, ensure_ascii=False),
            "deliveries": json.dumps(changes),
            "n": len(rows),
            "m": len(changes),
        }
        self._db.run(conn, pg.FINISH, params)

    def _finish_sqlite(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        # Plain parameters to the driver, and one JSON array per UPDATE: one statement per
        # table, without SQLAlchemy's per-row parameter processing.
        db, stamp = self._db, sqlite_text(now)
        started = [sqlite_text(o.started_at) for o in outcomes]
        db.write_many(
            conn,
            lite.INSERT_ATTEMPTS,
            [
                {
                    "id": o.attempt_id,
                    "request_id": o.job.request_id,
                    "webhook_id": o.job.webhook_id,
                    "started_at": at,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "error": o.error,
                    "response_body": o.response_body,
                }
                for o, at in zip(outcomes, started, strict=True)
            ],
        )
        db.write_many(
            conn,
            lite.FINISH_DELIVERIES,
            [
                {
                    "status": common.DELIVERY_STATUS[o.verdict],
                    "now": stamp,
                    "request_id": o.job.request_id,
                    "seqs": json.dumps(o.job.delivery_seqs),
                }
                for o in outcomes
                if o.job.delivery_seqs
            ],
        )
        finished = [
            lite.Finished(
                o.job.request_id,
                common.REQUEST_STATUS[o.verdict],
                stamp if o.next_attempt_at is None else sqlite_text(o.next_attempt_at),
                o.job.webhook_id,
                o.verdict == "succeeded",
                at,
            )
            for o, at in zip(outcomes, started, strict=True)
        ]
        params = {"rows": json.dumps(finished), "now": stamp, "owner": owner}
        db.write(conn, lite.FINISH_WEBHOOKS, params)  # while the requests are still open
        db.write(conn, lite.FINISH_REQUESTS, params)

    def _disable(self, conn: Connection, outcome: Outcome, now: datetime) -> int:
        """Switch a webhook off: nothing more goes to it until someone activates it.

        Returns how many of its unfinished deliveries died (beside its request's own)."""
        db, webhook_id = self._db, outcome.job.webhook_id
        db.run(
            conn,
            update(requests)
            .where(requests.c.webhook_id == webhook_id, requests.c.status == common.OPEN)
            .values(status="dead", updated_at=now),
        )
        killed = db.run(
            conn,
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status.in_(common.UNFINISHED_DELIVERY_STATUSES),
            )
            .values(status="dead", updated_at=now),
        ).rowcount
        db.run(
            conn,
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(active=False, disabled_reason=outcome.disabled_reason, updated_at=now),
        )
        return int(killed)

    def members(
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
            for seq, event_id, webhook_id in self._db.run(conn, common.MEMBERS, params):
                request_id = wanted.get((webhook_id, event_id))
                if request_id is not None:
                    members[request_id].append(seq)
        for seqs in members.values():
            seqs.sort()
        return members

    def expire(
        self, *, before: datetime, now: datetime, operator: OperatorTurn | None = None
    ) -> int:
        """Declare dead the unfinished work older than ``before`` of webhooks no dispatcher holds.

        An open request whose oldest delivery was queued at or before ``before``
        dies with every delivery it carries, and so does a queued delivery queued
        then (a redeliver or recover queues a delivery anew). Returns how many
        deliveries died. The dispatcher applies the same age limit when an attempt
        fails and when it reaches a queued delivery; this catches what no
        dispatcher reaches (a retired webhook's queue). With ``operator``, each
        webhook's expiry is an operator event (:meth:`expired_events`).
        """
        db = self._db
        idle = select(webhooks.c.id).where(
            or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until <= now)
        )
        if db.is_postgres:
            # The claim's lock: no dispatcher takes these webhooks until this commits.
            idle = idle.with_for_update(skip_locked=True, key_share=True)
        dead = {"status": "dead", "updated_at": now}
        with db.transaction() as conn:
            held = list(db.run(conn, idle).scalars())
            if not held:
                return 0
            old = {
                request_id: (webhook_id, json.loads(event_ids))
                for request_id, webhook_id, event_ids in db.run(
                    conn,
                    select(requests.c.id, requests.c.webhook_id, requests.c.event_ids).where(
                        requests.c.webhook_id.in_(held),
                        requests.c.status == common.OPEN,
                        requests.c.oldest_event_at <= before,
                    ),
                )
            }
            killed: dict[str, Expiry] = {}
            if old:
                db.run(conn, update(requests).where(requests.c.id.in_(list(old))).values(**dead))
                # Each dies pointing at the request that carried it (its attempt history).
                for request_id, carried in self.members(conn, old).items():
                    died = db.run(
                        conn,
                        update(deliveries)
                        .where(
                            deliveries.c.seq.in_(carried),
                            deliveries.c.status.in_(common.UNFINISHED_DELIVERY_STATUSES),
                        )
                        .values(request_id=request_id, **dead),
                    ).rowcount
                    webhook_id, event_ids = old[request_id]
                    killed.setdefault(webhook_id, Expiry()).add(int(died), event_ids)
            self.kill_queued(conn, held, before=before, now=now, into=killed)
            self.expired_events(conn, killed, operator, now=now)
        return sum(expiry.count for expiry in killed.values())

    def kill_queued(
        self,
        conn: Connection,
        webhook_ids: list[str],
        *,
        before: datetime,
        now: datetime,
        into: dict[str, Expiry],
    ) -> None:
        """Declare dead the queued deliveries of these webhooks queued at or before ``before``,
        adding each webhook's count and first event ids to ``into``.

        The webhooks are leased or locked by the caller, so what is counted is what dies.
        Counted in SQL, the first ids read per webhook that lost any: a long outage may
        kill millions, which never come into memory."""
        db = self._db
        stale = (
            deliveries.c.webhook_id.in_(webhook_ids),
            deliveries.c.status == "pending",
            deliveries.c.request_id.is_(None),
            deliveries.c.due_at <= before,
        )
        counted = select(deliveries.c.webhook_id, func.count()).where(*stale)
        counts: dict[str, int] = dict(db.run(conn, counted.group_by(deliveries.c.webhook_id)).all())
        if not counts:
            return
        for webhook_id, count in sorted(counts.items()):
            first = (
                select(deliveries.c.event_id)
                .where(*stale, deliveries.c.webhook_id == webhook_id)
                .order_by(deliveries.c.seq)
                .limit(MAX_LISTED_EVENT_IDS)
            )
            listed = list(db.run(conn, first).scalars())
            into.setdefault(webhook_id, Expiry()).add(int(count), listed)
        db.run(conn, update(deliveries).where(*stale).values(status="dead", updated_at=now))

    def expired_events(
        self,
        conn: Connection,
        killed: Mapping[str, Expiry],
        operator: OperatorTurn | None,
        *,
        now: datetime,
    ) -> None:
        """With ``operator``, the ``DELIVERIES_EXPIRED`` events of ``killed`` (by webhook),
        decided in ``conn``'s transaction (see ``transitions``)."""
        if operator is not None and killed:
            self._transitions.expired(conn, killed, operator, now=now)

    def release(self, webhook_ids: Sequence[str], *, owner: str, now: datetime) -> None:
        """Give up the leases of ``owner`` on these webhooks (their requests stay open)."""
        if not webhook_ids:
            return
        with self._db.transaction() as conn:
            self.release_in(conn, webhook_ids, owner=owner, now=now)

    def release_in(
        self, conn: Connection, webhook_ids: Sequence[str], *, owner: str, now: datetime
    ) -> None:
        """:meth:`release`, in ``conn``'s transaction."""
        db, ids = self._db, json.dumps(list(webhook_ids))
        if db.is_postgres:
            db.run(conn, pg.RELEASE, {"ids": ids, "owner": owner, "now": now})
        else:
            db.write(conn, lite.RELEASE, {"ids": ids, "owner": owner, "now": sqlite_text(now)})

    def record_attempt(self, outcome: Outcome) -> None:
        """Store a lone attempt (a test delivery) with a request row of its own."""
        job, db = outcome.job, self._db
        with db.transaction() as conn:
            db.run(
                conn,
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
                ),
            )
            db.run(
                conn,
                insert(attempts).values(
                    id=outcome.attempt_id,
                    request_id=job.request_id,
                    webhook_id=job.webhook_id,
                    started_at=outcome.started_at,
                    status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms,
                    error=outcome.error,
                    response_body=outcome.response_body,
                ),
            )
