"""A tracer that raises never stops a publish, a delivery or a listener's answer.

The sender's failing provider is passed explicitly (``tracing=provider``). The
listener follows the process's global provider, which can be set only once: this
module joins it (or sets one) with a span processor that raises only while one of
its tests asks it to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from sender_support import COMPLETED, Sink, hook_for
from served_app import Served
from sqlalchemy import text

import hookwire.tracing
from hookwire import Event, Receiver
from hookwire.errors import PayloadError
from hookwire.flask import WebhookListener
from hookwire.sender import BasicAuth, Publication, Sender
from hookwire.tracing import answered

MakeSender = Callable[..., Sender]
USER, PASSWORD = "hooks", "listener-password-654"
SENDER_LOG, LISTENER_LOG = "hookwire.sender", "hookwire.listening"


class Breaking(SpanProcessor):
    """Raises in ``on_start`` or ``on_end``, whichever ``where`` names (None: neither)."""

    def __init__(self, where: str | None = None) -> None:
        self.where = where

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.where == "on_start":
            raise RuntimeError("the span processor broke in on_start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.where == "on_end":
            raise RuntimeError("the span processor broke in on_end")


_GLOBAL_BREAKING = Breaking()
"""Joins the global provider; raises only while a test of this module sets ``where``."""

STARTING = ("starting a publish span", "starting an attempt span", "starting the listener's span")
ENDING = ("ending a publish span", "ending an attempt span", "ending the listener's span")
KINDS = {"on_start": STARTING, "on_end": ENDING}


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: no kind of failure logged yet."""
    monkeypatch.setattr(hookwire.tracing, "_warned", set())


