"""PostgreSQL's cross-process wake: a dispatcher LISTENs for its store's notifications."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.pool import PoolProxiedConnection

from ...errors import error_line
from ..store import Store
from ..store.sql_postgres import (
    LISTEN_WORK,
    NAME_WAKE_CONNECTION,
    WAKE_APPLICATION_NAME,
    WORK_CHANNEL,
    WORK_SCHEMA,
)

__all__ = ["NotifyWatch"]

log = logging.getLogger("hookwire.sender")


class _Closed(Exception):
    """The watch closed while a connection was being opened for it."""


class NotifyWatch:
    """Calls ``wake`` when a transaction that queued work for this store commits.

    The watch takes a connection from the store's engine (so the engine's own
    connect settings and search path apply), names it ``APPLICATION_NAME`` in
    ``pg_stat_activity``, runs ``LISTEN hookwire_work`` in autocommit mode and
    hands its socket to the running asyncio loop: a notification is read when
    it arrives, with no thread and no timer. Notifications whose payload names
    another schema (another hookwire store in the same database) are ignored.

    A lost connection (a restarted server, a terminated backend) is dropped and
    opened again in a thread of the watch's own, after ``RETRY_FIRST`` seconds,
    doubling up to ``RETRY_LONGEST`` while it keeps failing; meanwhile the
    dispatcher polls. Every (re)connection wakes the dispatcher once, for what
    was committed while nobody listened.
    """

    APPLICATION_NAME = WAKE_APPLICATION_NAME
    RETRY_FIRST = 0.5
    RETRY_LONGEST = 30.0

    def __init__(self, store: Store, wake: Callable[[], None]) -> None:
        self._store = store
        self._wake = wake
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._closed = False
        self._raw: PoolProxiedConnection | None = None
        self._reading: int | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="hookwire-wake")
        self._task = self._loop.create_task(self._keep_listening())

    def mark(self) -> None:
        """Nothing to note: notifications are pushed, and the dispatcher's own
        event, cleared before each claim, holds any that arrive meanwhile."""

    async def until_changed(self, wake: asyncio.Event) -> None:
        """Wait for ``wake``, which a notification sets."""
        await wake.wait()

    async def _keep_listening(self) -> None:
        delay = self.RETRY_FIRST
        failures = 0
        while True:
            try:
                pgconn, schema = await self._loop.run_in_executor(self._executor, self._open)
            except _Closed:
                return
            except Exception as exc:  # whatever connecting raised: try again later
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(
                    level,
                    "cannot listen for other processes' work (retrying in %.1f s; "
                    "looking every poll_interval meanwhile): %s",
                    delay,
                    error_line(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.RETRY_LONGEST)
                continue
            if failures:
                log.info("listening for other processes' work again")
            delay, failures = self.RETRY_FIRST, 0
            lost = await self._listen(pgconn, schema)
            log.warning(
                "lost the connection that listens for other processes' work "
                "(reconnecting; looking every poll_interval meanwhile): %s",
                error_line(lost),
            )
            self._drop()

    def _open(self) -> tuple[pq.abc.PGconn, str]:
        """Connect, listen and learn the store's schema (in the watch's thread)."""
        raw = self._store.engine.raw_connection()
        try:
            driver: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
            driver.rollback()
            driver.autocommit = True
            driver.execute(NAME_WAKE_CONNECTION)
            driver.execute(LISTEN_WORK)
            row = driver.execute(WORK_SCHEMA).fetchone()
            schema = str(row[0]) if row is not None else ""
        except BaseException:
            raw.invalidate()
            raise
        with self._lock:
            if self._closed:
                raw.invalidate()
                raise _Closed
            self._raw = raw
        return driver.pgconn, schema

    async def _listen(self, pgconn: pq.abc.PGconn, schema: str) -> BaseException:
        """Wake on each notification for ``schema`` until the connection fails; its error."""
        lost: asyncio.Future[BaseException] = self._loop.create_future()
        channel = WORK_CHANNEL.encode()
        wanted = schema.encode()

        def readable() -> None:
            try:
                pgconn.consume_input()
                woken = False
                while (note := pgconn.notifies()) is not None:
                    woken = woken or (note.relname == channel and note.extra == wanted)
                if pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the connection is closed")
            except psycopg.Error as exc:
                if not lost.done():
                    lost.set_result(exc)
                return
            if woken:
                self._wake()

        self._reading = pgconn.socket
        self._loop.add_reader(self._reading, readable)
        try:
            # For what was committed while nobody listened.
            self._wake()
            return await lost
        finally:
            self._stop_reading()

    def _stop_reading(self) -> None:
        # Before the socket closes: its number may soon belong to another socket.
        if self._reading is not None:
            self._loop.remove_reader(self._reading)
            self._reading = None

    def _drop(self) -> None:
        """Close the listening connection and take it out of the engine's pool."""
        with self._lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.invalidate()

    def close(self) -> None:
        """Stop listening: the connection is closed, never returned to the pool."""
        with self._lock:
            self._closed = True
        self._task.cancel()
        self._stop_reading()
        self._drop()
        self._executor.shutdown(wait=False, cancel_futures=True)
