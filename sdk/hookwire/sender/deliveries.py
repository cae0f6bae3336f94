"""``sender.deliveries``: the delivery log, and resending what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from ..errors import NotFoundError, QueryError
from ..hints import Hint
from . import log_pages
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
            raise NotFoundError(f"no delivery {shown_id(delivery_id)}", hint=Hint.LIST_DELIVERIES)
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
            raise NotFoundError(f"no webhook {shown_id(webhook_id)}", hint=Hint.LIST_WEBHOOKS)
        count = self._store.resend(webhook_id=webhook_id, since=since, now=self._clock())
        if count:
            log.info("webhook %s: %d deliveries queued again", webhook_id, count)
            self._wake()
        return count

    def page(
        self,
        *,
        account_id: int | None = None,
        webhook_id: str | None = None,
        event_name: str | None = None,
        status: DeliveryStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> log_pages.DeliveryPage:
        """One page of deliveries, newest first; pass ``next_cursor`` back for the next.

        Each filter given narrows the page: the account's webhooks, one
        webhook, one event name, one status, created in ``[since, until)``.
        Paging is by key, so a deep page costs what the first costs and
        deliveries published meanwhile do not shift the pages. ``limit`` is 1
        to 1000. A bad filter, or a ``cursor`` this method did not give, is a
        :class:`~hookwire.errors.QueryError`.

        Example::

            cursor = None
            while True:
                page = sender.deliveries.page(account_id=1010, status="dead", cursor=cursor)
                for delivery in page.items:
                    print(delivery.id, page.attempt_counts[delivery.id])
                if (cursor := page.next_cursor) is None:
                    break
        """
        wanted = log_pages.DeliveryFilter.checked(
            account_id=account_id,
            webhook_id=webhook_id,
            event_name=event_name,
            status=status,
            since=since,
            until=until,
        )
        size = log_pages.check_page_limit(limit)
        return self._store.delivery_page(wanted, cursor=cursor, limit=size)

    def stats(
        self, webhook_id: str, *, window: timedelta = timedelta(hours=24)
    ) -> log_pages.WebhookStats:
        """How a webhook has been doing: its attempts' success rate over the last ``window``
        (see :class:`~hookwire.sender.WebhookStats`), its last attempt, since when it has
        been failing, and how many deliveries wait; NotFoundError if there is no such webhook."""
        log_pages.check_window(window)
        found = None
        if is_possible_id(webhook_id):
            found = self._store.webhook_stats(webhook_id, now=self._clock(), window=window)
        if found is None:
            raise NotFoundError(f"no webhook {shown_id(webhook_id)}", hint=Hint.LIST_WEBHOOKS)
        return found


def _check_filter(webhook_id: object) -> None:
    if webhook_id is not None and not is_possible_id(webhook_id):
        raise QueryError("webhook_id must be a webhook id string such as 'wh_...'")
