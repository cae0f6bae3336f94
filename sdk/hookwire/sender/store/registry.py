"""Webhooks and their signing secrets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from ..models import Webhook
from ..operator import OPERATOR_WEBHOOK_ID
from ..rows import webhook_from_row
from ..schema import (
    UtcDateTime,
    attempts,
    deliveries,
    request_deliveries,
    requests,
    webhook_secrets,
    webhooks,
)
from .runner import Database

__all__ = ["Registry"]

_PUBLIC_COLUMNS = [c for c in webhooks.c if c.name != "basic_password"]
# The reserved operator webhook belongs to no account: never listed or counted.
_LISTED = webhooks.c.id != OPERATOR_WEBHOOK_ID


# Built once: the dispatcher asks for secrets on every turn.
_VALID_SECRETS = (
    select(webhook_secrets.c.webhook_id, webhook_secrets.c.secret)
    .where(
        webhook_secrets.c.webhook_id.in_(bindparam("ids", expanding=True)),
        or_(
            webhook_secrets.c.expires_at.is_(None),
            webhook_secrets.c.expires_at > bindparam("now", type_=UtcDateTime),
        ),
    )
    .order_by(webhook_secrets.c.id.desc())
)


# Built once: the console reads webhooks on every request.
_ONE_WEBHOOK = select(*_PUBLIC_COLUMNS).where(webhooks.c.id == bindparam("id"))
_ALL_WEBHOOKS = (
    select(*_PUBLIC_COLUMNS).where(_LISTED).order_by(webhooks.c.created_at, webhooks.c.id)
)
_ACCOUNT_WEBHOOKS = _ALL_WEBHOOKS.where(webhooks.c.account_id == bindparam("account_id"))


class Registry:
    """Create, read, change and delete webhooks; keep their signing secrets."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def count_webhooks(self, account_id: int) -> int:
        """How many webhooks the account has, active or not."""
        with self._db.transaction() as conn:
            count = self._db.run(
                conn,
                select(func.count())
                .select_from(webhooks)
                .where(webhooks.c.account_id == account_id, _LISTED),
            ).scalar_one()
        return int(count)

    def insert_webhook(
        self, values: Mapping[str, Any], *, secret: str | None, limit: int
    ) -> Webhook | None:
        """Insert a webhook (and its first secret) unless the account has ``limit`` already.

        Returns ``None`` when the limit is reached; the count and the insert
        happen in one transaction.
        """
        with self._db.transaction() as conn:
            count = self._db.run(
                conn,
                select(func.count())
                .select_from(webhooks)
                .where(webhooks.c.account_id == values["account_id"], _LISTED),
            ).scalar_one()
            if count >= limit:
                return None
            self._db.run(conn, insert(webhooks).values(**values))
            if secret is not None:
                self._db.run(
                    conn,
                    insert(webhook_secrets).values(
                        webhook_id=values["id"], secret=secret, created_at=values["created_at"]
                    ),
                )
            row = self._db.run(
                conn, select(*_PUBLIC_COLUMNS).where(webhooks.c.id == values["id"])
            ).one()
        return webhook_from_row(row)

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        """The webhook with this id, or ``None`` (a read: no write lock)."""
        with self._db.reading() as conn:
            row = self._db.run(conn, _ONE_WEBHOOK, {"id": webhook_id}).one_or_none()
        return webhook_from_row(row) if row is not None else None

    def list_webhooks(self, account_id: int | None = None) -> list[Webhook]:
        """All webhooks (of one account), oldest first (a read: no write lock)."""
        with self._db.reading() as conn:
            if account_id is None:
                rows = self._db.run(conn, _ALL_WEBHOOKS)
            else:
                rows = self._db.run(conn, _ACCOUNT_WEBHOOKS, {"account_id": account_id})
            return [webhook_from_row(row) for row in rows]

    def update_webhook(
        self,
        webhook_id: str,
        values: Mapping[str, Any],
        *,
        secrets: tuple[str | None] | None = None,
    ) -> Webhook | None:
        """Change columns of a webhook; ``None`` when there is no such webhook.

        With ``secrets`` (a new auth), the webhook's secrets are replaced by the one
        it holds (none for ``(None,)``) in the same transaction, so a refused write
        leaves both the auth kind and its secrets as they were.
        """
        with self._db.transaction() as conn:
            changed = self._db.run(
                conn, update(webhooks).where(webhooks.c.id == webhook_id).values(**values)
            ).rowcount
            if not changed:
                return None
            if secrets is not None:
                self._replace_secrets(conn, webhook_id, secrets[0], now=values["updated_at"])
            row = self._db.run(
                conn, select(*_PUBLIC_COLUMNS).where(webhooks.c.id == webhook_id)
            ).one()
        return webhook_from_row(row)

    def delete_webhook(self, webhook_id: str) -> bool:
        """Delete a webhook with its secrets, deliveries, requests and attempts."""
        with self._db.transaction() as conn:
            found = self._db.run(conn, delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount
            if not found:
                return False
            request_ids = select(requests.c.id).where(requests.c.webhook_id == webhook_id)
            self._db.run(
                conn,
                delete(request_deliveries).where(request_deliveries.c.request_id.in_(request_ids)),
            )
            self._db.run(conn, delete(attempts).where(attempts.c.request_id.in_(request_ids)))
            self._db.run(conn, delete(requests).where(requests.c.webhook_id == webhook_id))
            self._db.run(conn, delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
            self._db.run(
                conn, delete(webhook_secrets).where(webhook_secrets.c.webhook_id == webhook_id)
            )
        return True

    def basic_password(self, webhook_id: str) -> str | None:
        """The stored basic auth password of a webhook (to send it, never to show it)."""
        with self._db.transaction() as conn:
            value = self._db.run(
                conn, select(webhooks.c.basic_password).where(webhooks.c.id == webhook_id)
            ).scalar()
        return str(value) if value is not None else None

    def _replace_secrets(
        self, conn: Connection, webhook_id: str, secret: str | None, *, now: datetime
    ) -> None:
        """Drop every secret of a webhook and keep only ``secret`` (when auth changes)."""
        self._db.run(
            conn, delete(webhook_secrets).where(webhook_secrets.c.webhook_id == webhook_id)
        )
        if secret is not None:
            self._db.run(
                conn,
                insert(webhook_secrets).values(
                    webhook_id=webhook_id, secret=secret, created_at=now
                ),
            )

    def rotate_secret(
        self, webhook_id: str, secret: str, *, now: datetime, expires: datetime
    ) -> None:
        """Add a new secret; secrets still valid keep signing until ``expires`` at the latest."""
        with self._db.transaction() as conn:
            live = webhook_secrets.c.webhook_id == webhook_id
            self._db.run(
                conn,
                update(webhook_secrets)
                .where(
                    live,
                    or_(
                        webhook_secrets.c.expires_at.is_(None),
                        webhook_secrets.c.expires_at > expires,
                    ),
                )
                .values(expires_at=expires),
            )
            self._db.run(
                conn,
                insert(webhook_secrets).values(
                    webhook_id=webhook_id, secret=secret, created_at=now
                ),
            )

    def valid_secrets(
        self, webhook_ids: Iterable[str], *, now: datetime, connection: Connection | None = None
    ) -> dict[str, list[str]]:
        """Each webhook's secrets valid at ``now``, newest first."""
        found: dict[str, list[str]] = {}
        ids = list(webhook_ids)
        if not ids:
            return found
        with self._db.transaction(connection) as conn:
            for webhook_id, secret in self._db.run(conn, _VALID_SECRETS, {"ids": ids, "now": now}):
                found.setdefault(webhook_id, []).append(secret)
        return found

    def secrets_created_at(self, webhook_id: str) -> datetime | None:
        """When the newest secret of a webhook was made."""
        with self._db.transaction() as conn:
            value: datetime | None = self._db.run(
                conn,
                select(func.max(webhook_secrets.c.created_at)).where(
                    webhook_secrets.c.webhook_id == webhook_id
                ),
            ).scalar()
        return value
