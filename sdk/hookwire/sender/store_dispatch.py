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
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from .rows import new_id
from .schema import (
    UtcDateTime,
    attempts,
    deliveries,
    request_deliveries,
    requests,
    webhooks,
)
from .store_registry import RegistryQueries
from .work import Job, Outcome

__all__ = ["DispatchQueries"]

_OPEN = "open"

# The hot statements are built once: building SQLAlchemy statements costs more
# than running them on SQLite, and a tick runs a fixed handful of them whatever
# the number of jobs.
_NOW = bindparam("now", type_=UtcDateTime)

_DUE_WEBHOOKS = (
    select(webhooks)
    .where(
        webhooks.c.active.is_(True),
        or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until <= _NOW),
        or_(
            exists().where(
                requests.c.webhook_id == webhooks.c.id,
                requests.c.status == _OPEN,
                requests.c.next_attempt_at <= _NOW,
            ),
            and_(
                ~exists().where(requests.c.webhook_id == webhooks.c.id, requests.c.status == _OPEN),
                exists().where(
                    deliveries.c.webhook_id == webhooks.c.id,
                    deliveries.c.status == "pending",
                    deliveries.c.request_id.is_(None),
                    deliveries.c.due_at <= _NOW,
                ),
            ),
        ),
    )
    # A released lease keeps its time: oldest first is a round-robin over webhooks.
    .order_by(webhooks.c.lease_until.is_not(None), webhooks.c.lease_until)
    .limit(bindparam("limit"))
)
# NO KEY UPDATE does not conflict with the key-share locks of concurrent publishers.
_DUE_WEBHOOKS_LOCKED = _DUE_WEBHOOKS.with_for_update(skip_locked=True, key_share=True, of=webhooks)


# PostgreSQL: one statement text whatever the number of webhooks, so the server
# keeps it prepared instead of planning a fresh union every turn.
_QUEUED_LATERAL = (
    text(
        """
        SELECT q.seq, q.event_id, q.webhook_id, q.size, q.created_at, q.payload
        FROM unnest(CAST(:ids AS TEXT[])) AS w(id)
        CROSS JOIN LATERAL (
            SELECT d.seq, d.event_id, d.webhook_id, d.size, d.created_at, e.payload
            FROM hookwire_deliveries AS d
            JOIN hookwire_events AS e ON e.id = d.event_id
            WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.request_id IS NULL
              AND d.due_at <= :now
            ORDER BY d.seq
            LIMIT :max_batch
        ) AS q
        """
    )
    .bindparams(_NOW, bindparam("ids", type_=ARRAY(String)), bindparam("max_batch"))
    .columns(created_at=UtcDateTime)
)

# SQLite: per-delivery rows travel as one JSON array, so a turn runs one
# statement per table instead of one execution per delivery.
# SQLite has no LATERAL; a correlated IN (... LIMIT n) per webhook is its equivalent,
# and one statement text for any number of webhooks is compiled only once.
_QUEUED_SQLITE = (
    text(
        """
        SELECT d.seq, d.event_id, d.webhook_id, d.size, d.created_at, e.payload
        FROM json_each(:ids) AS w
        JOIN hookwire_deliveries AS d ON d.seq IN (
            SELECT q.seq FROM hookwire_deliveries AS q
            WHERE q.webhook_id = w.value AND q.status = 'pending' AND q.request_id IS NULL
              AND q.due_at <= :now
            ORDER BY q.seq
            LIMIT :max_batch
        )
        JOIN hookwire_events AS e ON e.id = d.event_id
        """
    )
    .bindparams(_NOW)
    .columns(created_at=UtcDateTime)
)
_ASSIGN_SQLITE = text(
    """
    UPDATE hookwire_deliveries SET request_id = json_extract(j.value, '$[1]')
    FROM json_each(:pairs) AS j
    WHERE hookwire_deliveries.seq = json_extract(j.value, '$[0]')
    """
)
_FINISH_DELIVERIES_SQLITE = text(
    """
    UPDATE hookwire_deliveries
    SET status = json_extract(j.value, '$[1]'), updated_at = :now
    FROM json_each(:pairs) AS j
    WHERE hookwire_deliveries.seq = json_extract(j.value, '$[0]')
      AND hookwire_deliveries.status IN ('pending', 'failed')
    """
).bindparams(_NOW)
_FINISH_REQUEST = (
    update(requests)
    .where(requests.c.id == bindparam("b_id"), requests.c.status == _OPEN)
    .values(
        status=bindparam("b_status"),
        attempts=requests.c.attempts + 1,
        next_attempt_at=bindparam("b_next", type_=UtcDateTime),
        updated_at=_NOW,
    )
)
_MINE = webhooks.c.lease_owner == bindparam("owner")
_RELEASE = (
    update(webhooks)
    .where(webhooks.c.id == bindparam("b_webhook"))
    .values(
        failing_since=case(
            (bindparam("b_ok"), None),
            else_=func.coalesce(
                webhooks.c.failing_since, bindparam("b_started", type_=UtcDateTime)
            ),
        ),
        lease_owner=case((_MINE, None), else_=webhooks.c.lease_owner),
        lease_until=case((_MINE, _NOW), else_=webhooks.c.lease_until),
    )
)

