"""A dispatcher in a process of its own (``hookwire dispatch``) wakes for work that
this process commits, on SQLite and on PostgreSQL.

The dispatcher polls every 30 s, so only a wake explains a delivery within a
few seconds. The test process publishes with a sender of its own, which runs no
dispatcher; the sink is an aiohttp server in the test process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sender_support import COMPLETED, Sink, hook_for
from sqlalchemy import make_url

from hookwire.sender import Sender
from hookwire.sender.wake.postgres import NotifyWatch

MakeSender = Callable[..., Sender]
POLL_INTERVAL = 30.0
PROMPT = 3.0  # "well under the poll interval"
STARTUP = 30.0  # a cold interpreter on a shared, busy machine


@contextmanager
def dispatcher_process(url: str, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``hookwire dispatch`` on ``url`` in a child process, stopped however the test ends."""
    log = workdir / "dispatch.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hookwire_cli",
                "dispatch",
                "--db",
                url,
                "--allow-private",
                "--poll-interval",
                str(POLL_INTERVAL),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


async def _arrival(sink: Sink, event_id: str, within: float) -> float | None:
    """Seconds until ``event_id`` reaches the sink, or None if it does not within ``within``."""
    started = time.monotonic()
    while event_id not in sink.event_ids:
        if time.monotonic() - started > within:
            return None
        await asyncio.sleep(0.002)
    return time.monotonic() - started


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _wake_backends(url: str) -> list[int]:
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND datname = current_database()",
            [NotifyWatch.APPLICATION_NAME],
        ).fetchall()
    return [pid for (pid,) in rows]


async def _until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.05)


async def _started(
    sender: Sender,
    sink: Sink,
    url: str,
    child: subprocess.Popen[bytes],
    workdir: Path,
) -> None:
    """Wait until the child dispatches (a first event arrives) and, on PostgreSQL, listens."""
    first = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    if await _arrival(sink, first, STARTUP) is None:
        output = (workdir / "dispatch.log").read_text(errors="replace")
        raise AssertionError(f"the dispatcher (exit {child.poll()}) delivered nothing:\n{output}")
    if url.startswith("postgresql"):
        await _until(lambda: len(_wake_backends(url)) == 1, STARTUP)


def _publish(sender: Sender) -> str:
    return sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id


async def test_a_dispatcher_in_another_process_delivers_at_once(
    make_sender: MakeSender,
    sink: Sink,
    store_url: str,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    sender = make_sender(store_url, clock=None)
    hook_for(sender, sink)
    with dispatcher_process(store_url, tmp_path) as child:
        await _started(sender, sink, store_url, child, tmp_path)
        seconds = []
        for _ in range(5):
            await asyncio.sleep(0.2)  # an idle dispatcher each time
            seconds.append(await _arrival(sink, _publish(sender), PROMPT))
    record_property("publish_to_receipt_seconds", seconds)
    assert None not in seconds, seconds


async def test_a_rolled_back_publish_wakes_nothing_and_sends_nothing(
    make_sender: MakeSender, sink: Sink, store_url: str, tmp_path: Path
) -> None:
    sender = make_sender(store_url, clock=None)
    hook_for(sender, sink)
    with dispatcher_process(store_url, tmp_path) as child, _watching(store_url) as woken:
        await _started(sender, sink, store_url, child, tmp_path)
        await asyncio.sleep(0.5)  # the dispatcher records the first attempt and settles
        woken.clear()
        with sender.engine.connect() as conn, conn.begin() as transaction:
            gone = sender.publish(
                "COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn
            ).event_id
            transaction.rollback()
        assert await _arrival(sink, gone, 1.0) is None
        assert not woken()
        # The dispatcher is awake to the next commit.
        assert await _arrival(sink, _publish(sender), PROMPT) is not None


@pytest.mark.postgres
async def test_the_listener_keeps_waking_after_its_connection_is_terminated(
    make_sender: MakeSender, sink: Sink, postgres_url: str, tmp_path: Path
) -> None:
    sender = make_sender(postgres_url, clock=None)
    hook_for(sender, sink)
    with dispatcher_process(postgres_url, tmp_path) as child:
        await _started(sender, sink, postgres_url, child, tmp_path)
        (listener,) = _wake_backends(postgres_url)
        with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [listener])
        await _until(lambda: _wake_backends(postgres_url) not in ([], [listener]), STARTUP)
        assert await _arrival(sink, _publish(sender), PROMPT) is not None
        assert child.poll() is None


async def test_a_redelivery_in_another_process_wakes_the_dispatcher(
    make_sender: MakeSender, sink: Sink, store_url: str, tmp_path: Path
) -> None:
    sender = make_sender(store_url, clock=None)
    hook_for(sender, sink)
    with dispatcher_process(store_url, tmp_path) as child:
        await _started(sender, sink, store_url, child, tmp_path)
        # The child records the success just after the sink has the event.
        await _until(lambda: sender.deliveries.list()[0].status == "succeeded", STARTUP)
        (delivery,) = sender.deliveries.list()
        before = len(sink.received)
        sender.deliveries.redeliver(delivery.id)
        started = time.monotonic()
        await _until(lambda: len(sink.received) > before, PROMPT)
        assert time.monotonic() - started < PROMPT


async def test_switching_a_webhook_on_in_another_process_wakes_the_dispatcher(
    make_sender: MakeSender, sink: Sink, store_url: str, tmp_path: Path
) -> None:
    sender = make_sender(store_url, clock=None)
    waiting = hook_for(sender, sink, name="switched off", account_id=2)
    hook_for(sender, sink, name="always on")
    # Queued for the webhook of account 2, which is then retired.
    queued = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2).event_id
    sender.webhooks.retire(waiting)
    with dispatcher_process(store_url, tmp_path) as child:
        await _started(sender, sink, store_url, child, tmp_path)
        await asyncio.sleep(0.3)
        assert queued not in sink.event_ids
        sender.webhooks.activate(waiting)
        assert await _arrival(sink, queued, PROMPT) is not None


class _Woken:
    """Whether the store saw a wake since :meth:`clear`: a notification on PostgreSQL,
    a change of ``PRAGMA data_version`` on SQLite (what the dispatcher watches)."""

    def __init__(self, url: str) -> None:
        self._pg: psycopg.Connection[Any] | None = None
        self._lite: sqlite3.Connection | None = None
        if url.startswith("postgresql"):
            self._pg = psycopg.connect(_libpq(url), autocommit=True)
            self._pg.execute("LISTEN hookwire_work")
        else:
            self._lite = sqlite3.connect(make_url(url).database or "")
        self._version = self._data_version()

    def _data_version(self) -> int:
        if self._lite is None:
            return 0
        return int(self._lite.execute("PRAGMA data_version").fetchone()[0])

    def clear(self) -> None:
        if self._pg is not None:
            list(self._pg.notifies(timeout=0.2))
        self._version = self._data_version()

    def __call__(self) -> bool:
        if self._pg is not None:
            return bool(list(self._pg.notifies(timeout=0.3)))
        return self._data_version() != self._version

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        if self._lite is not None:
            self._lite.close()


@contextmanager
def _watching(url: str) -> Iterator[_Woken]:
    woken = _Woken(url)
    try:
        yield woken
    finally:
        woken.close()
