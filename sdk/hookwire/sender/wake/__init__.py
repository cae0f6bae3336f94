"""Waking dispatchers: how new work ends a dispatcher's sleep, in this process and in others.

A dispatcher sleeps between turns until an attempt lands, ``stop`` is set, or
``poll_interval`` passes. New work ends the sleep early by one of these paths:

- **This process**: ``publish``, ``redeliver``, ``recover`` and registry changes
  call the sender's wakers once their transaction commits (an asyncio event set
  thread-safely; see ``Outbox._woken``).
- **PostgreSQL, any process**: the statement that inserts deliveries also runs
  ``pg_notify('hookwire_work', <schema>)``, which the server delivers at commit
  (once per transaction: it folds identical notifications) and drops on
  rollback; each running dispatcher
  listens on a connection of its own (:class:`.postgres.NotifyWatch`) and wakes
  for its own store's schema. Redeliveries and registry changes notify after
  their commit (:func:`notify`).
- **SQLite, any process**: an idle dispatcher (nothing in flight) reads
  ``PRAGMA data_version`` on a connection of its own, which changes when
  another connection commits: whenever the write-ahead log is written (Linux's
  inotify), or else on a timer that starts at a millisecond and slows the
  longer nothing changes (:class:`.sqlite.DataVersionWatch`).

Every path is a shortcut, never the only way: the dispatcher still looks every
``poll_interval``, so a missed or lost wake costs latency, never an event.
``drain`` (``until_idle``) opens no watch: it never sleeps with nothing in flight.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from ...errors import error_line
from ..store import Store

__all__ = ["Watch", "notify", "watch"]

log = logging.getLogger("hookwire.sender")


class Watch(Protocol):
    """What a dispatcher needs from a cross-process wake: see :func:`watch`."""

    def mark(self) -> None:
        """Note the store's state; called before each claim, so that a later
        change is one the claim may not have seen."""

    async def until_changed(self, wake: asyncio.Event) -> None:
        """Return once the store changed since :meth:`mark`, or ``wake`` is set."""

    def close(self) -> None:
        """Stop watching and give back the watch's connection."""


def watch(store: Store, wake: Callable[[], None], clock: Callable[[], datetime]) -> Watch | None:
    """The cross-process watch for ``store``, started in the running loop; ``None`` when
    nothing else can write to it (an in-memory SQLite database) or it cannot be opened.

    On PostgreSQL ``wake`` is called for every notification naming the store; on
    SQLite the dispatcher awaits :meth:`Watch.until_changed` while idle, which asks
    whether work is due at ``clock()`` (the dispatcher's clock) before returning.
    """
    if store.is_postgres:
        if store.engine.dialect.driver != "psycopg":
            log.info("no wake from other processes without psycopg 3; looking every poll_interval")
            return None
        from .postgres import NotifyWatch

        return NotifyWatch(store, wake)
    from .sqlite import DataVersionWatch

    if not DataVersionWatch.usable(store):
        return None
    try:
        return DataVersionWatch(store, clock)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        log.warning(
            "cannot watch the database for other processes' work; looking every "
            "poll_interval instead: %s",
            error_line(exc),
        )
        return None


def notify(store: Store) -> None:
    """PostgreSQL: notify other processes' dispatchers now, in a transaction of its own,
    after a change committed elsewhere (a redelivery, a webhook switched on).

    A failure is logged, not raised: the change itself is committed, and the
    dispatchers find it at their next poll.
    """
    if not store.is_postgres:
        return
    try:
        with store.transaction() as conn:
            store.notify_work(conn)
    except SQLAlchemyError as exc:
        log.warning(
            "could not wake dispatchers in other processes (they find the work "
            "within poll_interval): %s",
            error_line(exc),
        )