_LEASE = (
    update(webhooks)
    .where(webhooks.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until", type_=UtcDateTime))
)
_OPEN_REQUESTS = select(requests).where(
    requests.c.webhook_id.in_(bindparam("ids", expanding=True)), requests.c.status == _OPEN
)

_ASSIGN_PG = text(
    """
    UPDATE hookwire_deliveries AS d SET request_id = v.r
    FROM unnest(CAST(:seqs AS BIGINT[]), CAST(:reqs AS TEXT[])) AS v(s, r)
    WHERE d.seq = v.s
    """
)
_FINISH_REQUESTS_PG = text(
    """
    UPDATE hookwire_requests AS r
    SET status = v.st, attempts = r.attempts + 1, next_attempt_at = v.nx, updated_at = :now
    FROM unnest(CAST(:ids AS TEXT[]), CAST(:sts AS TEXT[]), CAST(:nxs AS TIMESTAMPTZ[]))
        AS v(id, st, nx)
    WHERE r.id = v.id AND r.status = 'open'
    """
).bindparams(_NOW)
_FINISH_DELIVERIES_PG = text(
    """
    UPDATE hookwire_deliveries AS d SET status = v.st, updated_at = :now
    FROM unnest(CAST(:seqs AS BIGINT[]), CAST(:sts AS TEXT[])) AS v(seq, st)
    WHERE d.seq = v.seq AND d.status IN ('pending', 'failed')
    """
).bindparams(_NOW)
_RELEASE_PG = text(
    """
    UPDATE hookwire_webhooks AS w
    SET failing_since = CASE WHEN v.ok THEN NULL ELSE COALESCE(w.failing_since, v.started) END,
        lease_owner = CASE WHEN w.lease_owner = :owner THEN NULL ELSE w.lease_owner END,
        lease_until = CASE WHEN w.lease_owner = :owner THEN :now ELSE w.lease_until END
    FROM unnest(CAST(:ids AS TEXT[]), CAST(:oks AS BOOLEAN[]), CAST(:starts AS TIMESTAMPTZ[]))
        AS v(id, ok, started)
    WHERE w.id = v.id
    """
).bindparams(_NOW)

_MEMBERS = select(request_deliveries).where(
    request_deliveries.c.request_id.in_(bindparam("ids", expanding=True))
)

_Request = tuple[str, str, str, int, datetime, list[int]]
"""A request as a job needs it: id, body, event ids (JSON), attempts, oldest event, seqs."""

_INSERT_REQUESTS = insert(requests)
_INSERT_LINKS = insert(request_deliveries)
_INSERT_ATTEMPTS = insert(attempts)

_DELIVERY_STATUS = {"succeeded": "succeeded", "retry": "failed", "dead": "dead", "disable": "dead"}
_REQUEST_STATUS = {"succeeded": "succeeded", "retry": _OPEN, "dead": "dead", "disable": "dead"}


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
        with self.transaction() as conn:
            if outcomes:
                self._complete(conn, outcomes, owner=owner, now=now)
            if limit <= 0:
                return []
            due = _DUE_WEBHOOKS_LOCKED if self.is_postgres else _DUE_WEBHOOKS
            rows = conn.execute(due, {"now": now, "limit": limit}).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            conn.execute(_LEASE, {"ids": ids, "owner": owner, "until": now + lease})
            open_requests: dict[str, _Request] = {
                row.webhook_id: (
                    row.id,
                    row.body,
                    row.event_ids,
                    row.attempts,
                    row.oldest_event_at,
                    [],
                )
                for row in conn.execute(_OPEN_REQUESTS, {"ids": ids})
            }
            if open_requests:
                members = {request[0]: request[5] for request in open_requests.values()}
                for link in conn.execute(_MEMBERS, {"ids": list(members)}):
                    members[link.request_id].append(link.delivery_seq)
            fresh = [row for row in rows if row.id not in open_requests]
            if fresh:
                open_requests.update(
                    self._new_requests(conn, fresh, now, max_batch, max_batch_bytes)
                )
            secrets = self.valid_secrets(ids, now=now, connection=conn)
        return [
            Job(
                webhook_id=row.id,
                account_id=row.account_id,
                target_url=row.target_url,
                auth=row.auth,
                request_id=request[0],
                body=request[1].encode(),
                event_ids=tuple(json.loads(request[2])),
                attempts=request[3],
                oldest_event_at=request[4],
                delivery_seqs=tuple(request[5]),
                failing_since=row.failing_since,
                basic_username=row.basic_username,
                basic_password=row.basic_password,
                secrets=tuple(secrets.get(row.id, ())),
            )
            for row in rows
            if (request := open_requests.get(row.id)) is not None
        ]

    def _new_requests(
        self,
        conn: Connection,
        fresh: Sequence[Any],
        now: datetime,
        max_batch: int,
        max_batch_bytes: int,
    ) -> dict[str, _Request]:
        """Group each webhook's oldest due deliveries into a new request."""
        params: dict[str, Any] = {"now": now, "max_batch": max_batch}
        if self.is_postgres:
            params["ids"] = [row.id for row in fresh]
            statement: Any = _QUEUED_LATERAL
        else:
            params["ids"] = json.dumps([row.id for row in fresh])
            statement = _QUEUED_SQLITE
        queued: dict[str, list[Any]] = {}
        for item in conn.execute(statement, params):
            queued.setdefault(item.webhook_id, []).append(item)
        made: dict[str, _Request] = {}
        request_rows: list[dict[str, Any]] = []
        assignments: list[tuple[int, str]] = []
        links: list[dict[str, Any]] = []
        for row in fresh:
            items = sorted(queued.get(row.id, ()), key=lambda item: item.seq)
            chosen: list[Any] = []
            total = 0
            for item in items:
                if chosen and total + item.size > max_batch_bytes:
                    break
                chosen.append(item)
                total += item.size
            if not chosen:
                continue
            request_id = new_id("msg")
            payloads = [item.payload for item in chosen]
            body = f'{{"accountId":{int(row.account_id)},"events":[{",".join(payloads)}]}}'
            event_ids = json.dumps([item.event_id for item in chosen])
            oldest = min(item.created_at for item in chosen)
            request_rows.append(
                {
                    "id": request_id,
                    "webhook_id": row.id,
                    "status": _OPEN,
                    "body": body,
                    "event_ids": event_ids,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "oldest_event_at": oldest,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            assignments.extend((item.seq, request_id) for item in chosen)
            links.extend({"request_id": request_id, "delivery_seq": item.seq} for item in chosen)
            made[row.id] = (request_id, body, event_ids, 0, oldest, [i.seq for i in chosen])
        if request_rows:
            conn.execute(_INSERT_REQUESTS, request_rows)
            if self.is_postgres:
                conn.execute(
                    _ASSIGN_PG,
                    {"seqs": [a[0] for a in assignments], "reqs": [a[1] for a in assignments]},
                )
            else:
                conn.execute(_ASSIGN_SQLITE, {"pairs": json.dumps(assignments)})
            conn.execute(_INSERT_LINKS, links)
        return made

    def complete(self, outcomes: Sequence[Outcome], *, owner: str, now: datetime) -> None:
        """Store each attempt and apply its verdict, all in one transaction."""
        if outcomes:
            with self.transaction() as conn:
                self._complete(conn, outcomes, owner=owner, now=now)

    def _complete(
        self, conn: Connection, outcomes: Sequence[Outcome], *, owner: str, now: datetime
    ) -> None:
        conn.execute(
            _INSERT_ATTEMPTS,
            [
                {
                    "id": o.attempt_id,
                    "request_id": o.job.request_id,
                    "webhook_id": o.job.webhook_id,
                    "started_at": o.started_at,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "error": o.error,
                    "response_body": o.response_body,
                }
                for o in outcomes
            ],
        )
        requests_done = [o.job.request_id for o in outcomes]
        request_status = [_REQUEST_STATUS[o.verdict] for o in outcomes]
        next_attempts = [o.next_attempt_at or now for o in outcomes]
        member_seqs = [seq for o in outcomes for seq in o.job.delivery_seqs]
        delivery_status = [
            _DELIVERY_STATUS[o.verdict] for o in outcomes for _ in o.job.delivery_seqs
        ]
        webhook_ids = [o.job.webhook_id for o in outcomes]
        succeeded = [o.verdict == "succeeded" for o in outcomes]
        started = [o.started_at for o in outcomes]
        if self.is_postgres:
            # One statement per table over arrays: a round trip per row costs more than the row.
            conn.execute(
                _FINISH_REQUESTS_PG,
                {"ids": requests_done, "sts": request_status, "nxs": next_attempts, "now": now},
            )
            conn.execute(
                _FINISH_DELIVERIES_PG, {"seqs": member_seqs, "sts": delivery_status, "now": now}
            )
            conn.execute(
                _RELEASE_PG,
                {
                    "ids": webhook_ids,
                    "oks": succeeded,
                    "starts": started,
                    "owner": owner,
                    "now": now,
                },
            )
        else:
            conn.execute(
                _FINISH_REQUEST,
                [
                    {"b_id": i, "b_status": st, "b_next": nx, "now": now}
                    for i, st, nx in zip(requests_done, request_status, next_attempts, strict=True)
                ],
            )
            conn.execute(
                _FINISH_DELIVERIES_SQLITE,
                {
                    "pairs": json.dumps(list(zip(member_seqs, delivery_status, strict=True))),
                    "now": now,
                },
            )
            conn.execute(
                _RELEASE,
                [
                    {"b_webhook": w, "b_ok": ok, "b_started": at, "owner": owner, "now": now}
                    for w, ok, at in zip(webhook_ids, succeeded, started, strict=True)
                ],
            )
        for outcome in outcomes:
            if outcome.verdict == "disable":
                self._disable(conn, outcome, now)

    def _disable(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        """Switch a webhook off: nothing more goes to it until someone activates it."""
        webhook_id = outcome.job.webhook_id
        conn.execute(
            update(requests)
            .where(requests.c.webhook_id == webhook_id, requests.c.status == _OPEN)
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
