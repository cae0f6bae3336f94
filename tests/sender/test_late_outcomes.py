"""Outcomes recorded after their lease ran out (a frozen dispatcher, or turns that
failed until then), on both stores: they count for a request's deliveries only
while the request is still open, and what a purge kills keeps its history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from sender_support import COMPLETED, FakeClock, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender.rows import new_id
from hookwire.sender.store import Store
from hookwire.sender.work import Job, Outcome

LEASE = timedelta(seconds=30)
MAX_AGE_PASSED = 2 * 3600  # seconds: past the lease and the tests' max_age (1 h)


@pytest.fixture
def both_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def _turn(
    store: Store, owner: str, clock: FakeClock, outcomes: Sequence[Outcome] = ()
) -> list[Job]:
    """One dispatcher turn: record ``outcomes``, or else claim."""
    return store.claim(
        owner=owner,
        now=clock(),
        lease=LEASE,
        limit=0 if outcomes else 10,
        max_batch=100,
        max_batch_bytes=10**6,
        outcomes=outcomes,
    )


def _outcome(job: Job, at: datetime, *, ok: bool) -> Outcome:
    return Outcome(
        job=job,
        attempt_id=new_id("att"),
        started_at=at,
        status_code=200 if ok else 500,
        latency_ms=1.0,
        error=None,
        response_body="",
        verdict="succeeded" if ok else "retry",
        next_attempt_at=None if ok else at + timedelta(seconds=5),
    )


async def test_a_success_landing_after_a_purge_killed_its_request_leaves_a_redelivery_queued(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    event = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    (job,) = _turn(store, "a", clock)
    clock.advance(MAX_AGE_PASSED)
    assert both_sender.purge()["expired"] == 1
    (delivery,) = both_sender.deliveries.list()
    both_sender.deliveries.redeliver(delivery.id)
    _turn(store, "a", clock, [_outcome(job, clock(), ok=True)])
    after = both_sender.deliveries.get(delivery.id)
    assert (after.status, after.request_id) == ("pending", None)
    await both_sender.drain()
    assert sink.event_ids == [event]


async def test_a_stale_failure_after_a_takeover_succeeded_does_not_strand_a_redelivery(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    event = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    (stalled,) = _turn(store, "a", clock)
    clock.advance(LEASE.total_seconds())
    (taken,) = _turn(store, "b", clock)
    assert taken.request_id == stalled.request_id
    _turn(store, "b", clock, [_outcome(taken, clock(), ok=True)])
    (delivery,) = both_sender.deliveries.list()
    assert delivery.status == "succeeded"
    both_sender.deliveries.redeliver(delivery.id)
    _turn(store, "a", clock, [_outcome(stalled, clock(), ok=False)])
    assert both_sender.deliveries.get(delivery.id).status == "pending"
    await both_sender.drain()
    assert sink.event_ids == [event]


def test_a_delivery_killed_with_its_request_keeps_that_requests_attempt_in_its_history(
    both_sender: Sender, sink: Sink, clock: FakeClock, store: Store
) -> None:
    hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    (job,) = _turn(store, "a", clock)
    clock.advance(MAX_AGE_PASSED)
    assert both_sender.purge()["expired"] == 1
    _turn(store, "a", clock, [_outcome(job, clock(), ok=True)])
    (delivery,) = both_sender.deliveries.list()
    got = both_sender.deliveries.get(delivery.id)
    assert (got.status, got.request_id) == ("dead", job.request_id)
    assert [a.request_id for a in got.attempts] == [job.request_id]
