"""Operator events decided in the store's transaction, on a SQLite file and on PostgreSQL:
each transition is stored and handed out once, however many dispatchers record outcomes
of the same webhook, and a turn that rolls back hands out nothing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sender_support import COMPLETED, TEST_RETRY, FakeClock, Sink, hook_for
from sqlalchemy.exc import OperationalError

from hookwire import generate_secret
from hookwire.sender import (
    DELIVERIES_EXPIRED,
    DELIVERY_DEAD,
    OPERATOR_ACCOUNT_ID,
    OPERATOR_WEBHOOK_ID,
    WEBHOOK_DISABLED,
    WEBHOOK_FAILING,
    WEBHOOK_RECOVERED,
    WEBHOOK_STILL_FAILING,
    OperatorEvent,
    Sender,
)
from hookwire.sender.operator import OperatorTurn
from hookwire.sender.rows import new_id
from hookwire.sender.store import Store
from hookwire.sender.work import Job, Outcome, Verdict

LEASE = timedelta(seconds=30)
THRESHOLDS = (timedelta(minutes=10),)
MAX_AGE = TEST_RETRY.max_age


@pytest.fixture
def both_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def _claim(
    store: Store,
    clock: FakeClock,
    outcomes: Sequence[Outcome] = (),
    *,
    owner: str = "d1",
    limit: int = 10,
    operator: OperatorTurn | None = None,
    expire: bool = False,
) -> list[Job]:
    """One dispatcher turn: record ``outcomes``, then claim up to ``limit`` webhooks; with
    ``expire``, what was queued more than the tests' max_age ago dies instead."""
    return store.claim(
        owner=owner,
        now=clock(),
        lease=LEASE,
        limit=limit,
        max_batch=100,
        max_batch_bytes=10**6,
        outcomes=outcomes,
        expire_before=clock() - MAX_AGE if expire else None,
        operator=operator,
    )


def _turn(
    store: Store, clock: FakeClock, outcomes: Sequence[Outcome] = (), *, owner: str = "d1"
) -> tuple[list[Job], list[str]]:
    """One dispatcher turn deciding operator events: the jobs claimed, the events handed out."""
    turn = OperatorTurn(THRESHOLDS)
    jobs = _claim(store, clock, outcomes, owner=owner, limit=0 if outcomes else 10, operator=turn)
    return jobs, [e.name for e in turn.fired]


def _outcome(job: Job, at: datetime, verdict: Verdict, status: int = 500) -> Outcome:
    return Outcome(
        job=job,
        attempt_id=new_id("att"),
        started_at=at,
        status_code=status,
        latency_ms=1.0,
        error=None,
        response_body="",
        verdict=verdict,
        next_attempt_at=at + timedelta(seconds=5) if verdict == "retry" else None,
        disabled_reason="the target answered 410 Gone" if verdict == "disable" else None,
    )


def _again(outcome: Outcome) -> Outcome:
    """The same attempt's outcome recorded by another dispatcher (an attempt row of its own)."""
    return dataclasses.replace(outcome, attempt_id=new_id("att"))


def _job(sender: Sender, sink: Sink, store: Store, clock: FakeClock) -> Job:
    hook_for(sender, sink)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    (job,) = _turn(store, clock)[0]
    return job


def _stored(sender: Sender) -> list[str]:
    return sorted(e.name for e in sender.events.list(OPERATOR_ACCOUNT_ID))


def test_a_failure_recorded_again_or_by_another_dispatcher_fires_failing_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    failed = _outcome(job, clock(), "retry")
    assert _turn(store, clock, [failed])[1] == [WEBHOOK_FAILING]
    assert _turn(store, clock, [_again(failed)], owner="d2")[1] == []
    clock.advance(5)
    assert _turn(store, clock, [_outcome(job, clock(), "retry")], owner="d2")[1] == []
    assert _stored(both_sender) == [WEBHOOK_FAILING]


def test_the_first_success_after_failures_fires_recovered_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    _turn(store, clock, [_outcome(job, clock(), "retry")])
    clock.advance(5)
    succeeded = _outcome(job, clock(), "succeeded", 202)
    assert _turn(store, clock, [succeeded])[1] == [WEBHOOK_RECOVERED]
    assert _turn(store, clock, [_again(succeeded)], owner="d2")[1] == []
    assert _stored(both_sender) == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]


