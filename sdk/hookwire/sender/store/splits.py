"""Splitting a request that a target refused as too large (413) into two.

:meth:`Results.finish <hookwire.sender.store.results.Results.finish>` hands a
turn's outcomes here first: each refused request that is still open gives its
first half of events a new request, due now, and queues every delivery it
carried again, so the halves go out in order. It is apart from ``results``
because it builds requests anew where the rest of ``results`` only records what
attempts did.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from ..rows import new_id
from ..schema import deliveries, events, request_deliveries, requests
from ..work import Outcome, request_body
from . import sql_common as common
from .runner import Database

__all__ = ["Splits"]


class Splits:
    """Split the requests of a turn's outcomes that a target refused as too large."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def split(self, conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> list[Outcome]:
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
            self._db.run(
                conn,
                select(requests.c.id).where(
                    requests.c.id.in_([o.job.request_id for o in split]),
                    requests.c.status == common.OPEN,
                ),
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
        db, job = self._db, outcome.job
        first = job.event_ids[: len(job.event_ids) // 2]
        payloads: dict[str, str] = dict(
            db.run(conn, select(events.c.id, events.c.payload).where(events.c.id.in_(first))).all()
        )
        db.run(
            conn,
            insert(requests).values(
                id=new_id("msg"),
                webhook_id=job.webhook_id,
                status=common.OPEN,
                body=request_body(job.account_id, [payloads[e] for e in first]),
                event_ids=json.dumps(list(first)),
                attempts=0,
                next_attempt_at=now,
                oldest_event_at=job.oldest_event_at,
                created_at=now,
                updated_at=now,
            ),
        )
        kept = set(
            db.run(
                conn,
                select(request_deliveries.c.delivery_seq).where(
                    request_deliveries.c.request_id == job.request_id
                ),
            ).scalars()
        )
        history = [
            {"request_id": job.request_id, "delivery_seq": seq}
            for seq in job.delivery_seqs
            if seq not in kept
        ]
        if history:
            db.run(conn, insert(request_deliveries), history)
        db.run(
            conn,
            update(deliveries)
            .where(
                deliveries.c.seq.in_(job.delivery_seqs),
                deliveries.c.status.in_(common.UNFINISHED_DELIVERY_STATUSES),
            )
            .values(status="pending", request_id=None, updated_at=now),
        )
