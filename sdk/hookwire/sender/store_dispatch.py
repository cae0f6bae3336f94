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
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, case, exists, insert, or_, select, update

from .rows import new_id
from .schema import attempts, deliveries, events, request_deliveries, requests, webhooks
from .store_registry import RegistryQueries
from .work import Job, Outcome

__all__ = ["DispatchQueries"]

_OPEN = "open"


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
    ) -> list[Job]:
        """Lease up to ``limit`` webhooks with due work to ``owner`` and return their jobs."""
        if limit <= 0:
            return []
        with self.transaction() as conn:
            rows = conn.execute(self._due_webhooks(now, limit)).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_(ids))
                .values(lease_owner=owner, lease_until=now + lease)
            )
            open_requests = {
                row.webhook_id: row
                for row in conn.execute(
                    select(requests).where(
                        requests.c.webhook_id.in_(ids), requests.c.status == _OPEN
                    )
                )
            }
            secrets = self.valid_secrets(ids, now=now, connection=conn)
            jobs: list[Job] = []
            new_links: list[dict[str, Any]] = []
            for row in rows:
                request = open_requests.get(row.id)
                if request is None:
                    request = self._new_request(
                        conn,
                        row,
                        now=now,
                        max_batch=max_batch,
                        max_batch_bytes=max_batch_bytes,
                        links=new_links,
                    )
                    if request is None:
                        continue
                jobs.append(
                    Job(
                        webhook_id=row.id,
                        account_id=row.account_id,
                        target_url=row.target_url,
                        auth=row.auth,
                        request_id=request.id,
                        body=request.body.encode(),
                        event_ids=tuple(json.loads(request.event_ids)),
                        attempts=request.attempts,
                        oldest_event_at=request.oldest_event_at,
                        failing_since=row.failing_since,
                        basic_username=row.basic_username,
                        basic_password=row.basic_password,
                        secrets=tuple(secrets.get(row.id, ())),
                    )
                )
            if new_links:
                conn.execute(insert(request_deliveries), new_links)
        return jobs

    def _due_webhooks(self, now: datetime, limit: int) -> Any:
        has_open = exists().where(
            requests.c.webhook_id == webhooks.c.id, requests.c.status == _OPEN
        )
        open_due = exists().where(
            requests.c.webhook_id == webhooks.c.id,
            requests.c.status == _OPEN,
            requests.c.next_attempt_at <= now,
        )
        queued_due = exists().where(
            deliveries.c.webhook_id == webhooks.c.id,
            deliveries.c.status == "pending",
            deliveries.c.request_id.is_(None),
            deliveries.c.due_at <= now,
        )
        query = (
            select(webhooks)
            .where(
                webhooks.c.active.is_(True),
                or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until <= now),
                or_(open_due, and_(~has_open, queued_due)),
            )
            .order_by(webhooks.c.lease_until.is_not(None), webhooks.c.lease_until)
            .limit(limit)
        )
        if self.is_postgres:
            # NO KEY UPDATE does not conflict with the key-share locks of concurrent publishers.
            query = query.with_for_update(skip_locked=True, key_share=True, of=webhooks)
        return query

    def _new_request(
        self,
        conn: Connection,
        webhook: Any,
        *,
        now: datetime,
        max_batch: int,
        max_batch_bytes: int,
        links: list[dict[str, Any]],
    ) -> Any:
        queued = conn.execute(
            select(
                deliveries.c.seq,
                deliveries.c.id,
                deliveries.c.size,
                deliveries.c.created_at,
                events.c.id.label("event_id"),
                events.c.payload,
            )
            .join(events, events.c.id == deliveries.c.event_id)
            .where(
                deliveries.c.webhook_id == webhook.id,
                deliveries.c.status == "pending",
                deliveries.c.request_id.is_(None),
                deliveries.c.due_at <= now,
            )
            .order_by(deliveries.c.seq)
            .limit(max_batch)
        ).all()
        chosen: list[Any] = []
        total = 0
        for item in queued:
            if chosen and total + item.size > max_batch_bytes:
                break
            chosen.append(item)
            total += item.size
        if not chosen:
            return None
        request_id = new_id("msg")
        body = (
            f'{{"accountId":{int(webhook.account_id)},"events":['
            + ",".join(item.payload for item in chosen)
            + "]}"
        )
        values = {
            "id": request_id,
            "webhook_id": webhook.id,
            "status": _OPEN,
            "body": body,
            "event_ids": json.dumps([item.event_id for item in chosen]),
            "attempts": 0,
            "next_attempt_at": now,
            "oldest_event_at": min(item.created_at for item in chosen),
            "created_at": now,
            "updated_at": now,
        }
        conn.execute(insert(requests).values(**values))
        conn.execute(
            update(deliveries)
            .where(deliveries.c.seq.in_([item.seq for item in chosen]))
            .values(request_id=request_id)
        )
        links.extend({"request_id": request_id, "delivery_id": item.id} for item in chosen)
        return SimpleNamespace(**values)

    def complete(self, outcomes: Sequence[Outcome], *, owner: str, now: datetime) -> None:
        """Store each attempt and apply its verdict, all in one transaction."""
        if not outcomes:
            return
        with self.transaction() as conn:
            conn.execute(
                insert(attempts),
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
            for outcome in outcomes:
                self._apply(conn, outcome, owner, now)

    def _apply(self, conn: Connection, outcome: Outcome, owner: str, now: datetime) -> None:
        job = outcome.job
        open_request = and_(requests.c.id == job.request_id, requests.c.status == _OPEN)
        members = deliveries.c.request_id == job.request_id
        release = {
            "lease_owner": case(
                (webhooks.c.lease_owner == owner, None), else_=webhooks.c.lease_owner
            ),
            "lease_until": case(
                (webhooks.c.lease_owner == owner, now), else_=webhooks.c.lease_until
            ),
        }
        this_webhook = webhooks.c.id == job.webhook_id
        if outcome.verdict == "succeeded":
            conn.execute(
                update(requests)
                .where(open_request)
                .values(status="succeeded", attempts=requests.c.attempts + 1, updated_at=now)
            )
            conn.execute(
                update(deliveries).where(members).values(status="succeeded", updated_at=now)
            )
            conn.execute(update(webhooks).where(this_webhook).values(failing_since=None, **release))
            return
        failing_since = case(
            (webhooks.c.failing_since.is_(None), outcome.started_at), else_=webhooks.c.failing_since
        )
        if outcome.verdict == "retry":
            conn.execute(
                update(requests)
                .where(open_request)
                .values(
                    attempts=requests.c.attempts + 1,
                    next_attempt_at=outcome.next_attempt_at,
                    updated_at=now,
                )
            )
            conn.execute(
                update(deliveries)
                .where(members, deliveries.c.status.in_(["pending", "failed"]))
                .values(status="failed", updated_at=now)
            )
            conn.execute(
                update(webhooks).where(this_webhook).values(failing_since=failing_since, **release)
            )
            return
        conn.execute(
            update(requests)
            .where(open_request)
            .values(status="dead", attempts=requests.c.attempts + 1, updated_at=now)
        )
        conn.execute(update(deliveries).where(members).values(status="dead", updated_at=now))
        if outcome.verdict == "dead":
            conn.execute(
                update(webhooks).where(this_webhook).values(failing_since=failing_since, **release)
            )
            return
        # disable: nothing more goes to this target until someone activates it again.
        conn.execute(
            update(requests)
            .where(requests.c.webhook_id == job.webhook_id, requests.c.status == _OPEN)
            .values(status="dead", updated_at=now)
        )
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == job.webhook_id,
                deliveries.c.status.in_(["pending", "failed"]),
            )
            .values(status="dead", updated_at=now)
        )
        conn.execute(
            update(webhooks)
            .where(this_webhook)
            .values(
                active=False,
                disabled_reason=outcome.disabled_reason,
                failing_since=failing_since,
                updated_at=now,
                **release,
            )
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
