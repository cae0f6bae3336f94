"""Nothing a target answers can stop the dispatcher: every attempt ends recorded.

A ``Retry-After`` of ``²`` passes ``str.isdigit`` and fails ``float``; before
these fixes the ValueError escaped the attempt, the dispatcher exited, and a
restarted one resent the request at once and died again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiohttp import web
from sender_support import COMPLETED, FakeClock, Sink, hook_for

from hookwire.sender import Sender
from hookwire.sender import dispatcher as dispatcher_module
from hookwire.sender import http as sender_http
from hookwire.sender.retry import parse_retry_after

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "²",  # superscript two: isdigit() is True, float() fails
        "٣",  # Arabic-Indic three: float() reads it, but it is not HTTP
        "１２０",  # full-width digits
        "1" * 65,  # longer than any Retry-After
        "Sat, 28 Nov 2026 12:01:30 GMT\u00a0",  # a non-ASCII space
        "Sat, 28 Nov 2026 12:01:30 +9999",  # an offset out of range
        "",
    ],
)
def test_retry_after_that_is_not_ascii_http_is_ignored_not_raised(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_a_far_future_http_date_is_read_without_overflow() -> None:
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now=NOW) == pytest.approx(
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - NOW).total_seconds()
    )


async def test_a_non_ascii_digit_retry_after_is_a_recorded_retry_and_delivery_goes_on(
    sender: Sender, sink: Sink, clock: FakeClock
) -> None:
    hook_id = hook_for(sender, sink)
    sink.answer(web.Response(status=503, headers={"Retry-After": "²"}))
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()  # returned, not raised: the dispatcher survived the answer
    (delivery,) = sender.deliveries.list(webhook_id=hook_id)
    assert delivery.status == "failed"
    (attempt,) = sender.deliveries.get(delivery.id).attempts
    assert attempt.status_code == 503
    clock.advance(5)  # the schedule's first delay, since the header was unreadable
    await sender.drain()
    assert sender.deliveries.get(delivery.id).status == "succeeded"
    assert len(sink.received) == 2


async def test_an_exception_while_sending_becomes_a_recorded_failed_attempt(
    sender: Sender, sink: Sink, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_id = hook_for(sender, sink)
    real_send = sender_http.send
    calls = 0

    async def send_failing_once(*args: object, **kwargs: object) -> sender_http.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("a parser refused the answer")
        return await real_send(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sender_http, "send", send_failing_once)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()
    (delivery,) = sender.deliveries.list(webhook_id=hook_id)
    (attempt,) = sender.deliveries.get(delivery.id).attempts
    assert attempt.status_code is None
    assert attempt.error == "unexpected error: a parser refused the answer"
    clock.advance(5)
    await sender.drain()
    assert sender.deliveries.get(delivery.id).status == "succeeded"


async def test_an_exception_while_judging_an_answer_becomes_a_recorded_failed_attempt(
    sender: Sender, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_id = hook_for(sender, sink)

    def judge_failing(*args: object, **kwargs: object) -> None:
        raise ArithmeticError("judging failed")

    monkeypatch.setattr(dispatcher_module.Dispatcher, "judge", judge_failing)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()
    (delivery,) = sender.deliveries.list(webhook_id=hook_id)
    assert delivery.status == "failed"
    (attempt,) = sender.deliveries.get(delivery.id).attempts
    assert attempt.error == "unexpected error: judging failed"
    assert len(sink.received) == 1


async def test_http_send_turns_any_exception_into_an_error_response(
    make_sender: Callable[..., Sender], sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = make_sender()
    hook_for(sender, sink)

    def build_failing(*args: object, **kwargs: object) -> dict[str, str]:
        raise LookupError("no such codec")

    monkeypatch.setattr(sender_http, "build_headers", build_failing)
    sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()
    (delivery,) = sender.deliveries.list()
    (attempt,) = sender.deliveries.get(delivery.id).attempts
    assert attempt.error == "LookupError: no such codec"
    assert sink.received == []
