"""What a dispatcher does to its process (nothing to the collector's heap, SQLite
checkpoints in a thread of their own) and how a failing SQLite turn reaches it (as SQLAlchemy's
error, with nothing half-written)."""

from __future__ import annotations

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
from hookwire.sender.checkpoints import Checkpoints
from hookwire.sender.store import Store
from hookwire.sender.work import Outcome

MakeSender = Callable[..., Sender]


async def test_a_dispatcher_leaves_the_collector_alone(
    make_sender: MakeSender, sink: Sink, clock: FakeClock
) -> None:
    # Freezing the heap is the dispatcher process's choice (hookwire dispatch makes it),
    # never a side effect of a library call on the application that hosts it.
    counts: list[int] = []

    def watching_clock() -> datetime:
        counts.append(gc.get_freeze_count())
        return clock()

    before = gc.get_freeze_count()
    sender = make_sender(clock=watching_clock)
    hook_for(sender, sink)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    counts.clear()
    await sender.drain()
    assert len(sink.received) == 1
    assert counts
    assert set(counts) == {before}
    assert gc.get_freeze_count() == before


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
    monkeypatch.setattr(Checkpoints, "INTERVAL", 0.0)
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

    monkeypatch.setattr(Checkpoints, "INTERVAL", 0.0)
    monkeypatch.setattr(Store, "checkpoint", failing)
    sender = make_sender()
    hook_for(sender, sink)
    first = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await sender.drain()
    second = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await sender.drain()
    assert calls
    assert sink.event_ids == [first, second]
