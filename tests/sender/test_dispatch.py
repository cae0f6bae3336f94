"""The dispatcher against a real HTTP server on 127.0.0.1: signing, retries, ordering, batching."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import standardwebhooks
from aiohttp import web
from sender_support import COMPLETED, PROGRESS, FakeClock, Sink, hook_for

from hookwire import Receiver
from hookwire.errors import SignatureMismatchError
from hookwire.sender import BasicAuth, Sender
from hookwire.signing import check_basic_auth

MakeSender = Callable[..., Sender]


def publish(sender: Sender, count: int = 1, *, name: str = "COURSE_COMPLETED") -> list[str]:
    data = COMPLETED if name == "COURSE_COMPLETED" else PROGRESS
    return [sender.publish(name, data=data, account_id=1).event_id for _ in range(count)]


async def test_request_verifies_with_the_signature_file(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    (event_id,) = publish(sender)
    await sender.drain()
    receiver = Receiver(signature_file=sender.webhooks.signature_file(hook_id))
    request = sink.received[0]
    envelope = receiver.verify(request.body, request.headers, now=clock().timestamp())
    assert [e.event_id for e in envelope.events] == [event_id]
    assert envelope.account_id == 1


async def test_request_verifies_with_the_standardwebhooks_package(
    sender: Sender, sink: Sink
) -> None:
    hook_id = hook_for(sender, sink)
    publish(sender)
    await sender.drain()
    secret = sender.webhooks.signature_file(hook_id).secret
    request = sink.received[0]
    payload = standardwebhooks.Webhook(secret).verify(request.body, dict(request.headers))
    assert payload["accountId"] == 1


async def test_request_carries_json_content_type_and_user_agent(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    publish(sender)
    await sender.drain()
    headers = sink.received[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "hookwire/0.1.0"


async def test_basic_auth_webhook_sends_its_credentials(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink, auth=BasicAuth("hooks", "pw-123"))
    publish(sender)
    await sender.drain()
    check_basic_auth(sink.received[0].headers["authorization"], "hooks", "pw-123")
    assert "webhook-signature" not in sink.received[0].headers


async def test_ed25519_webhook_verifies_with_its_public_key(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink, auth="signature-ed25519")
    publish(sender)
    await sender.drain()
    public_key = sender.webhooks.signature_file(hook_id).public_key
    request = sink.received[0]
    Receiver(public_key=public_key).verify(request.body, request.headers, now=clock().timestamp())


async def test_one_event_fans_out_to_every_subscribed_webhook(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    hook_for(sender, sink)
    (event_id,) = publish(sender)
    await sender.drain()
    assert sink.event_ids == [event_id, event_id]


async def test_pending_events_go_in_one_request_in_publish_order(
    sender: Sender, sink: Sink
) -> None:
    hook_for(sender, sink)
    event_ids = publish(sender, 5)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [event_ids]


async def test_max_batch_splits_requests_in_order(make_sender: MakeSender, sink: Sink) -> None:
    sender = make_sender(max_batch=2)
    hook_for(sender, sink)
    event_ids = publish(sender, 5)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [event_ids[:2], event_ids[2:4], event_ids[4:]]


async def test_byte_cap_splits_requests(make_sender: MakeSender, sink: Sink) -> None:
    sender = make_sender(max_batch_bytes=300)
    hook_for(sender, sink)
    event_ids = publish(sender, 3)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [[e] for e in event_ids]


async def test_server_errors_are_retried_until_success(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500, text="boom"), web.Response(status=502))
    publish(sender)
    await sender.drain()
    clock.advance(5)
    await sender.drain()
    clock.advance(10)
    await sender.drain()
    delivery = sender.deliveries.get(sender.deliveries.list()[0].id)
    assert [a.status_code for a in delivery.attempts] == [500, 502, 202]
    assert delivery.attempts[0].response_body == "boom"
    assert delivery.status == "succeeded"


async def test_failed_delivery_waits_for_its_retry_time(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500))
    publish(sender)
    await sender.drain()
    clock.advance(4)
    await sender.drain()
    assert len(sink.received) == 1
    assert sender.deliveries.list()[0].status == "failed"


async def test_retry_resends_the_same_webhook_id_with_a_fresh_timestamp(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500))
    publish(sender)
    await sender.drain()
    clock.advance(5)
    await sender.drain()
    first, second = (r.headers for r in sink.received)
    assert first["webhook-id"] == second["webhook-id"]
    assert int(second["webhook-timestamp"]) == int(first["webhook-timestamp"]) + 5
    assert sink.received[0].body == sink.received[1].body


async def test_later_events_wait_behind_a_failing_request(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=503))
    (first,) = publish(sender)
    await sender.drain()
    later = publish(sender, 2)
    await sender.drain()
    assert sink.event_ids == [first]
    clock.advance(5)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [[first], [first], later]


async def test_response_body_is_cut_to_4_kib(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500, text="x" * 100_000))
    publish(sender)
    await sender.drain()
    attempt = sender.deliveries.get(sender.deliveries.list()[0].id).attempts[0]
    assert attempt.response_body == "x" * 4096


async def test_slow_target_times_out(make_sender: MakeSender, sink: Sink) -> None:
    sender = make_sender(read_timeout=0.2, connect_timeout=1)

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return web.Response(status=202)

    hook_for(sender, sink)
    sink.answer(slow)
    publish(sender)
    await sender.drain()
    attempt = sender.deliveries.get(sender.deliveries.list()[0].id).attempts[0]
    assert attempt.status_code is None
    assert attempt.error == "timeout: no response in time"
    assert attempt.latency_ms < 550


async def test_refused_connection_is_a_failed_attempt(sender: Sender, unused_tcp_port: int) -> None:
    sender.webhooks.create(
        name="closed",
        target_url=f"http://127.0.0.1:{unused_tcp_port}/hook",
        events=["COURSE_COMPLETED"],
        account_id=1,
    )
    publish(sender)
    await sender.drain()
    delivery = sender.deliveries.get(sender.deliveries.list()[0].id)
    assert delivery.status == "failed"
    assert delivery.attempts[0].error is not None
    assert delivery.attempts[0].error.startswith("connection failed")


async def test_redirect_is_a_failure_and_not_followed(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=302, headers={"location": "/elsewhere"}))
    publish(sender)
    await sender.drain()
    assert len(sink.received) == 1
    delivery = sender.deliveries.get(sender.deliveries.list()[0].id)
    assert (delivery.status, delivery.attempts[0].status_code) == ("failed", 302)


async def disabled_by_gone(sender: Sender, sink: Sink) -> str:
    """A webhook whose target answered its first request 410 Gone; its id."""
    hook_id = hook_for(sender, sink)
    sink.answer(web.Response(status=410))
    publish(sender)
    await sender.drain()
    return hook_id


async def test_gone_disables_the_webhook_and_kills_its_deliveries(
    sender: Sender, sink: Sink
) -> None:
    hook_id = await disabled_by_gone(sender, sink)
    hook = sender.webhooks.get(hook_id)
    assert not hook.active
    assert hook.disabled_reason is not None
    assert "410" in hook.disabled_reason
    assert sender.deliveries.counts() == {"pending": 0, "succeeded": 0, "failed": 0, "dead": 1}


async def test_retiring_a_disabled_webhook_leaves_no_reason_and_activating_clears_it(
    sender: Sender, sink: Sink
) -> None:
    hook_id = await disabled_by_gone(sender, sink)
    assert sender.webhooks.get(hook_id).disabled_reason is not None
    retired = sender.webhooks.retire(hook_id)
    assert (retired.active, retired.disabled_reason) == (False, None)
    sender.webhooks.activate(hook_id)
    sink.answer(web.Response(status=410))
    publish(sender)
    await sender.drain()
    assert sender.webhooks.get(hook_id).disabled_reason is not None
    activated = sender.webhooks.activate(hook_id)
    assert (activated.active, activated.disabled_reason, activated.failing_since) == (
        True,
        None,
        None,
    )


async def test_disabled_webhook_gets_no_new_deliveries(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=410))
    publish(sender)
    await sender.drain()
    publish(sender)
    await sender.drain()
    assert len(sink.received) == 1
    assert len(sender.deliveries.list()) == 1


async def test_retry_after_on_429_is_honoured(sender: Sender, sink: Sink, clock: FakeClock) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=429, headers={"retry-after": "30"}))
    publish(sender)
    await sender.drain()
    clock.advance(29)
    await sender.drain()
    assert len(sink.received) == 1
    clock.advance(1)
    await sender.drain()
    assert len(sink.received) == 2


async def test_event_older_than_max_age_dies_on_failure(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    sender.webhooks.retire(hook_id)
    sender.webhooks.activate(hook_id)
    publish(sender)
    sender.webhooks.retire(hook_id)
    clock.advance(3600)
    sender.webhooks.activate(hook_id)
    sink.answer(web.Response(status=500))
    await sender.drain()
    assert sender.deliveries.list()[0].status == "dead"
    assert sender.webhooks.get(hook_id).active


async def test_webhook_failing_for_the_whole_window_is_disabled(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    sink.answer(*[web.Response(status=500) for _ in range(100)])
    publish(sender)
    for _ in range(62):
        await sender.drain()
        clock.advance(60)
    hook = sender.webhooks.get(hook_id)
    assert not hook.active
    assert hook.disabled_reason is not None
    assert "whole retry window" in hook.disabled_reason


async def test_batch_events_wait_for_the_flush(
    make_sender: MakeSender, sink: Sink, clock: FakeClock
) -> None:
    sender = make_sender(batch_interval=60)
    hook_for(sender, sink)
    (progress,) = publish(sender, name="LEARNER_PROGRESS")
    (completed,) = publish(sender)
    await sender.drain()
    assert sink.event_ids == [completed]
    clock.advance(60)
    await sender.drain()
    assert sink.event_ids == [completed, progress]


async def test_flushed_batch_events_go_in_publish_order_with_later_real_time_ones(
    make_sender: MakeSender, sink: Sink, clock: FakeClock
) -> None:
    sender = make_sender(batch_interval=60)
    hook_for(sender, sink)
    first = publish(sender, 2, name="LEARNER_PROGRESS")
    clock.advance(60)
    (completed,) = publish(sender)
    await sender.drain()
    assert [r.event_ids for r in sink.received] == [[*first, completed]]


async def test_rotation_sends_both_signatures_then_only_the_new_one(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    old = sender.webhooks.signature_file(hook_id).secret
    sender.webhooks.rotate_secret(hook_id, grace=timedelta(hours=1))
    new = sender.webhooks.signature_file(hook_id).secret
    publish(sender)
    await sender.drain()
    during = sink.received[0]
    assert len(during.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        Receiver(secret=secret).verify(during.body, during.headers, now=clock().timestamp())
    clock.advance(3601)
    publish(sender)
    await sender.drain()
    after = sink.received[1]
    assert len(after.headers["webhook-signature"].split()) == 1
    Receiver(secret=new).verify(after.body, after.headers, now=clock().timestamp())
    with pytest.raises(SignatureMismatchError):
        Receiver(secret=old).verify(after.body, after.headers, now=clock().timestamp())


async def test_redeliver_sends_a_succeeded_delivery_again(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    (event_id,) = publish(sender)
    await sender.drain()
    delivery = sender.deliveries.list()[0]
    assert sender.deliveries.redeliver(delivery.id).status == "pending"
    await sender.drain()
    assert sink.event_ids == [event_id, event_id]
    assert len(sender.deliveries.get(delivery.id).attempts) == 2


async def test_redeliver_of_a_failed_delivery_retries_it_now(sender: Sender, sink: Sink) -> None:
    hook_for(sender, sink)
    sink.answer(web.Response(status=500))
    publish(sender)
    await sender.drain()
    sender.deliveries.redeliver(sender.deliveries.list()[0].id)
    await sender.drain()
    assert sender.deliveries.list()[0].status == "succeeded"


async def test_recover_resends_dead_deliveries_since_a_time(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    sink.answer(web.Response(status=410))
    start = clock()
    event_ids = publish(sender, 2)
    await sender.drain()
    sender.webhooks.activate(hook_id)
    assert sender.deliveries.recover(hook_id, since=start) == 2
    await sender.drain()
    assert sink.event_ids == [*event_ids, *event_ids]
    assert sender.deliveries.counts()["succeeded"] == 2


async def test_purge_drops_what_is_older_than_the_retention(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_for(sender, sink)
    publish(sender, 2)
    await sender.drain()
    clock.advance(timedelta(days=7, seconds=1).total_seconds())
    (recent,) = publish(sender)
    counts = sender.purge()
    assert counts == {"expired": 0, "events": 2, "deliveries": 2, "requests": 1, "attempts": 1}
    assert [e.id for e in sender.events.list()] == [recent]


async def test_webhook_test_sends_a_signed_test_event(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    attempt = await sender.webhooks.test(hook_id)
    assert attempt.succeeded
    request = sink.received[0]
    receiver = Receiver(signature_file=sender.webhooks.signature_file(hook_id))
    envelope = receiver.verify(request.body, request.headers, now=clock().timestamp())
    assert envelope.events[0].event_name == "HOOKWIRE_TEST"
    assert request.headers["webhook-id"] == attempt.request_id


async def test_run_dispatcher_delivers_at_once_and_stops_cleanly(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(clock=None, poll_interval=30)
    hook_for(sender, sink)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_dispatcher(stop))
    await asyncio.sleep(0.05)
    (event_id,) = publish(sender)
    for _ in range(100):
        if sink.received:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sink.event_ids == [event_id]
    assert sender.deliveries.counts()["succeeded"] == 1


async def test_dispatch_logs_never_show_credentials(
    sender: Sender, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook_for(sender, sink, auth=BasicAuth("hooks", "pw-very-secret"))
    signed = hook_for(sender, sink)
    sink.answer(web.Response(status=500))
    publish(sender)
    await sender.drain()
    secret = sender.webhooks.signature_file(signed).secret
    assert "hookwire.sender" in {r.name for r in caplog.records}
    assert "pw-very-secret" not in caplog.text
    assert secret not in caplog.text


async def _until_received(sink: Sink, count: int) -> None:
    for _ in range(300):
        if len(sink.received) >= count:
            return
        await asyncio.sleep(0.01)


async def test_commit_of_a_caller_transaction_wakes_the_dispatcher(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(clock=None, poll_interval=30)
    hook_for(sender, sink)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_dispatcher(stop))
    await asyncio.sleep(0.05)
    with sender.engine.begin() as conn:
        event_ids = [
            sender.publish(
                "COURSE_COMPLETED", data=COMPLETED, account_id=1, connection=conn
            ).event_id
            for _ in range(3)
        ]
    await _until_received(sink, 1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert sink.event_ids == event_ids


async def test_cancelled_dispatcher_releases_its_lease_for_a_prompt_resend(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(clock=None)

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.Response(status=202)

    hook_for(sender, sink)
    sink.answer(slow)
    (event_id,) = publish(sender)
    task = asyncio.create_task(sender.run_dispatcher())
    await _until_received(sink, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await sender.drain()
    assert sink.event_ids == [event_id, event_id]
    assert sender.deliveries.counts()["succeeded"] == 1


async def test_cookies_a_target_sets_are_never_sent_back(
    make_sender: MakeSender, sink: Sink
) -> None:
    sender = make_sender(clock=None)
    # By name: aiohttp's default cookie jar already ignores cookies from IP addresses.
    sender.webhooks.create(
        name="by name",
        target_url=sink.url.replace("127.0.0.1", "localhost"),
        events=["COURSE_COMPLETED"],
        account_id=1,
    )
    sink.answer(web.Response(status=202, headers={"Set-Cookie": "session=abc; Path=/"}))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run_dispatcher(stop))
    publish(sender)
    await _until_received(sink, 1)
    publish(sender)
    await _until_received(sink, 2)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(sink.received) == 2
    assert "cookie" not in sink.received[1].headers


async def test_dispatcher_cancelled_mid_claim_releases_the_leases_that_claim_took(
    make_sender: MakeSender, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = make_sender(clock=None)
    store = sender._store
    claim = store.claim
    claiming = threading.Event()

    def slow_claim(**kwargs: Any) -> Any:
        claiming.set()
        time.sleep(0.3)
        return claim(**kwargs)

    hook_for(sender, sink)
    (event_id,) = publish(sender)
    monkeypatch.setattr(store, "claim", slow_claim)
    task = asyncio.create_task(sender.run_dispatcher())
    await asyncio.to_thread(claiming.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.setattr(store, "claim", claim)
    # The lease is 60 s: only a released lease lets this drain send at once.
    await asyncio.wait_for(sender.drain(), 5)
    assert sink.event_ids == [event_id]


async def test_attempt_is_cut_when_a_slow_claim_leaves_too_little_lease(
    make_sender: MakeSender, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session's timeouts (0.2 + 2 * 0.5 s) fit the 1.3 s lease only if sending starts
    # at once; a claim that takes 0.9 s must not let the request run past the lease.
    sender = make_sender(connect_timeout=0.2, read_timeout=0.5, lease_seconds=1.3)
    store = sender._store
    claim = store.claim
    calls = 0

    def slow_first_claim(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            time.sleep(0.9)
        return claim(**kwargs)

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=202)
        await response.prepare(request)
        for _ in range(10):
            await response.write(b".")
            await asyncio.sleep(0.3)
        return response

    monkeypatch.setattr(store, "claim", slow_first_claim)
    hook_for(sender, sink)
    sink.answer(trickle)
    publish(sender)
    await sender.drain()
    attempt = sender.deliveries.get(sender.deliveries.list()[0].id).attempts[0]
    assert attempt.error == "timeout: no response before the lease ran out"
    assert attempt.latency_ms < 600
