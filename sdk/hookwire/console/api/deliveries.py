"""``/accounts/<id>/deliveries``: the delivery log, one delivery's attempts, resending.

Deliveries have no account of their own: a delivery belongs to the account of
its webhook, so a delivery of another account's webhook answers 404 as a
missing one. Lists are cursor-paged, newest first (``nextCursor`` continues).

An attempt shows the request headers that were sent, rebuilt: the attempt
log keeps no headers, but every one of them follows from what it does keep
(``webhook-id`` is the request id, ``webhook-timestamp`` the attempt's start
in seconds) except the credentials, which are shown as ``[redacted]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, field_validator
from pydantic_core import PydanticCustomError

from ...errors import NotFoundError
from ...outgoing import BASE_HEADERS, request_headers
from ...sender.log_pages import delivery_after
from ...sender.models import Attempt, Delivery, DeliveryStatus, Webhook, is_possible_id, shown_id
from ...sender.outbox import wire_timestamp
from ..problems import ApiError
from ..routing import ApiModel, Call, InputModel, refusal, route

__all__ = ["REDACTED", "delivery_of_account"]

REDACTED = "[redacted]"
"""What a credential header's value shows as."""

_ALL = "/accounts/<int:account_id>/deliveries"
_ONE = _ALL + "/<delivery_id>"
_TAG = "deliveries"
_SIGNED = ("signature", "signature-ed25519")


class DeliveryQuery(InputModel):
    """The delivery list's filters and page (``since`` inclusive, ``until`` exclusive)."""

    webhook_id: str | None = None
    event_name: str | None = Field(None, min_length=1, max_length=120)
    status: DeliveryStatus | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    cursor: Annotated[str | None, refusal(delivery_after, "cursor")] = None
    limit: int = Field(50, ge=1, le=200)

    @field_validator("webhook_id")
    @classmethod
    def _possible_webhook(cls, value: str | None) -> str | None:
        if value is not None and not is_possible_id(value):
            raise PydanticCustomError("webhook_id", "not a webhook id such as 'wh_...'")
        return value


class DeliverySummary(ApiModel):
    """A delivery as the list shows it."""

    id: str
    event_id: str
    event_name: str
    webhook_id: str
    status: DeliveryStatus
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    attempt_count: int

    @classmethod
    def of(cls, delivery: Delivery, attempt_count: int) -> DeliverySummary:
        """The summary of a library delivery."""
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            event_name=delivery.event_name,
            webhook_id=delivery.webhook_id,
            status=delivery.status,
            created_at=delivery.created_at,
            due_at=delivery.due_at,
            updated_at=delivery.updated_at,
            attempt_count=attempt_count,
        )


class DeliveryList(ApiModel):
    """One page of deliveries; ``nextCursor`` is null on the last page."""

    items: list[DeliverySummary]
    next_cursor: str | None


class AttemptModel(ApiModel):
    """One HTTP attempt: what was sent (headers, credentials redacted) and what came back.

    ``statusCode`` is null when no answer came (``error`` says why);
    ``responseExcerpt`` is the start of the answer's body (at most 4 KiB).
    """

    id: str
    request_id: str
    started_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str
    request_headers: dict[str, str]

    @classmethod
    def of(cls, attempt: Attempt, webhook: Webhook) -> AttemptModel:
        """The attempt, with its request headers rebuilt from the log and the webhook's auth."""
        return cls(
            id=attempt.id,
            request_id=attempt.request_id,
            started_at=attempt.started_at,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            response_excerpt=attempt.response_body,
            request_headers=sent_headers(attempt, webhook),
        )


class DeliveryDetail(DeliverySummary):
    """A delivery with its attempts (oldest first) and its event's payload as sent."""

    request_id: str | None
    attempts: list[AttemptModel]
    payload: dict[str, Any]


class RecoverInput(InputModel):
    """Resend the webhook's failed and dead deliveries created at or after ``since``."""

    since: AwareDatetime


class RecoverResult(ApiModel):
    """How many deliveries were queued again (or had their retry moved to now)."""

    count: int


