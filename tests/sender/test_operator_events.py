"""Operator events end to end: a real target and a real operator listener on 127.0.0.1
that verifies with the ordinary Receiver, a hand-moved clock, callbacks on the sender."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sender_support import COMPLETED, FakeClock, Sink, hook_for
from sqlalchemy.exc import OperationalError

from hookwire import Receiver, WebhookError, generate_secret
from hookwire.errors import ConfigurationError, InvalidSecretError
from hookwire.sender import (
    DELIVERIES_EXPIRED,
    DELIVERY_DEAD,
    OPERATOR_ACCOUNT_ID,
    OPERATOR_EVENT_NAMES,
    OPERATOR_WEBHOOK_ID,
    WEBHOOK_DISABLED,
    WEBHOOK_FAILING,
    WEBHOOK_RECOVERED,
    WEBHOOK_STILL_FAILING,
    OperatorEvent,
    Sender,
)

OPS_SECRET = generate_secret()
MakeSender = Callable[..., Sender]


@dataclass
class OpsListener:
    """The operator's listener: verifies each request with :class:`~hookwire.Receiver`
    and keeps the operator events it carried; answers from a script (202 after it)."""

    clock: Callable[[], datetime]
    url: str = ""
    events: list[OperatorEvent] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    requests: int = 0
    rejected: int = 0
    script: deque[int] = field(default_factory=deque)

    def answer(self, *statuses: int) -> None:
        self.script.extend(statuses)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.events]

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        try:
            envelope = Receiver(secret=OPS_SECRET).verify(
                body, request.headers, now=self.clock().timestamp()
            )
        except WebhookError:
            self.rejected += 1
            return web.Response(status=401)
        status = self.script.popleft() if self.script else 202
        if 200 <= status < 300:
            self.account_ids.append(envelope.account_id)
            for event in envelope.events:
                data: Any = event.data
                self.events.extend(
                    [
                        OperatorEvent.from_wire(
                            event.event_id, event.event_name, data, event.timestamp
                        )
                    ]
                )
        return web.Response(status=status)


@pytest.fixture
async def ops(clock: FakeClock) -> AsyncIterator[OpsListener]:
    listener = OpsListener(clock)
    app = web.Application()
    app.router.add_post("/ops", listener.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    listener.url = f"http://127.0.0.1:{port}/ops"
    yield listener
    await runner.cleanup()


@dataclass
class Watched:
    """A sender with an operator URL and a callback that keeps what it is handed."""

    sender: Sender
    called: list[OperatorEvent]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.called]


def watched(
    make_sender: MakeSender, ops: OpsListener, url: str | None = None, **options: Any
) -> Watched:
    sender = make_sender(url, operator_url=ops.url, operator_secret=OPS_SECRET, **options)
    called: list[OperatorEvent] = []
    sender.on_operator_event(called.append)
    return Watched(sender, called)


def publish(sender: Sender) -> str:
    return sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id


async def test_first_failure_fires_webhook_failing_once(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops)
    hook_id = hook_for(w.sender, sink)
    sink.answer(web.Response(status=500, text="boom"), web.Response(status=502))
    publish(w.sender)
    started = clock()
    await w.sender.drain()
    clock.advance(5)
    await w.sender.drain()
    assert w.names == [WEBHOOK_FAILING]
    (event,) = w.called
    assert (event.webhook_id, event.account_id, event.status_code) == (hook_id, 1, 500)
    assert event.failing_since == started
    assert ops.names == [WEBHOOK_FAILING]
    assert ops.events[0] == event


async def test_first_success_after_failures_fires_webhook_recovered_once(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops)
    hook_for(w.sender, sink)
    sink.answer(web.Response(status=500), web.Response(status=500))
    publish(w.sender)
    started = clock()
    await w.sender.drain()
    clock.advance(5)
    await w.sender.drain()
    clock.advance(10)
    await w.sender.drain()
    publish(w.sender)
    await w.sender.drain()
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    recovered = w.called[1]
    assert (recovered.status_code, recovered.failing_since) == (202, started)
    assert ops.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]


async def test_failing_past_each_threshold_fires_still_failing_once_per_threshold(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    thresholds = (timedelta(minutes=2), timedelta(minutes=10))
    w = watched(make_sender, ops, failing_thresholds=thresholds)
    hook_for(w.sender, sink)
    sink.answer(*[web.Response(status=503) for _ in range(30)])
    publish(w.sender)
    for _ in range(15):  # attempts every minute after the first two retries, for 15 minutes
        await w.sender.drain()
        clock.advance(60)
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_STILL_FAILING, WEBHOOK_STILL_FAILING]
    assert [e.threshold for e in w.called[1:]] == list(thresholds)
    assert all(e.at - e.failing_since >= e.threshold for e in w.called[1:])  # type: ignore[operator]
    assert ops.names == w.names


async def test_a_failing_run_that_starts_again_is_announced_again(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops)
    hook_for(w.sender, sink)
    for _ in range(2):
        sink.answer(web.Response(status=500))
        publish(w.sender)
        await w.sender.drain()
        clock.advance(5)
        await w.sender.drain()
        clock.advance(60)
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED] * 2


async def test_a_request_given_up_fires_delivery_dead_with_its_event_ids(
    make_sender: MakeSender, ops: OpsListener, sink: Sink
) -> None:
    w = watched(make_sender, ops)
    hook_id = hook_for(w.sender, sink)
    sink.answer(web.Response(status=413))
    event_id = publish(w.sender)
    await w.sender.drain()
    assert w.names == [WEBHOOK_FAILING, DELIVERY_DEAD]
    dead = w.called[1]
    assert (dead.webhook_id, dead.event_ids, dead.event_count) == (hook_id, (event_id,), 1)
    assert dead.status_code == 413
    assert dead.error is not None
    assert ops.names == w.names


async def test_delivery_dead_lists_at_most_100_event_ids_and_counts_them_all(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops, max_batch=150)
    hook_id = hook_for(w.sender, sink)
    sink.answer(*[web.Response(status=500) for _ in range(100)])
    published = [
        p.event_id
        for p in w.sender.publish_many(
            [{"event_name": "COURSE_COMPLETED", "data": COMPLETED, "account_id": 1}] * 120
        )
    ]
    await w.sender.drain()
    clock.advance(59 * 60)
    w.sender.webhooks.activate(hook_id)  # a person's switch: the failing run starts over
    clock.advance(2 * 60)
    await w.sender.drain()  # the request is older than max_age (1 h): given up
    dead = next(e for e in w.called if e.name == DELIVERY_DEAD)
    assert dead.event_ids == tuple(published[:100])
    assert dead.event_count == 120
    assert ops.events[-1].event_ids == tuple(published[:100])


async def test_deliveries_that_waited_past_max_age_reach_the_operator_as_expired(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops)
    hook_id = hook_for(w.sender, sink)
    published = [publish(w.sender) for _ in range(2)]
    w.sender.webhooks.retire(hook_id)  # the queue waits while the webhook is off
    clock.advance(w.sender.retry.max_age.total_seconds() + 1)
    w.sender.webhooks.activate(hook_id)

    await w.sender.drain()  # the dispatcher reaches the queue: too old to send

    assert sink.received == []
    assert w.names == ops.names == [DELIVERIES_EXPIRED]
    (expired,) = w.called
    assert (expired.webhook_id, expired.account_id) == (hook_id, 1)
    assert sorted(expired.event_ids) == sorted(published)
    assert (expired.dead_deliveries, expired.reason, expired.request_id) == (2, "expired", None)
    assert ops.events == [expired]  # the wire form has no lastAttempt and reads back whole


async def test_gone_fires_webhook_disabled_with_its_reason(
    make_sender: MakeSender, ops: OpsListener, sink: Sink
) -> None:
    w = watched(make_sender, ops, max_batch=1)
    hook_id = hook_for(w.sender, sink)
    sink.answer(web.Response(status=410))
    first = publish(w.sender)
    publish(w.sender)
    await w.sender.drain()
    assert w.names == [WEBHOOK_DISABLED]
    (disabled,) = w.called
    assert disabled.webhook_id == hook_id
    assert disabled.reason is not None
    assert "410" in disabled.reason
    assert (disabled.event_ids, disabled.dead_deliveries) == ((first,), 1)
    assert ops.names == [WEBHOOK_DISABLED]
    assert ops.events[0].reason == disabled.reason


async def test_failing_for_the_whole_window_fires_webhook_disabled(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops, failing_thresholds=(timedelta(hours=6),))
    hook_for(w.sender, sink)
    sink.answer(*[web.Response(status=500) for _ in range(100)])
    publish(w.sender)
    for _ in range(62):
        await w.sender.drain()
        clock.advance(60)
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_DISABLED]
    reason = w.called[1].reason
    assert reason is not None
    assert "whole retry window" in reason
    assert ops.names == w.names


async def test_operator_events_travel_in_envelopes_of_the_operator_account(
    make_sender: MakeSender, ops: OpsListener, sink: Sink
) -> None:
    w = watched(make_sender, ops)
    hook_for(w.sender, sink)
    sink.answer(web.Response(status=500))
    publish(w.sender)
    await w.sender.drain()
    assert ops.account_ids == [OPERATOR_ACCOUNT_ID]
    assert ops.rejected == 0
    stored = w.sender.events.list(OPERATOR_ACCOUNT_ID)
    assert [e.name for e in stored] == [WEBHOOK_FAILING]


async def test_failures_of_the_operator_url_produce_no_operator_events(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock
) -> None:
    w = watched(make_sender, ops)
    hook_for(w.sender, sink)
    ops.answer(500, 500, 410)
    sink.answer(web.Response(status=500))
    publish(w.sender)
    for _ in range(4):
        await w.sender.drain()
        clock.advance(20)
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    assert ops.requests == 3  # 500, 500, then 410 disabled the operator webhook
    assert not w.sender.webhooks.get(OPERATOR_WEBHOOK_ID).active
    assert [e.name for e in w.sender.events.list(OPERATOR_ACCOUNT_ID)] == [
        WEBHOOK_RECOVERED,
        WEBHOOK_FAILING,
    ]


async def test_a_raising_callback_is_logged_and_the_dispatcher_carries_on(
    make_sender: MakeSender,
    ops: OpsListener,
    sink: Sink,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = watched(make_sender, ops)

    def broken(event: OperatorEvent) -> None:
        raise RuntimeError(f"the pager is down; {event.name} is lost")

    w.sender.on_operator_event(broken)
    w.sender.on_operator_event(w.called.append)  # a later callback still gets every event
    hook_for(w.sender, sink)
    sink.answer(web.Response(status=500))
    publish(w.sender)
    with caplog.at_level(logging.ERROR, logger="hookwire.sender"):
        await w.sender.drain()
        clock.advance(5)
        await w.sender.drain()
    assert [d.status for d in w.sender.deliveries.list()] == ["succeeded", "succeeded", "succeeded"]
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_FAILING, WEBHOOK_RECOVERED, WEBHOOK_RECOVERED]
    assert any("operator event callback failed" in r.getMessage() for r in caplog.records)


async def test_a_rolled_back_turn_notifies_nobody_and_its_retry_fires_once(
    make_sender: MakeSender,
    ops: OpsListener,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = watched(make_sender, ops, poll_interval=0.05)
    hook_for(w.sender, sink)
    sink.answer(web.Response(status=500))
    transitions = w.sender._store.results._transitions
    record = transitions.record
    failures: list[int] = []

    def record_then_fail_once(*args: Any, **kwargs: Any) -> None:
        record(*args, **kwargs)
        if not failures:
            # The events are decided; the turn's transaction then fails and rolls back.
            failures.append(len(w.called))
            raise OperationalError("FINISH", {}, Exception("database is locked"))

    monkeypatch.setattr(transitions, "record", record_then_fail_once)
    stop = asyncio.Event()
    publish(w.sender)
    with caplog.at_level(logging.WARNING, logger="hookwire.sender"):
        running = asyncio.create_task(w.sender.run_dispatcher(stop))
        for _ in range(200):
            if ops.events:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await running
    assert failures == [0]
    assert w.names == [WEBHOOK_FAILING]
    assert ops.names == [WEBHOOK_FAILING]
    assert len(w.sender.events.list(OPERATOR_ACCOUNT_ID)) == 1


async def test_a_sender_opened_without_operator_settings_still_delivers_to_the_operator_url(
    make_sender: MakeSender, ops: OpsListener, sink: Sink
) -> None:
    watched(make_sender, ops)
    later = make_sender()  # e.g. `hookwire dispatch` on the same store
    hook_for(later, sink)
    sink.answer(web.Response(status=500))
    publish(later)
    await later.drain()
    assert ops.names == [WEBHOOK_FAILING]


async def _until(done: Callable[[], object]) -> None:
    """Wait (polling) until ``done()`` is true; fail after 10 seconds."""
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_dispatcher_running_before_the_operator_url_was_set_delivers_its_events(
    make_sender: MakeSender, ops: OpsListener, sink: Sink
) -> None:
    dispatching = make_sender(poll_interval=0.05)  # e.g. `hookwire dispatch`, started first
    stop = asyncio.Event()
    running = asyncio.create_task(dispatching.run_dispatcher(stop))
    try:
        await asyncio.sleep(0.1)  # the dispatcher is up and idle
        make_sender(operator_url=ops.url, operator_secret=OPS_SECRET)  # then the app starts
        hook_for(dispatching, sink)
        sink.answer(web.Response(status=410))
        publish(dispatching)
        await _until(lambda: ops.events)
    finally:
        stop.set()
        await running
    assert ops.names == [WEBHOOK_DISABLED]
    assert ops.rejected == 0


async def test_a_slow_callback_delays_no_delivery_and_gets_the_events_in_order(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(poll_interval=0.05)
    called: list[tuple[str, str, float]] = []

    def slow(event: OperatorEvent) -> None:
        called.append((event.name, event.webhook_id, time.monotonic()))
        time.sleep(2)

    sender.on_operator_event(slow)
    first = hook_for(sender, sink, account_id=1)
    second = hook_for(sender, sink, account_id=2)
    sink.answer(web.Response(status=500), web.Response(status=500))
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run_dispatcher(stop))
    try:
        publish(sender)
        await _until(lambda: called)  # the first callback has begun its 2 s
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=2)
        await _until(lambda: len(sink.received) == 2)
        delivered = time.monotonic()
        await _until(lambda: len(called) == 2)
    finally:
        stop.set()
        await running
    assert delivered - called[0][2] < 1.0  # not held up by the sleeping callback
    assert [(name, hook) for name, hook, _ in called] == [
        (WEBHOOK_FAILING, first),
        (WEBHOOK_FAILING, second),
    ]
    assert called[1][2] - called[0][2] >= 2.0  # one event at a time


class RaisingMetrics:
    """Dispatch metrics whose every count fails (a broken metrics backend)."""

    turns = 0

    def turned(self, outcomes: Sequence[object], took: float) -> None:
        self.turns += 1
        raise RuntimeError("the metrics backend is gone")


async def test_metrics_that_raise_stop_no_delivery_and_are_logged_once(
    sender: Sender, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = RaisingMetrics()
    sender._dispatcher_settings = dataclasses.replace(
        sender._dispatcher_settings,
        metrics=metrics,  # type: ignore[arg-type]
    )
    hook_for(sender, sink)
    publish(sender)
    publish(sender)
    with caplog.at_level(logging.ERROR, logger="hookwire.sender"):
        await sender.drain()
    assert [d.status for d in sender.deliveries.list()] == ["succeeded", "succeeded"]
    assert metrics.turns >= 2
    failed = [r for r in caplog.records if "counting a dispatcher turn failed" in r.getMessage()]
    assert len(failed) == 1


async def test_without_operator_settings_or_callbacks_no_operator_event_is_stored(
    sender: Sender, sink: Sink
) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500))
    publish(sender)
    await sender.drain()
    assert sender.events.list(OPERATOR_ACCOUNT_ID) == []


async def test_a_callback_alone_gets_operator_events_without_any_delivery(
    sender: Sender, sink: Sink
) -> None:
    called: list[OperatorEvent] = []
    sender.on_operator_event(called.append)
    hook_for(sender, sink)
    sink.answer(web.Response(status=410))
    publish(sender)
    await sender.drain()
    assert [e.name for e in called] == [WEBHOOK_DISABLED]
    assert [d.webhook_id for d in sender.deliveries.list()] == [called[0].webhook_id]


def test_the_operator_webhook_is_neither_listed_nor_counted(make_sender: MakeSender) -> None:
    sender = make_sender(
        operator_url="http://127.0.0.1:9/ops",
        operator_secret=OPS_SECRET,
        max_webhooks_per_account=1,
    )
    created = sender.webhooks.create(
        name="account zero",
        target_url="http://127.0.0.1:9/x",
        events=["COURSE_COMPLETED"],
        account_id=OPERATOR_ACCOUNT_ID,
    )
    assert [h.id for h in sender.webhooks.list()] == [created.id]
    assert [h.id for h in sender.webhooks.list(OPERATOR_ACCOUNT_ID)] == [created.id]
    operator = sender.webhooks.get(OPERATOR_WEBHOOK_ID)
    assert operator.events == OPERATOR_EVENT_NAMES
    assert operator.auth == "signature"


def test_reopening_with_the_same_operator_settings_changes_nothing(
    make_sender: MakeSender, clock: FakeClock
) -> None:
    first = make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret=OPS_SECRET)
    made = first.webhooks.get(OPERATOR_WEBHOOK_ID)
    clock.advance(60)
    make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret=OPS_SECRET)
    assert first.webhooks.get(OPERATOR_WEBHOOK_ID) == made
    other = generate_secret()
    make_sender(operator_url="http://127.0.0.1:9/v2", operator_secret=other)
    changed = first.webhooks.get(OPERATOR_WEBHOOK_ID)
    assert changed.target_url == "http://127.0.0.1:9/v2"
    assert first.webhooks.signature_file(OPERATOR_WEBHOOK_ID).keys == (other,)


def test_reopening_updates_an_operator_webhook_made_with_fewer_event_names(
    make_sender: MakeSender, sqlite_url: str
) -> None:
    make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret=OPS_SECRET).close()
    older = json.dumps([n for n in OPERATOR_EVENT_NAMES if n != DELIVERIES_EXPIRED])
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with db:  # as a store made before HOOKWIRE_DELIVERIES_EXPIRED existed has it
        db.execute(
            "UPDATE hookwire_webhooks SET events = ? WHERE id = ?", (older, OPERATOR_WEBHOOK_ID)
        )
    db.close()
    sender = make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret=OPS_SECRET)
    assert sender.webhooks.get(OPERATOR_WEBHOOK_ID).events == OPERATOR_EVENT_NAMES


def test_operator_url_without_a_secret_is_refused(make_sender: MakeSender) -> None:
    with pytest.raises(ConfigurationError, match="together"):
        make_sender(operator_url="http://127.0.0.1:9/ops")


def test_an_operator_secret_that_cannot_sign_is_refused_without_quoting_it(
    make_sender: MakeSender,
) -> None:
    with pytest.raises(InvalidSecretError, match=r"^operator_secret: the secret is") as refused:
        make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret="whsec_c2hvcnQ=")
    assert "c2hvcnQ" not in str(refused.value)


def test_an_operator_secret_that_is_not_text_names_the_setting(make_sender: MakeSender) -> None:
    message = r"^operator_secret: the secret must be a whsec_ secret or a whsk_ signing key$"
    with pytest.raises(InvalidSecretError, match=message):
        make_sender(operator_url="http://127.0.0.1:9/ops", operator_secret=12345)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1/ops", "must start with http:// or https://"),
        ("not a url", "contains spaces or control characters"),
    ],
)
def test_an_operator_url_that_cannot_be_a_target_names_the_setting(
    make_sender: MakeSender, url: str, why: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"^operator_url: .*{why}"):
        make_sender(operator_url=url, operator_secret=generate_secret())


def test_a_private_operator_url_is_refused_unless_private_targets_are_allowed(
    make_sender: MakeSender,
) -> None:
    with pytest.raises(ConfigurationError, match=r"^operator_url: "):
        make_sender(
            operator_url="http://127.0.0.1:9/ops",
            operator_secret=generate_secret(),
            allow_private_targets=False,
        )


@pytest.mark.parametrize("thresholds", [(timedelta(0),), "1h", (3600,)])
def test_failing_thresholds_must_be_positive_timedeltas(
    make_sender: MakeSender, thresholds: Any
) -> None:
    with pytest.raises(ConfigurationError, match="failing_thresholds"):
        make_sender(failing_thresholds=thresholds)


def test_operator_event_names_are_outside_the_catalogue() -> None:
    from hookwire import CATALOGUE

    assert not set(OPERATOR_EVENT_NAMES) & set(CATALOGUE)


def test_an_expired_event_round_trips_with_no_last_attempt(clock: FakeClock) -> None:
    event = OperatorEvent(
        name=DELIVERIES_EXPIRED,
        event_id="hwop_expired_wh_1_1",
        webhook_id="wh_1",
        account_id=1010,
        at=clock(),
        status_code=None,
        error=None,
        request_id=None,
        attempts=0,
        event_ids=("evt_1", "evt_2"),
        event_count=2,
        dead_deliveries=2,
        reason="expired",
    )
    wire = json.loads(event.payload())
    assert wire["data"]["lastAttempt"] is None
    timestamp = datetime.fromisoformat(wire["timestamp"].replace("Z", "+00:00"))
    read = OperatorEvent.from_wire(wire["eventId"], wire["eventName"], wire["data"], timestamp)
    assert read == event


def test_operator_event_round_trips_through_its_wire_form(clock: FakeClock) -> None:
    event = OperatorEvent(
        name=WEBHOOK_STILL_FAILING,
        event_id="hwop_x",
        webhook_id="wh_1",
        account_id=1010,
        at=clock(),
        status_code=None,
        error="connect: refused",
        request_id="msg_1",
        attempts=7,
        failing_since=clock() - timedelta(hours=1),
        threshold=timedelta(hours=1),
    )
    wire = json.loads(event.payload())
    assert OperatorEvent.from_wire(wire["eventId"], wire["eventName"], wire["data"]) == event


async def test_on_both_stores_the_operator_listener_gets_failing_then_recovered(
    make_sender: MakeSender, ops: OpsListener, sink: Sink, clock: FakeClock, store_url: str
) -> None:
    w = watched(make_sender, ops, store_url)
    hook_for(w.sender, sink)
    sink.answer(web.Response(status=503))
    publish(w.sender)
    await w.sender.drain()
    clock.advance(5)
    await w.sender.drain()
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    assert ops.names == w.names
    assert [e.event_id for e in ops.events] == [e.event_id for e in w.called]


async def test_the_operator_secret_shows_in_no_log_line_and_no_event(
    make_sender: MakeSender,
    ops: OpsListener,
    sink: Sink,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        w = watched(make_sender, ops)
        hook_for(w.sender, sink)
        sink.answer(web.Response(status=500))
        publish(w.sender)
        await w.sender.drain()
        clock.advance(5)
        await w.sender.drain()
    key = OPS_SECRET.removeprefix("whsec_")
    assert w.names == [WEBHOOK_FAILING, WEBHOOK_RECOVERED]
    assert key not in caplog.text
    assert all(key not in json.dumps(e.data) for e in w.sender.events.list(OPERATOR_ACCOUNT_ID))
    assert all(key not in repr(e) for e in w.called)
