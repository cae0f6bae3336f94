"""``/accounts/<id>/audit``: the account's audit log, newest first, a page at a time.

Each entry says who (the principal's name) did what (``webhook.updated``,
``delivery.redelivered``, ``event.published``, ...) to which webhook, when,
and what changed (field names and ids, never a secret; its keys in camelCase
like the rest of the API).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from pydantic.alias_generators import to_camel

from .. import audit
from ..routing import ApiModel, Call, InputModel, refusal, route

__all__: list[str] = []


class AuditQuery(InputModel):
    """The audit list's filters and page."""

    webhook_id: str | None = Field(None, min_length=1, max_length=40)
    action: str | None = Field(None, min_length=1, max_length=64)
    cursor: Annotated[str | None, refusal(audit.audit_after, "cursor")] = None
    limit: int = Field(50, ge=1, le=200)


class AuditEntryModel(ApiModel):
    """One change: ``actor`` did ``action`` (to ``webhookId``) at ``at``; ``detail`` says what."""

    id: str
    actor: str
    action: str
    webhook_id: str | None
    detail: dict[str, Any]
    at: datetime


class AuditList(ApiModel):
    """One page of audit entries; ``nextCursor`` is null on the last page."""

    items: list[AuditEntryModel]
    next_cursor: str | None


@route(
    "GET",
    "/accounts/<int:account_id>/audit",
    capability="read",
    summary="List the account's audit log, newest first, a page at a time",
    query=AuditQuery,
    response=AuditList,
    tag="audit",
)
def list_audit(call: Call) -> AuditList:
    """A page of the account's audit entries, of one webhook and one action if given."""
    query: AuditQuery = call.query
    with call.state.reading() as conn:
        found = audit.page(
            conn,
            account_id=call.account_id,
            webhook_id=query.webhook_id,
            action=query.action,
            cursor=query.cursor,
            limit=query.limit,
        )
    return AuditList(
        items=[
            AuditEntryModel(
                id=entry.id,
                actor=entry.actor,
                action=entry.action,
                webhook_id=entry.webhook_id,
                detail={to_camel(key): value for key, value in entry.detail.items()},
                at=entry.at,
            )
            for entry in found.items
        ],
        next_cursor=found.next_cursor,
    )
