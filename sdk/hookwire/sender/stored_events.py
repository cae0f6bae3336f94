"""``sender.events``: the stored events, read back for ``hookwire events list`` and the console.

The read side of the events the outbox stores: listing, fetching one and
paging with filters. It is apart from ``outbox``, which validates, stores and
fans out events, because reading them shares none of that work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..errors import NotFoundError, QueryError
from ..hints import Hint
from . import log_pages
from .models import StoredEvent, check_account_id, check_limit, is_possible_id, shown_id
from .store import Store

__all__ = ["Events"]


class Events:
    """``sender.events``: the stored events, for ``hookwire events list``."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def list(self, account_id: int | None = None, limit: int = 50) -> list[StoredEvent]:
        """The newest events first (of one account if given); :class:`~hookwire.errors.QueryError`
        for an ``account_id`` or ``limit`` that is not valid."""
        if account_id is not None:
            check_account_id(account_id, QueryError)
        return self._store.list_events(account_id, check_limit(limit, QueryError))

    def get(self, event_id: str) -> StoredEvent:
        """One stored event; :class:`~hookwire.errors.NotFoundError` if none."""
        found = self._store.get_event(event_id) if is_possible_id(event_id) else None
        if found is None:
            raise NotFoundError(f"no event {shown_id(event_id)}", hint=Hint.LIST_EVENTS)
        return found

    def page(
        self,
        *,
        account_id: int | None = None,
        name: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> log_pages.EventPage:
        """One page of stored events, newest first; pass ``next_cursor`` back for the next.

        Each filter given narrows the page: one account, one event name,
        created in ``[since, until)``. Paging is by key (``created_at``, then
        id), so a deep page costs what the first costs. ``limit`` is 1 to
        1000. A bad filter, or a ``cursor`` this method did not give, is a
        :class:`~hookwire.errors.QueryError`.
        """
        wanted = log_pages.EventFilter.checked(
            account_id=account_id, name=name, since=since, until=until
        )
        size = log_pages.check_page_limit(limit)
        return self._store.event_page(wanted, cursor=cursor, limit=size)
