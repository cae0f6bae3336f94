"""The delivery log pages: the filtered, cursor-paged list (``sender.deliveries.page``);
one delivery's payload and attempts; redeliver, and recover a webhook's failures since a time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue

from ..events import CATALOGUE
from ..sender import DELIVERY_STATUSES, Delivery, Webhook
from ..sender.outbox import wire_timestamp
from .api.deliveries import sent_headers
from .pages_kit import PageCall, page
from .problems import ApiError

__all__ = ["PAGE_SIZE"]

PAGE_SIZE = 25
"""Deliveries on one page of the log."""
_LOG = "/accounts/<int:account_id>/deliveries"


def _when(name: str) -> datetime | None:
    """A ``datetime-local`` filter value, read as UTC; a value that is not one is a 422."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, f"{name}: give a date and time such as 2026-01-31T09:30") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _filters(hooks: list[Webhook]) -> dict[str, Any]:
    """The log's filters from the query string, each checked against what can exist."""
    webhook_id = request.args.get("webhook", "")
    if webhook_id and webhook_id not in {hook.id for hook in hooks}:
        raise ApiError(422, f"webhook: the account has no webhook {webhook_id[:60]!r}")
    status = request.args.get("status", "")
    if status and status not in DELIVERY_STATUSES:
        raise ApiError(422, f"status: use one of {', '.join(DELIVERY_STATUSES)}")
    event = request.args.get("event", "")
    if event and event not in CATALOGUE:
        raise ApiError(422, f"event: unknown event name {event[:60]!r}")
    return {
        "webhook": webhook_id,
        "status": status,
        "event": event,
        "since": _when("since"),
        "until": _when("until"),
    }


@page(_LOG)
def delivery_log(call: PageCall, account_id: int) -> ResponseReturnValue:
    """The account's deliveries, newest first, filtered and paged by cursor."""
    hooks = call.sender.webhooks.list(account_id)
    chosen = _filters(hooks)
    cursor = request.args.get("cursor") or None
    found = call.sender.deliveries.page(
        account_id=account_id,
        webhook_id=chosen["webhook"] or None,
        event_name=chosen["event"] or None,
        status=chosen["status"] or None,
        since=chosen["since"],
        until=chosen["until"],
        cursor=cursor,
        limit=PAGE_SIZE,
    )
    following = found.next_cursor
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor" and v}
    return call.render(
        "deliveries.html",
        deliveries=found.items,
        attempt_counts=found.attempt_counts,
        hooks=hooks,
        names={hook.id: hook.name for hook in hooks},
        chosen=chosen,
        statuses=DELIVERY_STATUSES,
        events=list(CATALOGUE),
        next_url=url_for(".page_delivery_log", account_id=account_id, cursor=following, **args)
        if following
        else None,
        first_url=url_for(".page_delivery_log", account_id=account_id, **args) if cursor else None,
        title="Delivery log",
    )


def _delivery(call: PageCall, delivery_id: str) -> Delivery:
    found = call.sender.deliveries.get(delivery_id)
    if found.account_id != call.account_id:
        raise ApiError(404, f"no delivery {delivery_id!r} in account {call.account_id}")
    return found


@page(_LOG + "/<delivery_id>")
def delivery(call: PageCall, account_id: int, delivery_id: str) -> ResponseReturnValue:
    """One delivery: its event's payload as formatted JSON and its attempts as a timeline."""
    found = _delivery(call, delivery_id)
    event = call.sender.events.get(found.event_id)
    wire = {
        "eventId": event.id,
        "eventName": event.name,
        "timestamp": wire_timestamp(event.timestamp),
        "data": event.data,
    }
    hooks = {hook.id: hook for hook in call.sender.webhooks.list(account_id)}
    hook = hooks.get(found.webhook_id)
    timeline = [
        (attempt, sent_headers(attempt, hook) if hook is not None else {})
        for attempt in sorted(found.attempts, key=lambda a: a.started_at, reverse=True)
    ]
    return call.render(
        "delivery.html",
        delivery=found,
        hook=hook,
        payload=json.dumps(wire, indent=2, ensure_ascii=False),
        timeline=timeline,
        title=f"Delivery {found.id}",
    )


@page(_LOG + "/<delivery_id>/redeliver", capability="manage", methods=("POST",))
def redeliver(call: PageCall, account_id: int, delivery_id: str) -> ResponseReturnValue:
    """Queue the delivery again and come back to it."""
    found = _delivery(call, delivery_id)
    call.sender.deliveries.redeliver(found.id)
    call.audit(
        "delivery.redelivered",
        webhook_id=found.webhook_id,
        delivery_id=found.id,
        status_before=found.status,
    )
    return redirect(
        url_for(".page_delivery", account_id=account_id, delivery_id=found.id, queued=1), 303
    )


@page(_LOG + "/recover", capability="manage", methods=("POST",))
def recover(call: PageCall, account_id: int) -> ResponseReturnValue:
    """Resend a webhook's failed and dead deliveries created since the chosen time."""
    webhook_id = request.form.get("webhook", "")
    hook = next((h for h in call.sender.webhooks.list(account_id) if h.id == webhook_id), None)
    if hook is None:
        raise ApiError(422, "webhook: choose one of the account's webhooks")
    raw = request.form.get("since", "").strip()
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "since: give a date and time such as 2026-01-31T09:30") from None
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    count = call.sender.deliveries.recover(hook.id, since)
    call.audit("webhook.recovered", webhook_id=hook.id, since=since, count=count)
    return redirect(url_for(".page_delivery_log", account_id=account_id, recovered=count), 303)
