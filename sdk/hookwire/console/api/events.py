"""``/accounts/<id>/events``: the account's published events, and publishing one.

Lists are cursor-paged, newest first (``nextCursor`` continues). An event of
another account answers 404 as a missing one. Publishing takes the
``publish`` capability, which operators hold: it queues a real delivery to
every active subscribed webhook of the account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field

from ...errors import NotFoundError, PayloadError
from ...sender.log_pages import time_after
from ...sender.models import StoredEvent, shown_id
from ...sender.outbox import wire_timestamp
from ..problems import ApiError
from ..routing import ApiModel, Call, InputModel, refusal, route

__all__ = ["event_of_account"]

_ALL = "/accounts/<int:account_id>/events"
_TAG = "events"


def _event_after(cursor: str | None) -> object:
    return time_after(cursor, "event")


class EventQuery(InputModel):
    """The event list's filters and page (``since`` inclusive, ``until`` exclusive)."""

    event_name: str | None = Field(None, min_length=1, max_length=120)
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    cursor: Annotated[str | None, refusal(_event_after, "cursor")] = None
    limit: int = Field(50, ge=1, le=200)


class EventSummary(ApiModel):
    """A stored event as the list shows it (``timestamp`` is the event's own time)."""

    id: str
    event_name: str
    timestamp: datetime
    realtime: bool
    created_at: datetime

    @classmethod
    def of(cls, event: StoredEvent) -> EventSummary:
        """The summary of a library event."""
        return cls(
            id=event.id,
            event_name=event.name,
            timestamp=event.timestamp,
            realtime=event.realtime,
            created_at=event.created_at,
        )


class EventList(ApiModel):
    """One page of events; ``nextCursor`` is null on the last page."""

    items: list[EventSummary]
    next_cursor: str | None


class EventDetail(EventSummary):
    """A stored event with its ``data`` and its ``payload`` as it goes on the wire."""

    data: dict[str, Any]
    payload: dict[str, Any]


class PublishInput(InputModel):
    """An event to publish: its catalogue name and data, optionally its id and time."""

    event_name: str
    data: dict[str, Any]
    event_id: str | None = None
    timestamp: AwareDatetime | None = None


class PublishResult(ApiModel):
    """What publishing did: the event's id, the webhooks queued for, whether it was stored
    before (then nothing was queued again)."""

    event_id: str
    webhook_ids: list[str]
    duplicate: bool


def event_of_account(call: Call, event_id: str) -> StoredEvent:
    """The account's stored event; 404 alike for a missing one and another account's."""
    try:
        found = call.sender.events.get(event_id)
    except NotFoundError:
        found = None
    if found is None or found.account_id != call.account_id:
        raise ApiError(404, f"no event {shown_id(event_id)} in account {call.account_id}")
    return found


def _field_of(location: str) -> str:
    """A library payload location (``data.userId``) as the body's field name."""
    return location or "body"


@route(
    "GET",
    _ALL,
    capability="read",
    summary="List the account's published events, newest first, a page at a time",
    query=EventQuery,
    response=EventList,
    tag=_TAG,
)
def list_events(call: Call) -> EventList:
    """A page of the account's events, filtered by name and time."""
    query: EventQuery = call.query
    page = call.sender.events.page(
        account_id=call.account_id,
        name=query.event_name,
        since=query.since,
        until=query.until,
        cursor=query.cursor,
        limit=query.limit,
    )
    return EventList(
        items=[EventSummary.of(event) for event in page.items], next_cursor=page.next_cursor
    )


@route(
    "GET",
    # ``path:``: an event id is the publisher's own and may hold a slash.
    _ALL + "/<path:event_id>",
    capability="read",
    summary="Show one published event with its data",
    response=EventDetail,
    tag=_TAG,
)
def get_event(call: Call) -> EventDetail:
    """One event of the account, with its wire payload."""
    event = event_of_account(call, call.params["event_id"])
    payload = {
        "eventId": event.id,
        "eventName": event.name,
        "timestamp": wire_timestamp(event.timestamp),
        "data": event.data,
    }
    return EventDetail(**EventSummary.of(event).model_dump(), data=event.data, payload=payload)


@route(
    "POST",
    _ALL,
    capability="publish",
    summary="Publish an event to the account's subscribed webhooks (operators)",
    body=PublishInput,
    response=PublishResult,
    status=201,
    tag=_TAG,
)
def publish_event(call: Call) -> PublishResult:
    """Store the event and queue its deliveries; a stored id answers ``duplicate: true``."""
    body: PublishInput = call.body
    try:
        published = call.sender.publish(
            body.event_name,
            data=body.data,
            account_id=call.account_id,
            event_id=body.event_id,
            timestamp=body.timestamp,
        )
    except PayloadError as exc:
        field = _field_of(exc.location)
        raise ApiError(
            422,
            f"{field}: {exc.message}",
            hint=exc.hint,
            errors=[{"field": field, "message": exc.message}],
        ) from None
    call.audit(
        "event.published",
        event_id=published.event_id,
        event_name=body.event_name,
        duplicate=published.duplicate,
        webhook_count=len(published.webhook_ids),
    )
    return PublishResult(
        event_id=published.event_id,
        webhook_ids=list(published.webhook_ids),
        duplicate=published.duplicate,
    )
