"""Dispatch on both stores: leases, take-over after a crash, and parallel dispatchers."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from aiohttp import web
from sender_support import COMPLETED, PROGRESS, FakeClock, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender.store import Store
from hookwire.sender.store import dispatch as store_dispatch

MakeSender = Callable[..., Sender]
LEASE = timedelta(seconds=30)


@pytest.fixture
def both_sender(make_sender: MakeSender, store_url: str) -> Sender:
    return make_sender(store_url)


def _claim(store: Store, owner: str, clock: FakeClock) -> list[str]:
    jobs = store.claim(
        owner=owner, now=clock(), lease=LEASE, limit=10, max_batch=100, max_batch_bytes=10**6
    )
    return [job.request_id for job in jobs]


async def test_events_are_delivered_in_order_through_a_retry(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    sink.answer(web.Response(status=500))
    first = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await both_sender.drain()
    later = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    clock.advance(5)
    await both_sender.drain()
    assert [r.event_ids for r in sink.received] == [[first], [first], [later]]
    assert both_sender.deliveries.counts() == {
        "pending": 0,
        "succeeded": 2,
        "failed": 0,
        "dead": 0,
    }


def test_a_leased_webhook_is_not_claimed_twice(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    assert len(_claim(store, "a", clock)) == 1
    assert _claim(store, "b", clock) == []


def test_an_expired_lease_is_taken_over_with_the_same_request(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    crashed = _claim(store, "a", clock)
    clock.advance(LEASE.total_seconds())
    assert _claim(store, "b", clock) == crashed


async def test_a_taken_over_request_carries_exactly_its_webhooks_deliveries_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock, store_url: str
) -> None:
    # Two webhooks get the same events; a batch of two leaves the third event queued.
    # A delivery points at its request only once an attempt finishes, so the new
    # owner must find the crashed request's deliveries without that pointer.
    hooks = [hook_for(both_sender, sink, name=f"hook {n}") for n in (1, 2)]
    events = [
        both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
        for _ in "abc"
    ]
    store = Store(store_url)

    def claim(owner: str) -> dict[str, tuple[str, tuple[str, ...], tuple[int, ...]]]:
        jobs = store.claim(
            owner=owner, now=clock(), lease=LEASE, limit=10, max_batch=2, max_batch_bytes=10**6
        )
        return {j.webhook_id: (j.request_id, j.event_ids, j.delivery_seqs) for j in jobs}

    try:
        crashed = claim("dead-dispatcher")
        assert all(d.request_id is None for d in both_sender.deliveries.list())
        clock.advance(LEASE.total_seconds())
        taken = claim("b")
    finally:
        store.close()
    assert taken == crashed
    assert sorted(taken) == sorted(hooks)
    for hook in hooks:
        _, event_ids, seqs = taken[hook]
        assert event_ids == tuple(events[:2])
        mine = {
            int(d.id.removeprefix("dlv_")): d for d in both_sender.deliveries.list(webhook_id=hook)
        }
        assert [mine[seq].event_id for seq in seqs] == events[:2]
    clock.advance(LEASE.total_seconds())
    await both_sender.drain()
    assert sorted(sink.event_ids) == sorted(events * 2)
    finished = both_sender.deliveries.list()
    assert {d.status for d in finished} == {"succeeded"}
    assert all(d.request_id is not None for d in finished)
    for hook in hooks:
        carried = {d.event_id: d.request_id for d in finished if d.webhook_id == hook}
        assert carried[events[0]] == carried[events[1]] == taken[hook][0] != carried[events[2]]


async def test_work_left_by_a_dead_dispatcher_is_delivered_after_the_lease(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    event_id = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    _claim(store, "dead-dispatcher", clock)
    await both_sender.drain()
    assert sink.received == []
    clock.advance(LEASE.total_seconds())
    await both_sender.drain()
    assert sink.event_ids == [event_id]


@pytest.mark.slow
async def test_parallel_dispatchers_send_every_event_once(
    make_sender: MakeSender, sink: Sink, store_url: str
) -> None:
    senders = [make_sender(store_url, clock=None, max_batch=3) for _ in range(3)]
    for account in range(1, 4):
        for _ in range(3):
            hook_for(senders[0], sink, account_id=account)
    published = [
        senders[0].publish("COURSE_COMPLETED", data=COMPLETED, account_id=1 + n % 3).event_id
        for n in range(120)
    ]
    await asyncio.gather(*(s.drain() for s in senders))
    requests = Counter(r.headers["webhook-id"] for r in sink.received)
    assert max(requests.values()) == 1
    assert Counter(sink.event_ids) == Counter(dict.fromkeys(published, 3))


async def test_gone_disables_the_webhook_on_both_stores(both_sender: Sender, sink: Sink) -> None:
    hook_id = hook_for(both_sender, sink)
    sink.answer(web.Response(status=410))
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await both_sender.drain()
    assert not both_sender.webhooks.get(hook_id).active
    assert both_sender.deliveries.counts()["dead"] == 1


async def test_batch_events_flush_in_order_on_both_stores(
    make_sender: MakeSender, store_url: str, sink: Sink, clock: FakeClock
) -> None:
    sender = make_sender(store_url, batch_interval=60, max_batch=2)
    hook_for(sender, sink)
    progress = [
        sender.publish("LEARNER_PROGRESS", data=PROGRESS, account_id=1).event_id for _ in range(3)
    ]
    await sender.drain()
    assert sink.received == []
    clock.advance(60)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [progress[:2], progress[2:]]


async def test_redeliver_and_purge_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    event_id = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await both_sender.drain()
    both_sender.deliveries.redeliver(both_sender.deliveries.list()[0].id)
    await both_sender.drain()
    assert sink.event_ids == [event_id, event_id]
    clock.advance(timedelta(days=8).total_seconds())
    assert both_sender.purge() == {
        "expired": 0,
        "events": 1,
        "deliveries": 1,
        "requests": 2,
        "attempts": 2,
    }


async def test_a_retried_batch_finishes_every_delivery_it_carries_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    sink.answer(web.Response(status=500))
    sent = [
        both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
        for _ in range(3)
    ]
    await both_sender.drain()
    assert both_sender.deliveries.counts()["failed"] == 3
    clock.advance(5)
    await both_sender.drain()
    assert [r.event_ids for r in sink.received] == [sent, sent]
    assert len({r.headers["webhook-id"] for r in sink.received}) == 1
    assert both_sender.deliveries.counts() == {
        "pending": 0,
        "succeeded": 3,
        "failed": 0,
        "dead": 0,
    }


async def test_delivery_history_spans_retries_and_redeliveries_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    sink.answer(web.Response(status=500))
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await both_sender.drain()
    clock.advance(5)
    await both_sender.drain()
    delivery = both_sender.deliveries.list()[0]
    both_sender.deliveries.redeliver(delivery.id)
    await both_sender.drain()
    history = both_sender.deliveries.get(delivery.id).attempts
    assert [a.status_code for a in history] == [500, 202, 202]
    first, second = sink.received[0].headers["webhook-id"], sink.received[2].headers["webhook-id"]
    assert sink.received[1].headers["webhook-id"] == first
    assert [a.request_id for a in history] == [first, first, second]
    assert first != second


async def test_purge_expires_the_queue_of_a_retired_webhook_past_max_age_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    both_sender.webhooks.retire(hook_id)
    clock.advance(both_sender.retry.max_age.total_seconds() - 1)
    assert both_sender.purge()["expired"] == 0
    clock.advance(2)
    assert both_sender.purge()["expired"] == 1
    assert both_sender.deliveries.counts()["dead"] == 1
    both_sender.webhooks.activate(hook_id)
    await both_sender.drain()
    assert sink.received == []


async def test_purge_expires_a_retrying_request_with_all_it_carries_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    sink.answer(web.Response(status=500))
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await both_sender.drain()
    clock.advance(60)
    later = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    clock.advance(both_sender.retry.max_age.total_seconds() - 30)
    # The failed request is past max_age; the later event, still queued, is not.
    assert both_sender.purge()["expired"] == 1
    assert both_sender.deliveries.counts() == {
        "pending": 1,
        "succeeded": 0,
        "failed": 0,
        "dead": 1,
    }
    await both_sender.drain()
    assert sink.event_ids[-1:] == [later]


async def test_purge_leaves_the_work_of_a_leased_webhook_alone(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    clock.advance(both_sender.retry.max_age.total_seconds() + 1)
    assert len(_claim(store, "a", clock)) == 1
    assert both_sender.purge()["expired"] == 0


async def test_a_nul_in_a_targets_answer_is_logged_replaced_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    # PostgreSQL's text cannot hold NUL: storing it as is failed every later turn.
    hook_id = hook_for(both_sender, sink)
    sink.answer(web.Response(status=500, body=b"bad\x00answer"))
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await both_sender.drain()
    clock.advance(5)
    await both_sender.drain()
    (delivery,) = both_sender.deliveries.list(webhook_id=hook_id)
    assert delivery.status == "succeeded"
    first, second = both_sender.deliveries.get(delivery.id).attempts
    assert (first.status_code, first.response_body) == (500, "bad\ufffdanswer")
    assert second.status_code == 202


@pytest.mark.parametrize("max_batch", [1, 100])
async def test_a_queued_delivery_past_max_age_dies_unsent_and_later_ones_go_on_both_stores(
    make_sender: MakeSender,
    store_url: str,
    sink: Sink,
    clock: FakeClock,
    max_batch: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # "Events older than 7 days are lost": even when no purge ran since, and even when
    # the old ones fill a whole batch (max_batch=1), the newer ones still go in this drain.
    sender = make_sender(store_url, max_batch=max_batch)
    hook_id = hook_for(sender, sink)
    old = [
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id for _ in range(3)
    ]
    clock.advance(sender.retry.max_age.total_seconds() - 10)
    young = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    clock.advance(11)
    with caplog.at_level(logging.WARNING, logger="hookwire.sender"):
        await sender.drain()
    assert sink.event_ids == [young]
    assert "3 queued deliveries died unsent, queued at or before" in caplog.text
    assert f"(max_age ago), webhooks {hook_id}" in caplog.text
    dead = {d.event_id for d in sender.deliveries.list(webhook_id=hook_id, status="dead")}
    assert dead == set(old)
    assert all(sender.deliveries.get(d).attempts == () for d in _ids(sender, hook_id, "dead"))
    # Nothing stays leased: a new event goes at once.
    newest = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await sender.drain()
    assert sink.event_ids == [young, newest]


def _ids(sender: Sender, hook_id: str, status: str) -> list[str]:
    return [d.id for d in sender.deliveries.list(webhook_id=hook_id, status=status)]


async def test_a_webhook_whose_whole_queue_expired_is_not_left_leased_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    clock.advance(both_sender.retry.max_age.total_seconds() + 1)
    await both_sender.drain()
    assert sink.received == []
    assert both_sender.deliveries.counts(webhook_id=hook_id)["dead"] == 1
    fresh = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await both_sender.drain()
    assert sink.event_ids == [fresh]


async def test_text_that_json_escapes_reaches_the_target_exactly_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    # Request rows travel to PostgreSQL inside a JSON array: their bodies are escaped twice.
    hook_for(both_sender, sink)
    tricky = 'say "hi"\\ \x00 é 漢 \U0001f600 \u2028 {"x": [1]}'
    event_id = 'evt "quoted" \\ é'
    sink.answer(web.Response(status=500))  # the retry resends the stored body
    both_sender.publish(
        "COURSE_COMPLETED", data={**COMPLETED, "loId": tricky}, account_id=1, event_id=event_id
    )
    await both_sender.drain()
    clock.advance(5)
    await both_sender.drain()
    first, retry = sink.received
    assert first.body == retry.body
    (event,) = retry.envelope["events"]
    assert (event["eventId"], event["data"]["loId"]) == (event_id, tricky)


async def test_a_redelivery_of_a_delivery_past_max_age_is_sent_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    # Age counts from when a delivery was queued: a redeliver queues it anew.
    hook_for(both_sender, sink)
    event_id = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await both_sender.drain()
    clock.advance(both_sender.retry.max_age.total_seconds() * 2)
    (delivery,) = both_sender.deliveries.list()
    both_sender.deliveries.redeliver(delivery.id)
    assert both_sender.purge()["expired"] == 0
    await both_sender.drain()
    assert sink.event_ids == [event_id, event_id]
    assert both_sender.deliveries.get(delivery.id).status == "succeeded"


async def test_recover_after_a_webhook_was_disabled_for_failing_sends_again_on_both_stores(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    # The documented way back: fix the target, activate, recover.
    hook_id = hook_for(both_sender, sink)
    start = clock()
    sink.answer(*[web.Response(status=500) for _ in range(100)])
    event_id = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    while both_sender.webhooks.get(hook_id).active:
        await both_sender.drain()
        clock.advance(60)
    sink.script.clear()
    clock.advance(600)
    both_sender.webhooks.activate(hook_id)
    assert both_sender.deliveries.recover(hook_id, since=start) == 1
    await both_sender.drain()
    assert sink.event_ids[-1] == event_id
    assert both_sender.deliveries.counts(webhook_id=hook_id)["succeeded"] == 1


def test_new_requests_larger_than_one_statement_are_stored_in_several_on_postgres(
    make_sender: MakeSender,
    sink: Sink,
    clock: FakeClock,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A jsonb value holds at most 256 MiB; a turn's requests can be larger. Here the
    # limit is one request's size, so each of the three goes in a statement of its own.
    monkeypatch.setattr(store_dispatch, "REQUEST_CHARS_PER_STATEMENT", 100)
    sender = make_sender(postgres_url)
    hooks = {hook_for(sender, sink, name=f"hook {n}") for n in range(3)}
    event = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    store = Store(postgres_url)
    try:
        jobs = store.claim(
            owner="a", now=clock(), lease=LEASE, limit=10, max_batch=100, max_batch_bytes=10**6
        )
        assert {job.webhook_id for job in jobs} == hooks
        clock.advance(LEASE.total_seconds())
        retaken = store.claim(
            owner="b", now=clock(), lease=LEASE, limit=10, max_batch=100, max_batch_bytes=10**6
        )
    finally:
        store.close()
    assert sorted((j.request_id, j.body) for j in retaken) == sorted(
        (j.request_id, j.body) for j in jobs
    )
    assert all(job.event_ids == (event,) for job in retaken)


def test_rows_are_cut_into_runs_of_at_most_the_size_given() -> None:
    # Each row counts its characters plus 16: here 36, 36, 86, 36 and 31.
    rows = [(f"msg_{n}", "wh", "x" * size, "[]", "t") for n, size in enumerate((10, 10, 60, 10, 5))]
    for limit, lengths in ((80, [2, 1, 2]), (70, [1, 1, 1, 2]), (10**6, [5]), (1, [1] * 5)):
        runs = list(store_dispatch._by_size(rows, limit))
        assert [row for run in runs for row in run] == rows
        assert [len(run) for run in runs] == lengths
