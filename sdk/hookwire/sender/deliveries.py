"""``sender.deliveries``: the delivery log, and resending what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ..errors import NotFoundError, QueryError
from .models import (
    DELIVERY_STATUSES,
    Delivery,
    DeliveryStatus,
    check_aware,
    check_limit,
    is_possible_id,
    shown_id,
)
from .store import Store

__all__ = ["Deliveries"]

log = logging.getLogger("hookwire.sender")


class Deliveries:
    """List deliveries with their attempts, and queue failed or dead ones again.

    A filter, limit or time that is not valid raises
    :class:`~hookwire.errors.QueryError`; an id that names nothing,
    :class:`~hookwire.errors.NotFoundError`.

    Example::

        for delivery in sender.deliveries.list(status="dead"):
            sender.deliveries.redeliver(delivery.id)
    """

    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], wake: Callable[[], None]
    ) -> None:
        self._store = store
        self._clock = clock
        self._wake = wake

    def list(
        self, webhook_id: str | None = None, status: DeliveryStatus | None = None, limit: int = 50
    ) -> list[Delivery]:
        """The newest deliveries first, of one webhook and in one status if given."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise QueryError(
                f"unknown status {str(status)[:40]!r}; use one of {', '.join(DELIVERY_STATUSES)}"
            )
        _check_filter(webhook_id)
        return self._store.list_deliveries(webhook_id, status, check_limit(limit, QueryError))

    def get(self, delivery_id: str) -> Delivery:
        """One delivery with all its attempts; :class:`~hookwire.errors.NotFoundError` if none."""
        found = self._store.get_delivery(delivery_id) if is_possible_id(delivery_id) else None
        if found is None:
            raise NotFoundError(
                f"no delivery {shown_id(delivery_id)}; list them with sender.deliveries.list()"
            )
        return found

    def counts(self, webhook_id: str | None = None) -> dict[str, int]:
        """How many deliveries are pending, succeeded, failed and dead."""
        _check_filter(webhook_id)
        return self._store.delivery_counts(webhook_id)

    def redeliver(self, delivery_id: str) -> Delivery:
        """Send a delivery again: a succeeded or dead one is queued anew, a failed
        one has its next retry moved to now. A pending one is left as it is."""
        self.get(delivery_id)
        if self._store.resend(delivery_ids=[delivery_id], now=self._clock()):
            log.info("delivery %s queued again", delivery_id)
            self._wake()
        return self.get(delivery_id)

    def recover(self, webhook_id: str, since: datetime) -> int:
        """Resend a webhook's failed and dead deliveries created since ``since``; count them."""
        check_aware(since, "since", QueryError)
        if not is_possible_id(webhook_id) or self._store.get_webhook(webhook_id) is None:
            raise NotFoundError(
                f"no webhook {shown_id(webhook_id)}; list them with sender.webhooks.list()"
            )
        count = self._store.resend(webhook_id=webhook_id, since=since, now=self._clock())
        if count:
            log.info("webhook %s: %d deliveries queued again", webhook_id, count)
            self._wake()
        return count


def _check_filter(webhook_id: object) -> None:
    if webhook_id is not None and not is_possible_id(webhook_id):
        raise QueryError("webhook_id must be a webhook id string such as 'wh_...'")
