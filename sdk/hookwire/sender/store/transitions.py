"""Operator events decided where attempts are recorded: in the dispatcher turn's transaction.

:meth:`Transitions.before` reads (and on PostgreSQL locks) the state of the
webhooks a turn's outcomes belong to, before the turn's statements change it, and in
the same statement whether the operator webhook is active: without it (and without
callbacks in the process) nothing is decided. :meth:`Transitions.record` compares
each outcome with that state, drops the failures, recoveries and deaths of outcomes
whose request the turn did not close as they say (a late outcome of a request another
dispatcher had finished), stores each operator event as an event of the operator
account under an id that names its transition (``ON CONFLICT DO NOTHING``: a
transition stored once is never stored again) and queues the new ones for the
operator webhook. The events reach the turn's
:class:`~hookwire.sender.operator.OperatorTurn` only if they were new, and the
dispatcher hands them to callbacks once the turn has committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Label, select

from ..operator import (
    DELIVERIES_EXPIRED,
    DELIVERY_DEAD,
    MAX_LISTED_EVENT_IDS,
    OPERATOR_ACCOUNT_ID,
    OPERATOR_WEBHOOK_ID,
    WEBHOOK_DISABLED,
    WEBHOOK_FAILING,
    WEBHOOK_RECOVERED,
    WEBHOOK_STILL_FAILING,
    OperatorEvent,
    OperatorTurn,
)
from ..schema import requests, webhooks
from ..work import Outcome, Verdict
from . import sql_common as common
from .outbox import Outbox
from .runner import Database

__all__ = ["Before", "Expiry", "Transitions", "WebhookState"]


@dataclass(slots=True)
class WebhookState:
    """What a webhook's row said before a turn's outcomes (changed as each is applied)."""

    account_id: int
    active: bool
    failing_since: datetime | None


@dataclass(slots=True)
class Before:
    """The state of a turn's webhooks before its outcomes, and whether the operator
    webhook is active (operator events are then queued for it)."""

    states: dict[str, WebhookState]
    operator_active: bool


@dataclass(slots=True)
class Expiry:
    """What died of age in one webhook's queue: how many deliveries, and the ids of the
    first :data:`~hookwire.sender.operator.MAX_LISTED_EVENT_IDS` events in queue order."""

    count: int = 0
    event_ids: list[str] = field(default_factory=list)

    def add(self, count: int, event_ids: Sequence[str]) -> None:
        """Count ``count`` more dead deliveries, listing their events while room is left."""
        self.count += count
        self.event_ids.extend(event_ids[: MAX_LISTED_EVENT_IDS - len(self.event_ids)])


@dataclass(frozen=True, slots=True)
class _Decided:
    """An operator event, and the verdict of the outcome that decided it."""

    event: OperatorEvent
    verdict: Verdict


_ANSWERED = (WEBHOOK_FAILING, WEBHOOK_STILL_FAILING, WEBHOOK_RECOVERED, DELIVERY_DEAD)
"""The events that stand only if the turn applied their outcome to its request."""


def _operator_active() -> Label[Any]:
    """Whether the operator webhook is active, as a column of a query about other webhooks.

    A scalar subquery: read in the caller's transaction, so an operator webhook created
    after the dispatcher started is seen, and never locked (on PostgreSQL the locking
    clause covers the FROM list only), so turns do not queue on it."""
    return (
        select(webhooks.c.active)
        .where(webhooks.c.id == OPERATOR_WEBHOOK_ID)
        .scalar_subquery()
        .label("operator_active")
    )


def _micros(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch: the part of an id naming a failing run."""
    return (moment - datetime.fromtimestamp(0, moment.tzinfo)) // timedelta(microseconds=1)


