"""SQLite's cross-process wake on its own: the idle watch over ``PRAGMA data_version``,
woken by writes to the log (inotify) or a timer, and waking only for due work."""

from __future__ import annotations

import asyncio
import select
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sender_support import COMPLETED
from sqlalchemy import create_engine, make_url

from hookwire.sender import Sender, wake
from hookwire.sender.store import Store
from hookwire.sender.wake.inotify import FileWrites
from hookwire.sender.wake.sqlite import DataVersionWatch


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    store = Store(sqlite_url)
    yield store
    store.close()


def _commit_elsewhere(url: str) -> None:
    """Commit a change through a connection of another engine (another process, in effect)."""
    other = sqlite3.connect(make_url(url).database or "")
    try:
        with other:
            other.execute("CREATE TABLE IF NOT EXISTS poked (n INTEGER)")
            other.execute("INSERT INTO poked VALUES (1)")
    finally:
        other.close()


async def _returns_within(awaitable: Any, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def publisher(sqlite_url: str) -> Iterator[Sender]:
    """A sender of its own on the file (another process, in effect), with one webhook."""
    sender = Sender(sqlite_url, allow_private_targets=True)
    sender.webhooks.create(
        name="watched",
        target_url="http://127.0.0.1:9/hook",
        events=["COURSE_COMPLETED"],
        account_id=1,
    )
    yield sender
    sender.close()


def _queue_elsewhere(publisher: Sender) -> None:
    publisher.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)


async def _waits_until_queued(watch: DataVersionWatch, publisher: Sender) -> float | None:
    """Seconds from a publish elsewhere until the idle watch returns (None: it did not)."""
    watch.mark()
    waiting = asyncio.create_task(watch.until_changed(asyncio.Event()))
    await asyncio.sleep(0.3)  # long enough for the timer to look only every LONGEST
    assert not waiting.done()
    started = time.monotonic()
    _queue_elsewhere(publisher)
    if not await _returns_within(waiting, 1.0):
        return None
    return time.monotonic() - started


async def test_an_idle_sqlite_watch_returns_when_another_connection_queues_work(
    sqlite_store: Store, publisher: Sender
) -> None:
    watch = DataVersionWatch(sqlite_store, _now)
    try:
        # On Linux the log's writes end the wait; elsewhere a timer does.
        assert watch.notified == sys.platform.startswith("linux")
        seconds = await _waits_until_queued(watch, publisher)
        assert seconds is not None
        assert seconds < 0.5
    finally:
        watch.close()


async def test_without_inotify_the_sqlite_watch_looks_on_a_timer(
    sqlite_store: Store, publisher: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FileWrites, "open", classmethod(lambda cls, path: None))
    watch = DataVersionWatch(sqlite_store, _now)
    try:
        assert not watch.notified
        seconds = await _waits_until_queued(watch, publisher)
        assert seconds is not None
        assert seconds < 0.5
    finally:
        watch.close()


async def test_a_commit_that_queues_nothing_due_does_not_end_the_wait(
    sqlite_store: Store, sqlite_url: str, publisher: Sender
) -> None:
    # The dispatcher's own turns commit too; so do other tables' writers.
    watch = DataVersionWatch(sqlite_store, _now)
    try:
        watch.mark()
        waiting = asyncio.create_task(watch.until_changed(asyncio.Event()))
        _commit_elsewhere(sqlite_url)
        assert not await _returns_within(asyncio.shield(waiting), 0.3)
        _queue_elsewhere(publisher)
        assert await _returns_within(waiting, 1.0)
    finally:
        watch.close()


async def test_work_not_yet_due_by_the_dispatchers_clock_does_not_end_the_wait(
    sqlite_store: Store, publisher: Sender
) -> None:
    watch = DataVersionWatch(sqlite_store, lambda: _now() - timedelta(hours=1))
    try:
        assert await _waits_until_queued(watch, publisher) is None
    finally:
        watch.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_file_writes_are_readable_once_the_file_is_written(tmp_path: Path) -> None:
    watched = tmp_path / "log"
    watched.write_bytes(b"")
    writes = FileWrites.open(str(watched))
    assert writes is not None
    try:
        assert select.select([writes], [], [], 0)[0] == []
        with watched.open("ab") as out:
            out.write(b"x")
        assert select.select([writes], [], [], 1)[0] == [writes]
        writes.drain()
        assert select.select([writes], [], [], 0)[0] == []
    finally:
        writes.close()


def test_no_file_writes_watch_for_a_missing_file(tmp_path: Path) -> None:
    assert FileWrites.open(str(tmp_path / "missing")) is None


async def test_a_sqlite_watch_ignores_work_queued_before_its_mark(
    sqlite_store: Store, publisher: Sender
) -> None:
    watch = DataVersionWatch(sqlite_store, _now)
    try:
        _queue_elsewhere(publisher)
        watch.mark()
        assert not await _returns_within(watch.until_changed(asyncio.Event()), 0.2)
    finally:
        watch.close()


async def test_a_sqlite_watch_returns_at_once_when_the_dispatcher_is_woken(
    sqlite_store: Store,
) -> None:
    watch = DataVersionWatch(sqlite_store, _now)
    try:
        watch.mark()
        woken = asyncio.Event()
        waiting = asyncio.create_task(watch.until_changed(woken))
        await asyncio.sleep(0.3)
        woken.set()
        started = time.monotonic()
        assert await _returns_within(waiting, 1.0)
        # Far under any poll interval, with room for a busy shared machine.
        assert time.monotonic() - started < 0.5
    finally:
        watch.close()


def test_an_in_memory_sqlite_store_gets_no_watch() -> None:
    store = Store(create_engine("sqlite://"))
    try:
        assert wake.watch(store, lambda: None, _now) is None
    finally:
        store.close()
