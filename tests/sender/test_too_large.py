"""The size policy: publish refuses an oversized event, and a 413 answer never blocks a queue.

A 413 to a request of several events splits it (its first half goes at once as a
request of its own, the rest waits behind it); a 413 to one event kills that
delivery with the reason, and the webhook's queue moves on in order. On both stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aiohttp import web
from sender_support import COMPLETED, Sink, hook_for

from hookwire.errors import PayloadError
from hookwire.sender import Sender
from hookwire.sender.outbox import DEFAULT_MAX_EVENT_BYTES
from hookwire.sender.verdict import TOO_LARGE_ERROR


@pytest.fixture
def both_sender(make_sender: Callable[..., Sender], store_url: str) -> Sender:
    return make_sender(store_url)


def _publish(sender: Sender, count: int, *, note: str = "") -> list[str]:
    data = {**COMPLETED, "note": note} if note else COMPLETED
    return [
        sender.publish("COURSE_COMPLETED", data=data, account_id=1).event_id for _ in range(count)
    ]


def _refuse_batches_over(limit: int) -> Callable[[web.Request], object]:
    async def reply(request: web.Request) -> web.Response:
        events = json.loads(await request.read())["events"]
        return web.Response(status=413 if len(events) > limit else 202)

    return reply


def test_publish_refuses_an_event_over_max_event_bytes(make_sender: Callable[..., Sender]) -> None:
    sender = make_sender(max_event_bytes=1000)
    with pytest.raises(PayloadError, match=r"over the sender's max_event_bytes \(1000\)") as error:
        sender.publish("COURSE_COMPLETED", data={**COMPLETED, "note": "x" * 1000}, account_id=1)
    assert error.value.location == "data"
    assert sender.events.list() == []


def test_publish_many_refuses_the_batch_with_an_oversized_event(
    make_sender: Callable[..., Sender],
) -> None:
    sender = make_sender(max_event_bytes=1000)
    big = {"event_name": "COURSE_COMPLETED", "data": {**COMPLETED, "n": "x" * 999}}
    small = {"event_name": "COURSE_COMPLETED", "data": COMPLETED}
    with pytest.raises(PayloadError, match=r"^events\.1: ") as error:
        sender.publish_many([{**small, "account_id": 1}, {**big, "account_id": 1}])
    assert error.value.location == "events.1.data"
    assert sender.events.list() == []


def test_the_default_event_limit_is_256_kib_and_an_event_at_it_is_taken(
    make_sender: Callable[..., Sender],
) -> None:
    assert DEFAULT_MAX_EVENT_BYTES == 256 * 1024
    sender = make_sender()
    with pytest.raises(PayloadError, match=r"is (\d+) bytes") as refused:
        sender.publish("COURSE_COMPLETED", data={**COMPLETED, "note": "x" * 300_000}, account_id=1)
    size = int(str(refused.value).split(" is ")[1].split(" bytes")[0])
    note = "x" * (300_000 - (size - DEFAULT_MAX_EVENT_BYTES))
    sender.publish("COURSE_COMPLETED", data={**COMPLETED, "note": note}, account_id=1)
    with pytest.raises(PayloadError):
        sender.publish("COURSE_COMPLETED", data={**COMPLETED, "note": note + "x"}, account_id=1)


async def test_a_413_to_a_batch_splits_it_until_the_target_takes_it_in_order(
    both_sender: Sender, sink: Sink
) -> None:
    hook_id = hook_for(both_sender, sink)
    published = _publish(both_sender, 5)
    sink.answer(*[_refuse_batches_over(1)] * 20)  # type: ignore[list-item]
    await both_sender.drain()
    accepted = [r.event_ids for r in sink.received if len(r.event_ids) == 1]
    assert [ids[0] for ids in accepted] == published  # every event once, in publish order
    deliveries = both_sender.deliveries.list(webhook_id=hook_id)
    assert {d.status for d in deliveries} == {"succeeded"}
    # the refused request of five stays in the history of each delivery it carried
    for delivery in deliveries:
        codes = [a.status_code for a in both_sender.deliveries.get(delivery.id).attempts]
        assert codes[0] == 413
        assert codes[-1] == 202


async def test_a_413_to_a_single_event_kills_it_with_the_reason_and_the_queue_moves_on(
    both_sender: Sender, sink: Sink
) -> None:
    hook_id = hook_for(both_sender, sink, name="one at a time")
    (big,) = _publish(both_sender, 1, note="big")
    sink.answer(web.Response(status=413, text="too big for us"))
    await both_sender.drain()
    after = _publish(both_sender, 2)
    await both_sender.drain()
    assert [ids for r in sink.received for ids in r.event_ids] == [big, *after]
    by_event = {d.event_id: d for d in both_sender.deliveries.list(webhook_id=hook_id)}
    dead = both_sender.deliveries.get(by_event[big].id)
    assert dead.status == "dead"
    (attempt,) = dead.attempts
    assert attempt.status_code == 413
    assert attempt.error == TOO_LARGE_ERROR
    assert attempt.response_body == "too big for us"
    assert {by_event[e].status for e in after} == {"succeeded"}


async def test_a_413_for_one_event_of_a_batch_kills_only_that_event(
    both_sender: Sender, sink: Sink
) -> None:
    hook_id = hook_for(both_sender, sink)
    published = _publish(both_sender, 2)
    (big,) = _publish(both_sender, 1, note="big")
    published += _publish(both_sender, 2)

    async def reply(request: web.Request) -> web.Response:
        events = json.loads(await request.read())["events"]
        return web.Response(status=413 if any("note" in e["data"] for e in events) else 202)

    sink.answer(*[reply] * 20)  # type: ignore[list-item]
    await both_sender.drain()
    statuses = {d.event_id: d.status for d in both_sender.deliveries.list(webhook_id=hook_id)}
    assert statuses == {**dict.fromkeys(published, "succeeded"), big: "dead"}
    accepted = [r for r in sink.received if big not in r.event_ids]
    assert [event for r in accepted for event in r.event_ids] == published
