"""Passive SQLite checkpoints in a thread of their own while a dispatcher runs."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError

from ..errors import error_line
from .store import Store

__all__ = ["Checkpoints"]

log = logging.getLogger("hookwire.sender")


class Checkpoints:
    """Passive SQLite checkpoints in a thread of their own while a dispatcher runs.

    SQLite copies its write-ahead log into the database file in the commit that
    fills the log (``wal_autocheckpoint``, 10,000 pages here): about 40 ms in
    which that commit's thread, a dispatcher turn or a ``publish``, waited, and
    every event behind it. Checkpointing from a thread that nobody waits for,
    at most every ``INTERVAL`` seconds, keeps the log from filling while work
    flows; the automatic checkpoint remains for when no dispatcher runs.
    """

    INTERVAL = 0.1

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self._executor: ThreadPoolExecutor | None = None
        if store.checkpoints:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="hookwire-checkpoint")
        self._running: Future[None] | None = None
        self._last = loop.time()

    def due(self) -> None:
        """Start a checkpoint unless one runs or the last started under ``INTERVAL`` ago."""
        if self._executor is None or (self._running is not None and not self._running.done()):
            return
        now = self._loop.time()
        if now - self._last < self.INTERVAL:
            return
        self._last = now
        self._running = self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._store.checkpoint()
        except SQLAlchemyError as exc:  # a turn reports a database that is down
            log.debug("checkpoint failed: %s", error_line(exc))

    def close(self) -> None:
        """Wait for a running checkpoint to end."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