def sent_headers(attempt: Attempt, webhook: Webhook) -> dict[str, str]:
    """The headers an attempt sent, rebuilt, with ``webhook-signature`` and
    ``authorization`` shown as :data:`REDACTED`.

    Built by the sender's own header builder; the credentials follow the
    webhook's kind of auth now (a webhook whose auth changed since shows its
    present kind).
    """
    headers = request_headers(
        attempt.request_id,
        int(attempt.started_at.timestamp()),
        b"",
        authorization=REDACTED if webhook.auth == "basic" else None,
        base=BASE_HEADERS,
    )
    if webhook.auth in _SIGNED:
        headers["webhook-signature"] = REDACTED
    return headers


def delivery_of_account(call: Call, delivery_id: str) -> tuple[Delivery, Webhook]:
    """The delivery (with attempts) and its webhook, if that webhook is the account's;
    404 alike for a missing delivery and another account's."""
    try:
        delivery = call.sender.deliveries.get(delivery_id)
        return delivery, call.webhook(delivery.webhook_id)
    except NotFoundError:
        raise ApiError(
            404, f"no delivery {shown_id(delivery_id)} in account {call.account_id}"
        ) from None


@route(
    "GET",
    _ALL,
    capability="read",
    summary="List the account's deliveries, newest first, a page at a time",
    query=DeliveryQuery,
    response=DeliveryList,
    tag=_TAG,
)
def list_deliveries(call: Call) -> DeliveryList:
    """A page of the account's deliveries, filtered by webhook, event name, status and time."""
    query: DeliveryQuery = call.query
    if query.webhook_id is not None:
        try:
            call.webhook(query.webhook_id)
        except NotFoundError:
            message = f"no webhook {shown_id(query.webhook_id)} in account {call.account_id}"
            raise ApiError(
                422,
                f"query.webhookId: {message}",
                errors=[{"field": "query.webhookId", "message": message}],
            ) from None
    page = call.sender.deliveries.page(
        account_id=call.account_id,
        webhook_id=query.webhook_id,
        event_name=query.event_name,
        status=query.status,
        since=query.since,
        until=query.until,
        cursor=query.cursor,
        limit=query.limit,
    )
    return DeliveryList(
        items=[DeliverySummary.of(d, page.attempt_counts.get(d.id, 0)) for d in page.items],
        next_cursor=page.next_cursor,
    )


@route(
    "GET",
    _ONE,
    capability="read",
    summary="Show one delivery with its attempts and payload",
    response=DeliveryDetail,
    tag=_TAG,
)
def get_delivery(call: Call) -> DeliveryDetail:
    """One delivery: its attempts (headers rebuilt, credentials redacted) and the event sent."""
    delivery, webhook = delivery_of_account(call, call.params["delivery_id"])
    event = call.sender.events.get(delivery.event_id)
    summary = DeliverySummary.of(delivery, len(delivery.attempts))
    return DeliveryDetail(
        **summary.model_dump(),
        request_id=delivery.request_id,
        attempts=[AttemptModel.of(attempt, webhook) for attempt in delivery.attempts],
        payload={
            "eventId": event.id,
            "eventName": event.name,
            "timestamp": wire_timestamp(event.timestamp),
            "data": event.data,
        },
    )


@route(
    "POST",
    _ONE + "/redeliver",
    capability="manage",
    summary="Send a delivery again (a failed one's retry moves to now)",
    response=DeliverySummary,
    tag=_TAG,
)
def redeliver(call: Call) -> DeliverySummary:
    """Queue the delivery again; a pending one is left as it is."""
    before, webhook = delivery_of_account(call, call.params["delivery_id"])
    after = call.sender.deliveries.redeliver(before.id)
    call.audit(
        "delivery.redelivered",
        webhook_id=webhook.id,
        delivery_id=before.id,
        status_before=before.status,
    )
    return DeliverySummary.of(after, len(after.attempts))


@route(
    "POST",
    "/accounts/<int:account_id>/webhooks/<webhook_id>/recover",
    capability="manage",
    summary="Resend a webhook's failed and dead deliveries created since a time",
    body=RecoverInput,
    response=RecoverResult,
    tag=_TAG,
)
def recover(call: Call) -> RecoverResult:
    """Queue again the webhook's failed and dead deliveries created at or after ``since``."""
    body: RecoverInput = call.body
    webhook = call.webhook(call.params["webhook_id"])
    count = call.sender.deliveries.recover(webhook.id, body.since)
    call.audit(
        "webhook.recovered", webhook_id=webhook.id, since=body.since.isoformat(), count=count
    )
    return RecoverResult(count=count)
