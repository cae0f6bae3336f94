"""One trace from ``publish`` through the attempt to the listener's handler.

The listener's spans go through the process's global tracer provider, which can
be set only once per process: this module sets an SDK provider (or joins the
one already set) and exports to memory only while its own tests run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sender_support import COMPLETED
from served_app import Served

from hookwire import Event, Receiver, sign_headers
from hookwire.flask import WebhookListener
from hookwire.listening import ListeningCore
from hookwire.sender import BasicAuth, Sender

MakeSender = Callable[..., Sender]
USER, PASSWORD = "hooks", "listener-password-321"


class _WhileTesting(SimpleSpanProcessor):
    """Exports only while this module's tests run (the provider outlives them)."""

    active = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.active:
            super().on_end(span)


_EXPORTER = InMemorySpanExporter()
_GATE = _WhileTesting(_EXPORTER)


@pytest.fixture(scope="module")
def global_provider() -> None:
    found = trace.get_tracer_provider()
    if isinstance(found, TracerProvider):
        found.add_span_processor(_GATE)
    else:
        provider = TracerProvider()
        provider.add_span_processor(_GATE)
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans(global_provider: None) -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    _GATE.active = True
    yield _EXPORTER
    _GATE.active = False
    _EXPORTER.clear()


@pytest.fixture
def handled() -> list[tuple[str, Any]]:
    """(event id, the span current in its handler) for every handled event."""
    return []


@pytest.fixture
def listener(handled: list[tuple[str, Any]]) -> Iterator[Served]:
    app = Flask("traced")
    hooks = WebhookListener(app, receiver=Receiver(basic_auth=(USER, PASSWORD)))

    @hooks.on("COURSE_COMPLETED")
    def record(event: Event) -> None:
        handled.append((event.event_id, trace.get_current_span()))

    served = Served(app)
    yield served
    served.stop()


def only(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    (found,) = [span for span in spans.get_finished_spans() if span.name == name]
    return found


def ids(span: ReadableSpan | Span) -> tuple[int, int]:
    context = span.get_span_context()
    assert context is not None
    return context.trace_id, context.span_id


async def test_publish_attempt_and_handler_are_one_trace(
    make_sender: MakeSender,
    listener: Served,
    handled: list[tuple[str, Any]],
    spans: InMemorySpanExporter,
) -> None:
    sender = make_sender()  # tracing=True: the global provider
    hook = sender.webhooks.create(
        name="traced",
        target_url=listener.url,
        events=["COURSE_COMPLETED"],
        account_id=1,
        auth=BasicAuth(USER, PASSWORD),
    )
    event_id = sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await sender.drain()

    published = only(spans, "hookwire.publish")
    attempt = only(spans, "POST")
    handling = only(spans, "hookwire.listener")
    trace_id = ids(published)[0]
    assert ids(attempt)[0] == ids(handling)[0] == trace_id
    assert attempt.parent is not None
    assert attempt.parent.span_id == ids(published)[1]
    assert handling.parent is not None
    assert handling.parent.span_id == ids(attempt)[1]
    assert handling.kind is SpanKind.SERVER
    assert [(found, ids(span)) for found, span in handled] == [(event_id, ids(handling))]
    attributes = dict(handling.attributes or {})
    assert attributes == {
        "http.request.method": "POST",
        "hookwire.account.id": 1,
        "hookwire.events": 1,
        "hookwire.event.names": ("COURSE_COMPLETED",),
        "hookwire.request.id": (attempt.attributes or {})["hookwire.request.id"],
        "http.response.status_code": 202,
        "hookwire.accepted": 1,
        "hookwire.duplicates": 0,
    }
    assert (attempt.attributes or {})["hookwire.webhook.id"] == hook.id
    assert PASSWORD not in "".join(span.to_json() for span in spans.get_finished_spans())


async def test_a_batch_is_handled_in_the_first_events_trace(
    make_sender: MakeSender,
    listener: Served,
    handled: list[tuple[str, Any]],
    spans: InMemorySpanExporter,
) -> None:
    sender = make_sender()
    sender.webhooks.create(
        name="traced",
        target_url=listener.url,
        events=["COURSE_COMPLETED"],
        account_id=1,
        auth=BasicAuth(USER, PASSWORD),
    )
    for _ in range(2):
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
    await sender.drain()

    first, second = [s for s in spans.get_finished_spans() if s.name == "hookwire.publish"]
    handling = only(spans, "hookwire.listener")
    assert ids(handling)[0] == ids(first)[0] != ids(second)[0]
    assert (handling.attributes or {})["hookwire.events"] == 2
    assert [link.context.span_id for link in only(spans, "POST").links] == [ids(second)[1]]
    assert len(handled) == 2


# --- the listening core alone ------------------------------------------------------------

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = (
    b'{"accountId":7,"events":[{"eventId":"e1","eventName":"COURSE_COMPLETED",'
    b'"timestamp":"2026-11-28T17:00:00.000Z","data":{"userId":1,"loId":"course:1",'
    b'"loInstanceId":"course:1_1","hasPassed":true}}]}'
)
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def signed(**extra: str) -> dict[str, str]:
    return {**sign_headers(SECRET, BODY), "content-type": "application/json", **extra}


def test_the_core_continues_the_requests_traceparent_and_tracestate(
    spans: InMemorySpanExporter,
) -> None:
    core = ListeningCore(Receiver(secret=SECRET), logger=None)
    answer = core.handle("POST", signed(Traceparent=PARENT, tracestate="vendor=abc"), BODY)
    assert answer.status == 202
    handling = only(spans, "hookwire.listener")
    assert handling.parent is not None
    assert (handling.parent.trace_id, handling.parent.span_id) == (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
    )
    assert handling.context is not None
    assert handling.context.trace_state.get("vendor") == "abc"


def test_a_request_without_traceparent_starts_a_trace(spans: InMemorySpanExporter) -> None:
    core = ListeningCore(Receiver(secret=SECRET), logger=None)
    core.handle("POST", signed(), BODY)
    handling = only(spans, "hookwire.listener")
    assert handling.parent is None
    assert handling.kind is SpanKind.SERVER


def test_inside_a_frameworks_span_the_core_opens_a_child_of_it(
    spans: InMemorySpanExporter,
) -> None:
    core = ListeningCore(Receiver(secret=SECRET), logger=None)
    with trace.get_tracer("framework").start_as_current_span("POST /webhooks") as outer:
        core.handle("POST", signed(traceparent=PARENT), BODY)
    handling = only(spans, "hookwire.listener")
    assert handling.kind is SpanKind.INTERNAL
    assert handling.parent is not None
    assert handling.parent.span_id == outer.get_span_context().span_id


def test_a_failing_handler_marks_the_span_failed(spans: InMemorySpanExporter) -> None:
    core = ListeningCore(Receiver(secret=SECRET), logger=None)

    @core.on("COURSE_COMPLETED")
    def broken(event: Event) -> None:
        raise RuntimeError("handler broke")

    assert core.handle("POST", signed(), BODY).status == 500
    handling = only(spans, "hookwire.listener")
    assert handling.status.status_code is StatusCode.ERROR
    assert (handling.attributes or {})["error.type"] == "500"


def test_a_refused_request_opens_no_span(spans: InMemorySpanExporter) -> None:
    core = ListeningCore(Receiver(secret=SECRET), logger=None)
    headers = signed(traceparent=PARENT)
    headers["webhook-signature"] = "v1,AAAA"
    assert core.handle("POST", headers, BODY).status == 401
    assert spans.get_finished_spans() == ()