@pytest.fixture(params=["on_start", "on_end"])
def where(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def breaking_provider(where: str) -> Iterator[TracerProvider]:
    made = TracerProvider()
    made.add_span_processor(Breaking(where))
    yield made
    made.shutdown()


@pytest.fixture(scope="module")
def global_provider() -> None:
    found = trace.get_tracer_provider()
    if isinstance(found, TracerProvider):
        found.add_span_processor(_GLOBAL_BREAKING)
    else:
        provider = TracerProvider()
        provider.add_span_processor(_GLOBAL_BREAKING)
        trace.set_tracer_provider(provider)


@pytest.fixture
def breaking_globally(global_provider: None, where: str) -> Iterator[str]:
    _GLOBAL_BREAKING.where = where
    yield where
    _GLOBAL_BREAKING.where = None


def tracer_warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """The warnings (and worse) ``logger`` logged, each cut at its first ``;``."""
    return [
        record.getMessage().partition(";")[0]
        for record in caplog.records
        if record.name == logger and record.levelno >= logging.WARNING
    ]


def raised_while(*kinds: str) -> list[str]:
    return [f"OpenTelemetry raised while {kind}" for kind in kinds]


def stored_contexts(sender: Sender) -> dict[str, str | None]:
    with sender.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, trace_context FROM hookwire_events")).all()
    return dict(rows)


# --- the sender ---------------------------------------------------------------------------


async def test_publish_and_delivery_succeed_once_each_when_a_span_processor_raises(
    make_sender: MakeSender,
    sink: Sink,
    breaking_provider: TracerProvider,
    where: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=SENDER_LOG)
    sender = make_sender(tracing=breaking_provider)
    hook_for(sender, sink, name="first")
    hook_for(sender, sink, name="second")
    event_ids = [sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id]
    event_ids += [
        published.event_id
        for published in sender.publish_many(
            [Publication("COURSE_COMPLETED", COMPLETED, account_id=1)] * 2
            + [Publication("COURSE_COMPLETED", COMPLETED, account_id=1, event_id="evt_own")]
        )
    ]

    contexts = stored_contexts(sender)
    assert sorted(contexts) == sorted(event_ids)
    # A span that never started leaves no context; one that only fails to end has one.
    assert {context is None for context in contexts.values()} == {where == "on_start"}

    await sender.drain()
    deliveries = sender.deliveries.list()
    assert len(deliveries) == 2 * len(event_ids)
    assert {delivery.status for delivery in deliveries} == {"succeeded"}
    assert sorted(sink.event_ids) == sorted(event_ids * 2)  # each sent once: no resend
    assert len(sink.received) >= 2
    assert {"traceparent" in request.headers for request in sink.received} == {where == "on_end"}
    publish_kind, attempt_kind, _ = KINDS[where]
    assert tracer_warnings(caplog, SENDER_LOG) == raised_while(publish_kind, attempt_kind)
    repeats = [r for r in caplog.records if r.name == SENDER_LOG and r.levelno == logging.DEBUG]
    assert any(publish_kind in r.getMessage() for r in repeats)
    assert any(attempt_kind in r.getMessage() for r in repeats)


def test_a_refused_publish_raises_its_own_error_when_its_span_cannot_end(
    make_sender: MakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    provider = TracerProvider()
    provider.add_span_processor(Breaking("on_end"))
    sender = make_sender(tracing=provider)
    with pytest.raises(PayloadError):
        sender.publish("COURSE_COMPLETED", data={"userId": "x"}, account_id=1)
    assert tracer_warnings(caplog, SENDER_LOG) == raised_while("ending a publish span")
    provider.shutdown()


async def test_publish_and_delivery_succeed_when_setting_span_attributes_raises(
    make_sender: MakeSender,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: Span, key: str, value: Any) -> None:
        raise RuntimeError("set_attribute broke")

    monkeypatch.setattr(Span, "set_attribute", broken)
    provider = TracerProvider()
    sender = make_sender(tracing=provider)
    hook_for(sender, sink)
    event_id = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await sender.drain()
    assert sink.event_ids == [event_id]
    assert sink.received[0].headers["traceparent"].startswith("00-")
    assert [delivery.status for delivery in sender.deliveries.list()] == ["succeeded"]
    assert tracer_warnings(caplog, SENDER_LOG) == raised_while(
        "noting on a publish span", "noting on an attempt span"
    )
    provider.shutdown()


# --- the listener -------------------------------------------------------------------------


@pytest.fixture
def handled() -> list[str]:
    return []


@pytest.fixture
def listener(handled: list[str]) -> Iterator[Served]:
    app = Flask("failing-tracer")
    hooks = WebhookListener(app, receiver=Receiver(basic_auth=(USER, PASSWORD)))

    @hooks.on("COURSE_COMPLETED")
    def record(event: Event) -> None:
        handled.append(event.event_id)

    served = Served(app)
    yield served
    served.stop()


async def test_a_flask_listener_answers_and_runs_its_handler_when_a_span_processor_raises(
    make_sender: MakeSender,
    breaking_provider: TracerProvider,
    breaking_globally: str,
    listener: Served,
    handled: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LISTENER_LOG)
    sender = make_sender(tracing=breaking_provider)
    sender.webhooks.create(
        name="listener",
        target_url=listener.url,
        events=["COURSE_COMPLETED"],
        account_id=1,
        auth=BasicAuth(USER, PASSWORD),
    )
    event_ids = []
    for _ in range(2):  # two requests: a failure of each kind is logged once
        event_ids.append(sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id)
        await sender.drain()

    assert handled == event_ids
    deliveries = sender.deliveries.list()
    assert {delivery.status for delivery in deliveries} == {"succeeded"}
    attempts = [sender.deliveries.get(delivery.id).attempts for delivery in deliveries]
    assert [[attempt.status_code for attempt in found] for found in attempts] == [[202], [202]]
    *_, listener_kind = KINDS[breaking_globally]
    assert tracer_warnings(caplog, LISTENER_LOG) == raised_while(listener_kind)


class _BrokenSpan(NonRecordingSpan):
    """A span that says it records and raises on every attribute."""

    def is_recording(self) -> bool:
        return True

    def set_attribute(self, key: str, value: Any) -> None:
        raise RuntimeError("set_attribute broke")


def test_noting_the_answer_on_a_broken_listener_span_logs_once_and_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    span = _BrokenSpan(SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(1)))
    answered(span, 202, accepted=1, duplicates=0)
    answered(span, 500, accepted=0, duplicates=0)
    assert tracer_warnings(caplog, LISTENER_LOG) == raised_while("noting on the listener's span")