def test_a_threshold_fires_once_per_failing_run(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    _turn(store, clock, [_outcome(job, clock(), "retry")])
    fired = []
    for _ in range(4):
        clock.advance(5 * 60)
        fired += _turn(store, clock, [_outcome(job, clock(), "retry")])[1]
    assert fired == [WEBHOOK_STILL_FAILING]


def test_a_dead_request_fires_delivery_dead_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    dead = _outcome(job, clock(), "dead", 413)
    assert _turn(store, clock, [dead])[1] == [WEBHOOK_FAILING, DELIVERY_DEAD]
    assert _turn(store, clock, [_again(dead)], owner="d2")[1] == []
    assert _stored(both_sender) == [DELIVERY_DEAD, WEBHOOK_FAILING]


def test_one_turn_recording_a_death_twice_fires_it_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    dead = _outcome(job, clock(), "dead", 413)
    assert _turn(store, clock, [dead, _again(dead)])[1] == [WEBHOOK_FAILING, DELIVERY_DEAD]


def test_a_late_death_of_a_request_that_succeeded_fires_nothing(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    _turn(store, clock, [_outcome(job, clock(), "succeeded", 202)])
    assert _turn(store, clock, [_outcome(job, clock(), "dead", 413)], owner="d2")[1] == []
    assert _stored(both_sender) == []


def test_a_late_failure_of_a_request_that_succeeded_fires_no_failing(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    _turn(store, clock, [_outcome(job, clock(), "succeeded", 202)])
    assert _turn(store, clock, [_outcome(job, clock(), "retry")], owner="d2")[1] == []
    assert _stored(both_sender) == []


def test_a_late_failure_leaves_the_next_real_failure_announced(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    _turn(store, clock, [_outcome(job, clock(), "succeeded", 202)])
    _turn(store, clock, [_outcome(job, clock(), "retry")], owner="d2")
    assert both_sender.webhooks.get(job.webhook_id).failing_since is None
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    clock.advance(1)
    (second,) = _turn(store, clock)[0]
    assert _turn(store, clock, [_outcome(second, clock(), "retry")])[1] == [WEBHOOK_FAILING]


def test_a_late_success_of_a_request_given_up_fires_no_recovered(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    dead = _outcome(job, clock(), "dead", 413)
    assert _turn(store, clock, [dead])[1] == [WEBHOOK_FAILING, DELIVERY_DEAD]
    clock.advance(1)
    late = _outcome(job, clock(), "succeeded", 202)
    assert _turn(store, clock, [late], owner="d2")[1] == []
    assert _stored(both_sender) == [DELIVERY_DEAD, WEBHOOK_FAILING]


def test_a_webhook_disabled_twice_over_fires_disabled_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    assert _turn(store, clock, [_outcome(job, clock(), "disable", 410)])[1] == [WEBHOOK_DISABLED]
    assert _turn(store, clock, [_outcome(job, clock(), "disable", 410)], owner="d2")[1] == []
    assert _stored(both_sender) == [WEBHOOK_DISABLED]


def test_a_turn_that_rolls_back_stores_nothing_and_its_retry_fires_once(
    both_sender: Sender,
    sink: Sink,
    store: Store,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = _job(both_sender, sink, store, clock)
    failed = _outcome(job, clock(), "retry")
    transitions = store.results._transitions
    record = transitions.record

    def record_then_fail(*args: Any, **kwargs: Any) -> None:
        record(*args, **kwargs)
        raise OperationalError("FINISH", {}, Exception("the connection dropped"))

    monkeypatch.setattr(transitions, "record", record_then_fail)
    with pytest.raises(OperationalError):
        _turn(store, clock, [failed])
    assert _stored(both_sender) == []
    monkeypatch.setattr(transitions, "record", record)
    assert _turn(store, clock, [failed])[1] == [WEBHOOK_FAILING]


def test_dispatchers_recording_failures_at_once_fire_failing_once(
    both_sender: Sender, sink: Sink, store: Store, store_url: str, clock: FakeClock
) -> None:
    job = _job(both_sender, sink, store, clock)
    stores = [Store(store_url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    fired: list[str] = []

    def record(index: int) -> None:
        outcome = _outcome(job, clock() + timedelta(milliseconds=index), "retry")
        start.wait()
        fired.extend(_turn(stores[index], clock, [outcome], owner=f"d{index}")[1])

    threads = [threading.Thread(target=record, args=(i,)) for i in range(len(stores))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for opened in stores:
            opened.close()
    assert fired == [WEBHOOK_FAILING]
    assert _stored(both_sender) == [WEBHOOK_FAILING]


def _counting(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every statement the store runs from now on (through SQLAlchemy or the driver)."""
    count = [0]
    for name in ("run", "rows", "write", "write_many"):
        original = getattr(store.db, name)

        def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            count[0] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(store.db, name, counted)
    return count


def _statements(
    store: Store,
    clock: FakeClock,
    count: list[int],
    outcomes: Sequence[Outcome] = (),
    operator: OperatorTurn | None = None,
) -> int:
    before = count[0]
    _claim(store, clock, outcomes, operator=operator)
    return count[0] - before


def test_deciding_operator_events_adds_no_statement_to_a_turn_without_outcomes(
    both_sender: Sender,
    sink: Sink,
    store: Store,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook_for(both_sender, sink, account_id=1)
    hook_for(both_sender, sink, account_id=2)
    count = _counting(store, monkeypatch)
    nothing_due = _statements(store, clock, count)
    assert _statements(store, clock, count, operator=OperatorTurn(THRESHOLDS)) == nothing_due
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    claiming = _statements(store, clock, count)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2)
    assert _statements(store, clock, count, operator=OperatorTurn(THRESHOLDS)) == claiming


def test_a_turn_with_outcomes_reads_whether_to_decide_in_one_statement(
    both_sender: Sender,
    sink: Sink,
    store: Store,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _job(both_sender, sink, store, clock)
    hook_for(both_sender, sink, account_id=2)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2)
    (second,) = _turn(store, clock)[0]
    count = _counting(store, monkeypatch)
    plain = _statements(store, clock, count, [_outcome(first, clock(), "succeeded", 202)])
    unwatched = OperatorTurn(THRESHOLDS, callbacks=False)
    succeeded = _outcome(second, clock(), "succeeded", 202)
    assert _statements(store, clock, count, [succeeded], unwatched) == plain + 1
    assert unwatched.fired == []


def _claim_expiring(store: Store, clock: FakeClock) -> tuple[list[Job], list[OperatorEvent]]:
    """A dispatcher's claim that kills what was queued more than the tests' max_age ago."""
    turn = OperatorTurn(THRESHOLDS)
    return _claim(store, clock, operator=turn, expire=True), turn.fired


def test_queued_deliveries_past_max_age_fire_deliveries_expired_once(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    hook_id = hook_for(both_sender, sink)
    published = [
        both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
        for _ in range(3)
    ]
    clock.advance(MAX_AGE.total_seconds() + 1)

    jobs, fired = _claim_expiring(store, clock)

    assert jobs == []
    (event,) = fired
    assert (event.name, event.webhook_id, event.account_id) == (DELIVERIES_EXPIRED, hook_id, 1)
    assert event.event_ids == tuple(published)  # in queue order
    assert (event.event_count, event.dead_deliveries) == (3, 3)
    assert (event.request_id, event.attempts, event.reason) == (None, 0, "expired")
    assert event.at == clock()
    assert _claim_expiring(store, clock)[1] == []
    assert _stored(both_sender) == [DELIVERIES_EXPIRED]


def test_a_claim_that_expires_nothing_decides_nothing(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    hook_for(both_sender, sink)
    both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    clock.advance(MAX_AGE.total_seconds() - 1)
    jobs, fired = _claim_expiring(store, clock)
    assert (len(jobs), fired) == (1, [])
    assert _stored(both_sender) == []


async def test_purge_fires_deliveries_expired_for_a_retired_queue_and_a_retrying_request(
    both_sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    called: list[OperatorEvent] = []
    both_sender.on_operator_event(called.append)
    retrying = hook_for(both_sender, sink)
    sink.answer(web.Response(status=500))
    failed = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await both_sender.drain()  # its request fails and waits for a retry
    retired = hook_for(both_sender, sink, account_id=2)
    queued = both_sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2).event_id
    both_sender.webhooks.retire(retired)
    called.clear()
    clock.advance(MAX_AGE.total_seconds() + 1)

    assert both_sender.purge()["expired"] == 2
    await both_sender.drain()  # hands the callbacks what purge fired

    expired = sorted(
        (e.webhook_id, e.event_ids, e.dead_deliveries)
        for e in called
        if e.name == DELIVERIES_EXPIRED
    )
    assert expired == sorted([(retrying, (failed,), 1), (retired, (queued,), 1)])
    assert both_sender.purge()["expired"] == 0


def test_the_operator_webhooks_own_expired_deliveries_fire_nothing(
    both_sender: Sender, sink: Sink, store: Store, clock: FakeClock
) -> None:
    both_sender.on_operator_event(lambda event: None)  # decided for callbacks too
    both_sender.webhooks.set_operator(sink.url, secret=generate_secret())
    job = _job(both_sender, sink, store, clock)
    assert _turn(store, clock, [_outcome(job, clock(), "retry")])[1] == [WEBHOOK_FAILING]
    both_sender.webhooks.retire(OPERATOR_WEBHOOK_ID)  # its queued WEBHOOK_FAILING stays
    both_sender.webhooks.retire(job.webhook_id)
    clock.advance(MAX_AGE.total_seconds() + 1)

    assert both_sender.purge()["expired"] == 2  # the webhook's request, the operator's event
    assert _stored(both_sender) == [DELIVERIES_EXPIRED, WEBHOOK_FAILING]
    (expired,) = [
        e for e in both_sender.events.list(OPERATOR_ACCOUNT_ID) if e.name == DELIVERIES_EXPIRED
    ]
    assert expired.data["webhookId"] == job.webhook_id
