"""What a dispatcher does to its process (the collector's heap, SQLite checkpoints in
a thread of their own) and how a failing SQLite turn reaches it (as SQLAlchemy's
error, with nothing half-written)."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sender_support import COMPLETED, FakeClock, Sink, hook_for
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hookwire.sender import Sender
from hookwire.sender.dispatcher import _Checkpoints
from hookwire.sender.store import Store
from hookwire.sender.work import Outcome

MakeSender = Callable[..., Sender]


@pytest.fixture
def unfrozen() -> None:
    if gc.get_freeze_count():
        pytest.skip("something in this process froze the collector's heap already")


@pytest.mark.usefixtures("unfrozen")
async def test_the_heap_is_frozen_only_while_a_dispatcher_runs(
    make_sender: MakeSender, sink: Sink, clock: FakeClock
) -> None:
    counts: list[int] = []

    def watching_clock() -> datetime:
        counts.append(gc.get_freeze_count())
        return clock()

    sender = make_sender(clock=watching_clock)
    hook_for(sender, sink)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    counts.clear()
    await sender.drain()
    assert len(sink.received) == 1
    assert counts
    assert min(counts) > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("unfrozen")
async def test_the_heap_stays_frozen_until_the_last_of_overlapping_dispatchers_stops(
    make_sender: MakeSender, sink: Sink, tmp_path: Path
) -> None:
    long_running = make_sender(f"sqlite:///{tmp_path / 'other.db'}")
    short = make_sender()
    hook_for(short, sink)
    short.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    stop = asyncio.Event()
    running = asyncio.create_task(long_running.run_dispatcher(stop))
    await asyncio.sleep(0.05)
    await short.drain()  # starts after, stops before the long-running one
    assert len(sink.received) == 1
    assert gc.get_freeze_count() > 0
    stop.set()
    await running
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("unfrozen")
async def test_a_heap_the_application_froze_stays_frozen(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        await sender.drain()
        assert len(sink.received) == 1
        # Not unfrozen: what the application froze is still out of the collector's way.
        assert gc.get_freeze_count() > frozen // 2 > 0
    finally:
        gc.unfreeze()


def test_a_sqlite_error_in_a_turn_is_sqlalchemys_and_rolls_the_turn_back(
    sender: Sender, sink: Sink, clock: FakeClock, sqlite_url: str
) -> None:
    hook_id = hook_for(sender, sink)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    store = Store(sqlite_url)
    try:
        options = {"lease": timedelta(seconds=30), "max_batch": 10, "max_batch_bytes": 10**6}
        (job,) = store.claim(owner="a", now=clock(), limit=5, **options)
        done = Outcome(
            job=job,
            attempt_id="att_1",
            started_at=clock(),
            status_code=200,
            latency_ms=1.0,
            error=None,
            response_body="",
            verdict="succeeded",
        )
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE hookwire_attempts"))
        with pytest.raises(OperationalError, match="no such table: hookwire_attempts"):
            store.claim(owner="a", now=clock(), limit=5, outcomes=[done], **options)
    finally:
        store.close()
    # Nothing of the failed turn stayed: the request is open, its delivery pending.
    (delivery,) = sender.deliveries.list(webhook_id=hook_id)
    assert delivery.status == "pending"
    assert sender.deliveries.counts()["succeeded"] == 0


def _in_database_file(sqlite_url: str, marker: str) -> bool:
    """Whether ``marker`` is in the database file itself (not only in its -wal log)."""
    return marker.encode() in Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()


async def test_a_dispatcher_checkpoints_the_sqlite_log_while_it_runs(
    make_sender: MakeSender, sink: Sink, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The automatic checkpoint waits for 10,000 pages: a few events stay in the log
    # until a checkpoint copies them into the file.
    monkeypatch.setattr(_Checkpoints, "INTERVAL", 0.0)
    sender = make_sender()
    hook_for(sender, sink)
    marker = "evt_checkpointed_into_the_file"
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, event_id=marker)
    assert not _in_database_file(sqlite_url, marker)
    await sender.drain()
    assert sink.event_ids == [marker]
    assert _in_database_file(sqlite_url, marker)


async def test_a_failing_checkpoint_does_not_stop_delivery(
    make_sender: MakeSender, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bool] = []

    def failing(_store: Store) -> None:
        calls.append(True)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(_Checkpoints, "INTERVAL", 0.0)
    monkeypatch.setattr(Store, "checkpoint", failing)
    sender = make_sender()
    hook_for(sender, sink)
    first = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()
    second = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()
    assert calls
    assert sink.event_ids == [first, second]
