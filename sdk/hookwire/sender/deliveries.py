"""``sender.deliveries``: the delivery log, and resending what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ..errors import NotFoundError, RegistryError
from .models import DELIVERY_STATUSES, Delivery, DeliveryStatus
from .store import Store

__all__ = ["Deliveries"]

log = logging.getLogger("hookwire.sender")


class Deliveries:
    """List deliveries with their attempts, and queue failed or dead ones again.

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
            raise RegistryError(
                f"unknown status {status!r}; use one of {', '.join(DELIVERY_STATUSES)}"
            )
        return self._store.list_deliveries(webhook_id, status, limit)

    def get(self, delivery_id: str) -> Delivery:
        """One delivery with all its attempts; :class:`~hookwire.errors.NotFoundError` if none."""
        found = self._store.get_delivery(delivery_id)
        if found is None:
            raise NotFoundError(
                f"no delivery {delivery_id!r}; list them with sender.deliveries.list()"
            )
        return found

    def counts(self, webhook_id: str | None = None) -> dict[str, int]:
        """How many deliveries are pending, succeeded, failed and dead."""
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
        if since.tzinfo is None:
            raise RegistryError("since must be a timezone-aware datetime")
        if self._store.get_webhook(webhook_id) is None:
            raise NotFoundError(f"no webhook {webhook_id!r}")
        count = self._store.resend(webhook_id=webhook_id, since=since, now=self._clock())
        if count:
            log.info("webhook %s: %d deliveries queued again", webhook_id, count)
            self._wake()
        return count
