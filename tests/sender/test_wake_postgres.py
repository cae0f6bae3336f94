"""PostgreSQL's cross-process wake on its own: the notification a transaction sends
(once, at commit, naming its store) and the listener that survives losing its connection."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sender_support import COMPLETED, PROGRESS
from sqlalchemy import create_engine, event, make_url, text

from hookwire.sender import Sender, wake
from hookwire.sender.store import Store
from hookwire.sender.wake.postgres import NotifyWatch


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    store = Store(postgres_url)
    yield store
    store.close()


def _libpq(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _returns_within(awaitable: Any, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True


@contextlib.contextmanager
def _listening(url: str) -> Iterator[psycopg.Connection[Any]]:
    conn = psycopg.connect(_libpq(url), autocommit=True)
    try:
        conn.execute("LISTEN hookwire_work")
        yield conn
    finally:
        conn.close()


def _payloads(conn: psycopg.Connection[Any], within: float = 0.3) -> list[str]:
    return [note.payload for note in conn.notifies(timeout=within)]


@pytest.fixture
def pg_sender(postgres_url: str) -> Iterator[Sender]:
    """A sender with one webhook for COURSE_COMPLETED, so a publish queues a delivery."""
    sender = Sender(postgres_url, allow_private_targets=True)
    sender.webhooks.create(
        name="wake", target_url="http://127.0.0.1:9/", events=["COURSE_COMPLETED"], account_id=1
    )
    yield sender
    sender.close()


def _publish(sender: Sender, conn: Any) -> None:
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn)


@pytest.mark.postgres
def test_a_transaction_wakes_its_store_once_at_commit(pg_sender: Sender, postgres_url: str) -> None:
    with _listening(postgres_url) as listener:
        with pg_sender.engine.connect() as conn, conn.begin():
            _publish(pg_sender, conn)
            _publish(pg_sender, conn)
            assert _payloads(listener, 0.1) == []  # nothing before the commit
        assert _payloads(listener) == ["public"]


@pytest.mark.postgres
def test_a_rolled_back_transaction_wakes_nothing(pg_sender: Sender, postgres_url: str) -> None:
    with _listening(postgres_url) as listener:
        with pg_sender.engine.connect() as conn:
            with conn.begin() as transaction:
                _publish(pg_sender, conn)
                transaction.rollback()
            assert _payloads(listener, 0.1) == []
            # The next transaction on the same connection wakes again.
            with conn.begin():
                _publish(pg_sender, conn)
        assert _payloads(listener) == ["public"]


@pytest.mark.postgres
def test_a_rolled_back_savepoint_does_not_silence_its_transaction(
    pg_sender: Sender, postgres_url: str
) -> None:
    with _listening(postgres_url) as listener:
        with pg_sender.engine.connect() as conn, conn.begin():
            with conn.begin_nested() as savepoint:
                _publish(pg_sender, conn)
                savepoint.rollback()
            _publish(pg_sender, conn)
        assert _payloads(listener) == ["public"]


@pytest.mark.postgres
def test_a_publish_that_queues_nothing_wakes_nothing(pg_sender: Sender, postgres_url: str) -> None:
    with _listening(postgres_url) as listener:
        pg_sender.publish("LEARNER_PROGRESS", data=PROGRESS, account_id=1)
        assert _payloads(listener) == []


@pytest.mark.postgres
def test_notify_after_a_commit_elsewhere_announces_at_once(
    pg_store: Store, postgres_url: str
) -> None:
    with _listening(postgres_url) as listener:
        wake.notify(pg_store)
        assert _payloads(listener) == ["public"]


def _wake_backends(url: str) -> list[int]:
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND datname = current_database()",
            [NotifyWatch.APPLICATION_NAME],
        ).fetchall()
    return [pid for (pid,) in rows]


async def _until(condition: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)


class _Wakes:
    """Counts the watch's calls and lets a test await the next one."""

    def __init__(self) -> None:
        self.count = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.event.set()

    async def next(self, within: float = 3.0) -> bool:
        self.event.clear()
        return await _returns_within(self.event.wait(), within)


@pytest.mark.postgres
async def test_the_listener_wakes_for_its_own_store_only(
    pg_store: Store, postgres_url: str
) -> None:
    wakes = _Wakes()
    watch = NotifyWatch(pg_store, wakes)
    try:
        await _until(lambda: wakes.count >= 1)  # the wake of a new connection
        engine = create_engine(postgres_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_notify('hookwire_work', 'another_schema')"))
            assert not await wakes.next(0.3)
            with engine.begin() as conn:
                pg_store.notify_work(conn)
            assert await wakes.next()
        finally:
            engine.dispose()
    finally:
        watch.close()
    await asyncio.sleep(0.05)
    assert _wake_backends(postgres_url) == []


@pytest.mark.postgres
async def test_the_listener_reconnects_after_its_backend_is_terminated(
    pg_store: Store, postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(NotifyWatch, "RETRY_FIRST", 0.05)
    wakes = _Wakes()
    watch = NotifyWatch(pg_store, wakes)
    try:
        await _until(lambda: len(_wake_backends(postgres_url)) == 1)
        (first,) = _wake_backends(postgres_url)
        with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first])
        await _until(lambda: _wake_backends(postgres_url) not in ([], [first]))
        assert "lost the connection that listens" in caplog.text
        wake.notify(pg_store)
        assert await wakes.next()
    finally:
        watch.close()


@pytest.mark.postgres
async def test_the_listener_retries_while_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, caplog: Any, postgres_url: str
) -> None:
    # A store whose engine cannot connect: nothing listens on that port.
    store = Store(postgres_url)
    store.engine.dispose()
    monkeypatch.setattr(NotifyWatch, "RETRY_FIRST", 0.02)
    unreachable = create_engine(
        make_url(postgres_url).set(port=1), connect_args={"connect_timeout": 1}
    )
    monkeypatch.setattr(store, "engine", unreachable)
    wakes = _Wakes()
    watch = NotifyWatch(store, wakes)
    try:
        await _until(lambda: "cannot listen for other processes' work" in caplog.text)
        await asyncio.sleep(0.2)
        assert wakes.count == 0
        # One warning; the retries that follow log at debug level.
        assert caplog.text.count("cannot listen for other processes' work") == 1
    finally:
        watch.close()
        unreachable.dispose()
        store.close()


@pytest.mark.postgres
def test_the_store_schema_is_read_once_for_all_its_inserts(
    pg_sender: Sender, postgres_url: str
) -> None:
    statements: list[str] = []
    event.listen(pg_sender.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with _listening(postgres_url) as listener:
        for _ in range(3):
            pg_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
        assert _payloads(listener) == ["public"] * 3
    assert sum("regnamespace" in statement for statement in statements) == 1