class Transitions:
    """Decide, store and queue the operator events of a turn's outcomes."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._outbox = Outbox(db)

    def before(
        self, conn: Connection, outcomes: Sequence[Outcome], turn: OperatorTurn
    ) -> Before | None:
        """The state of the outcomes' webhooks (the operator webhook left out), before the
        turn changes it, and whether the operator webhook is active; None when there is
        nothing to decide (no outcome of another webhook, or neither an active operator
        webhook nor ``turn.callbacks``). One statement, on PostgreSQL locking the rows
        until the turn commits, so concurrent turns over one webhook see each other's
        changes."""
        ids = sorted({o.job.webhook_id for o in outcomes} - {OPERATOR_WEBHOOK_ID})
        if not ids:
            return None
        query = (
            select(
                webhooks.c.id,
                webhooks.c.account_id,
                webhooks.c.active,
                webhooks.c.failing_since,
                _operator_active(),
            )
            .where(webhooks.c.id.in_(ids))
            .order_by(webhooks.c.id)
        )
        if self._db.is_postgres:
            # The lock FINISH's own UPDATE takes, taken first: publishers are not blocked.
            query = query.with_for_update(key_share=True)
        states: dict[str, WebhookState] = {}
        operator_active = False
        for webhook_id, account_id, active, failing_since, found in self._db.run(conn, query):
            states[webhook_id] = WebhookState(int(account_id), bool(active), failing_since)
            operator_active = bool(found)
        if not states or not (operator_active or turn.callbacks):
            return None
        return Before(states, operator_active)

    def record(
        self,
        conn: Connection,
        outcomes: Sequence[Outcome],
        before: Before,
        turn: OperatorTurn,
        *,
        now: datetime,
        killed: Mapping[str, int],
    ) -> None:
        """Decide the operator events of ``outcomes`` (already recorded) against ``before``,
        store and queue those not stored yet, and add them to ``turn.fired``."""
        decided: list[_Decided] = []
        for outcome in sorted(outcomes, key=attrgetter("started_at")):
            state = before.states.get(outcome.job.webhook_id)
            if state is not None:
                found = _decide(outcome, state, turn.thresholds, killed)
                decided.extend(_Decided(event, outcome.verdict) for event in found)
        events = self._applied(conn, decided)
        if events:
            fresh = self._store(conn, events, now, queue=before.operator_active)
            # One per id: two outcomes of a turn can decide the same transition.
            fired = {e.event_id: e for e in events if e.event_id in fresh}
            turn.fired.extend(fired.values())

    def expired(
        self,
        conn: Connection,
        killed: Mapping[str, Expiry],
        turn: OperatorTurn,
        *,
        now: datetime,
    ) -> None:
        """Decide, store and queue a ``DELIVERIES_EXPIRED`` event for each webhook whose
        deliveries just died of age (``killed``), in the transaction that killed them;
        add them to ``turn.fired``. The id names the webhook and the moment: deliveries
        die once per transaction (a leased or locked queue), and a resent delivery may
        die again later, which is news again.

        Nothing is decided for the operator webhook's own deliveries, nor without an
        active operator webhook or ``turn.callbacks``."""
        ids = sorted(
            webhook_id
            for webhook_id, expiry in killed.items()
            if webhook_id != OPERATOR_WEBHOOK_ID and expiry.count
        )
        if not ids:
            return
        query = select(webhooks.c.id, webhooks.c.account_id, _operator_active()).where(
            webhooks.c.id.in_(ids)
        )
        accounts: dict[str, int] = {}
        operator_active = False
        for webhook_id, account_id, found in self._db.run(conn, query):
            accounts[webhook_id] = int(account_id)
            operator_active = bool(found)
        if not accounts or not (operator_active or turn.callbacks):
            return
        events = [
            OperatorEvent(
                name=DELIVERIES_EXPIRED,
                event_id=f"hwop_expired_{webhook_id}_{_micros(now)}",
                webhook_id=webhook_id,
                account_id=account_id,
                at=now,
                status_code=None,
                error=None,
                request_id=None,
                attempts=0,
                event_ids=tuple(killed[webhook_id].event_ids),
                event_count=killed[webhook_id].count,
                dead_deliveries=killed[webhook_id].count,
                reason="expired",
            )
            for webhook_id, account_id in accounts.items()
        ]
        fresh = self._store(conn, events, now, queue=operator_active)
        turn.fired.extend(event for event in events if event.event_id in fresh)

    def _applied(self, conn: Connection, decided: list[_Decided]) -> list[OperatorEvent]:
        """The events of ``decided`` whose outcome the turn applied to its request.

        A failure, recovery or death stands only if its request now has the status its
        verdict gives (``sql_common.REQUEST_STATUS``): the turn's FINISH changes open
        requests only, so a late outcome of a request another dispatcher had finished
        (succeeded, given up) decides nothing. Read only when there is such an event,
        which few turns have."""
        answered = {
            d.event.request_id
            for d in decided
            if d.event.name in _ANSWERED and d.event.request_id is not None
        }
        if not answered:
            return [d.event for d in decided]
        query = select(requests.c.id, requests.c.status).where(requests.c.id.in_(sorted(answered)))
        status: dict[str, str] = dict(self._db.run(conn, query).all())
        return [
            d.event
            for d in decided
            if d.event.name not in _ANSWERED
            or status.get(d.event.request_id or "") == common.REQUEST_STATUS[d.verdict]
        ]

    def _store(
        self, conn: Connection, decided: list[OperatorEvent], now: datetime, *, queue: bool
    ) -> set[str]:
        """Store the events whose ids are new and, with ``queue``, queue them for the
        operator webhook; the new ids."""
        distinct = {e.event_id: e for e in decided}
        payloads = {event_id: e.payload() for event_id, e in distinct.items()}
        fresh = self._outbox.insert_events(
            conn,
            [
                {
                    "id": event_id,
                    "account_id": OPERATOR_ACCOUNT_ID,
                    "name": e.name,
                    "timestamp": e.at,
                    "realtime": True,
                    "payload": payloads[event_id],
                    "created_at": now,
                }
                for event_id, e in distinct.items()
            ],
        )
        if fresh and queue:
            self._outbox.insert_deliveries(
                conn,
                [
                    {
                        "event_id": event_id,
                        "webhook_id": OPERATOR_WEBHOOK_ID,
                        "status": "pending",
                        "request_id": None,
                        "size": len(payloads[event_id].encode()),
                        "created_at": now,
                        "due_at": now,
                        "updated_at": now,
                    }
                    for event_id in distinct
                    if event_id in fresh
                ],
            )
        return fresh


def _decide(
    outcome: Outcome,
    state: WebhookState,
    thresholds: tuple[timedelta, ...],
    killed: Mapping[str, int],
) -> list[OperatorEvent]:
    """The operator events one outcome causes, given its webhook's ``state`` (updated to
    what the store recorded, as the turn's statements change the row)."""
    job, started = outcome.job, outcome.started_at
    since = state.failing_since
    facts: dict[str, Any] = {
        "webhook_id": job.webhook_id,
        "account_id": state.account_id,
        "at": started,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "request_id": job.request_id,
        "attempts": job.attempts + 1,
    }
    carried: dict[str, Any] = {
        "event_ids": job.event_ids[:MAX_LISTED_EVENT_IDS],
        "event_count": len(job.event_ids),
    }
    if outcome.verdict == "succeeded":
        state.failing_since = None
        if since is None:
            return []
        return [
            OperatorEvent(
                name=WEBHOOK_RECOVERED,
                event_id=f"hwop_recovered_{job.webhook_id}_{_micros(since)}",
                failing_since=since,
                **facts,
            )
        ]
    state.failing_since = since or started
    if outcome.verdict == "disable":
        # The disabling says it all: no failing or dead event beside it.
        was_active, state.active = state.active, False
        if not was_active:
            return []
        return [
            OperatorEvent(
                name=WEBHOOK_DISABLED,
                event_id=f"hwop_disabled_{outcome.attempt_id}",
                failing_since=state.failing_since,
                dead_deliveries=killed.get(job.webhook_id, 0),
                reason=outcome.disabled_reason,
                **carried,
                **facts,
            )
        ]
    found: list[OperatorEvent] = []
    if since is None:
        found.append(
            OperatorEvent(
                name=WEBHOOK_FAILING,
                event_id=f"hwop_failing_{job.webhook_id}_{_micros(started)}",
                failing_since=started,
                **facts,
            )
        )
    else:
        crossed = [t for t in thresholds if started - since >= t]
        if crossed:
            # Only the longest: a webhook past 12 h is not announced at 1 h as well.
            threshold = crossed[-1]
            seconds = int(threshold.total_seconds())
            found.append(
                OperatorEvent(
                    name=WEBHOOK_STILL_FAILING,
                    event_id=f"hwop_still_{job.webhook_id}_{_micros(since)}_{seconds}",
                    failing_since=since,
                    threshold=threshold,
                    **facts,
                )
            )
    if outcome.verdict == "dead":
        found.append(
            OperatorEvent(
                name=DELIVERY_DEAD,
                event_id=f"hwop_dead_{job.request_id}",
                failing_since=state.failing_since,
                **carried,
                **facts,
            )
        )
    return found
