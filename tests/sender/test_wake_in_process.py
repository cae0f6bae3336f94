"""Wakes around a dispatcher in this process: once per caller transaction, never lost
after a rollback, and work from a sender that shares no wakers with the dispatcher
(another process, in effect) delivered without waiting for the poll interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from sender_support import COMPLETED, FakeClock, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender.outbox import Outbox
from hookwire.sender.store import Store

MakeSender = Callable[..., Sender]


@pytest.fixture
def outbox_store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    yield store
    store.close()


def _outbox(store: Store, clock: FakeClock, wakes: list[bool]) -> Outbox:
    return Outbox(store, clock=clock, batch_interval=0, wake=lambda: wakes.append(True))


def test_a_caller_transaction_wakes_once_and_only_at_commit(
    outbox_store: Store, clock: FakeClock
) -> None:
    wakes: list[bool] = []
    outbox = _outbox(outbox_store, clock, wakes)
    with outbox_store.engine.connect() as conn:
        with conn.begin():
            for _ in range(3):
                outbox.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn)
            assert wakes == []
        assert wakes == [True]


def test_a_rolled_back_caller_transaction_does_not_silence_the_next_ones_wake(
    outbox_store: Store, clock: FakeClock
) -> None:
    wakes: list[bool] = []
    outbox = _outbox(outbox_store, clock, wakes)
    with outbox_store.engine.connect() as conn:
        pooled = conn.connection.dbapi_connection
        with conn.begin() as transaction:
            outbox.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn)
            transaction.rollback()
    assert wakes == []
    # A new connection object over the same pooled connection (whose ``info`` it shares).
    with outbox_store.engine.connect() as conn:
        assert conn.connection.dbapi_connection is pooled
        with conn.begin():
            outbox.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn)
    assert wakes == [True]


async def test_work_from_a_sender_without_shared_wakers_is_delivered_before_the_poll(
    make_sender: MakeSender, sink: Sink, store_url: str
) -> None:
    dispatching = make_sender(store_url, clock=None, poll_interval=30)
    publishing = make_sender(store_url, clock=None)
    hook_for(publishing, sink)
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(dispatching.run_dispatcher(stop))
    try:
        for _ in range(3):
            await asyncio.sleep(0.2)  # idle in between
            event_id = publishing.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
            started = time.monotonic()
            while event_id not in sink.event_ids:
                assert time.monotonic() - started < 3, "not woken: waiting for the poll"
                await asyncio.sleep(0.005)
    finally:
        stop.set()
        await dispatcher
