"""SQLite's cross-process wake: an idle dispatcher watches ``PRAGMA data_version``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.pool import SingletonThreadPool, StaticPool

from ..schema import sqlite_text
from ..store import Store
from ..store.sql_sqlite import (
    ANY_DUE,
    ANY_DUE_PARAMS,
    DATA_VERSION,
    DATABASE_FILES,
    WATCH_BUSY_TIMEOUT,
)
from .inotify import FileWrites

__all__ = ["DataVersionWatch"]

log = logging.getLogger("hookwire.sender")


class DataVersionWatch:
    """Notices commits by other connections (other processes included) to a SQLite file.

    ``PRAGMA data_version`` on a connection changes whenever another connection
    has committed a change since it was last read. The dispatcher marks the
    number before each claim; while it is idle it reads the number again until
    it moves. A read costs a few microseconds and takes no lock a writer waits
    for (WAL mode). When to read again:

    - On Linux, when the database's write-ahead log is written (inotify): a
      commit by any process on the machine writes it. An idle dispatcher then
      wakes only for writes, and sees a commit within a millisecond or so.
    - Elsewhere (or where inotify is not available), on a timer: first after
      ``FIRST`` seconds, then ``GROWTH`` times later each time, up to
      ``LONGEST``, so work published after a quiet spell is noticed within
      ``LONGEST`` while an idle dispatcher wakes at most 1/``LONGEST`` times a second.

    When the number moves, the watch asks (a read: no lock a writer waits for)
    whether any webhook is due at ``clock()``, and ends the wait only if one is:
    a commit that queued nothing, such as the dispatcher's own last turn,
    wakes nothing. A busy dispatcher does not watch: each landing attempt
    starts a turn that looks anyway.
    """

    FIRST = 0.001
    GROWTH = 1.5
    LONGEST = 0.02

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        # A connection of the store's engine, so the engine's own settings apply; it runs
        # only these pragmas, outside any transaction, and never goes back to the pool.
        self._raw = store.engine.raw_connection()
        self._driver: sqlite3.Connection = self._raw.driver_connection  # type: ignore[assignment]
        try:
            self._driver.execute(WATCH_BUSY_TIMEOUT)
            files = {name: path for _, name, path in self._driver.execute(DATABASE_FILES)}
        except sqlite3.Error:
            self._raw.invalidate()
            raise
        self._failed = False
        self._seen = self._version()  # a read: the write-ahead log exists after it
        self._delay = self.FIRST
        main = files.get("main") or ""
        self._writes = FileWrites.open(f"{main}-wal") if main else None

    @staticmethod
    def usable(store: Store) -> bool:
        """Whether another connection can change the database: not an in-memory one
        (its pools hand every thread, or everyone, a single connection)."""
        return not isinstance(store.engine.pool, SingletonThreadPool | StaticPool)

    @property
    def notified(self) -> bool:
        """Whether writes to the log end the wait (inotify), rather than a timer."""
        return self._writes is not None

    def _version(self) -> int | None:
        """The connection's data version; ``None`` when it cannot be read."""
        try:
            row = self._driver.execute(DATA_VERSION).fetchone()
        except sqlite3.Error as exc:
            if not self._failed:
                self._failed = True
                log.warning(
                    "cannot read the database's data version; looking every "
                    "poll_interval instead: %s",
                    str(exc).split("\n", 1)[0],
                )
            return None
        self._failed = False
        return int(row[0]) if row is not None else None

    def _due(self) -> bool:
        """Whether a webhook is due now; True when that cannot be read (a turn finds out)."""
        params = {**ANY_DUE_PARAMS, "now": sqlite_text(self._clock())}
        try:
            return self._driver.execute(ANY_DUE, params).fetchone() is not None
        except sqlite3.Error:
            return True

    def mark(self) -> None:
        """Note the data version before a claim; after a change, watch closely again."""
        version = self._version()
        if version != self._seen:
            self._delay = self.FIRST
        self._seen = version

    async def until_changed(self, wake: asyncio.Event) -> None:
        """Return once another connection committed since :meth:`mark`, or ``wake`` is set.

        An unreadable version counts as no change: the poll interval still runs.
        """
        while not wake.is_set():
            if self._writes is not None:
                self._writes.drain()  # before reading: a later write wakes the wait below
            version = self._version()
            if version is not None and version != self._seen:
                self._seen = version  # read before the due test: a later commit moves it again
                self._delay = self.FIRST
                if self._due():
                    return
            if self._writes is not None:
                await self._written(self._writes, wake)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._delay):
                    await wake.wait()
            self._delay = min(self._delay * self.GROWTH, self.LONGEST)
        self._delay = self.FIRST

    @staticmethod
    async def _written(writes: FileWrites, wake: asyncio.Event) -> None:
        """Until the log is written or ``wake`` is set."""
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not written.done():
                written.set_result(None)

        loop.add_reader(writes.fileno(), readable)
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait((written, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(writes.fileno())
            woken.cancel()
            written.cancel()

    def close(self) -> None:
        """Close the connection (its short busy timeout must not serve the store's work)."""
        if self._writes is not None:
            self._writes.close()
        self._raw.invalidate()
