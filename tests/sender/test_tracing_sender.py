"""The sender's traces: publish spans, attempt spans, the stored context and the header.

Every sender here gets its own SDK tracer provider (``tracing=provider``) with an
in-memory exporter, so nothing depends on the process's global provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    NoOpTracerProvider,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    TraceState,
    use_span,
)
from sender_support import COMPLETED, PROGRESS, FakeClock, Sink, hook_for
from sqlalchemy import text

from hookwire.errors import ConfigurationError, PayloadError
from hookwire.sender import BasicAuth, Publication, Sender

MakeSender = Callable[..., Sender]
SIGNATURE = "webhook-signature"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    found = InMemorySpanExporter()
    yield found
    found.shutdown()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    made = TracerProvider()
    made.add_span_processor(SimpleSpanProcessor(exporter))
    yield made
    made.shutdown()


@pytest.fixture
def traced(make_sender: MakeSender, provider: TracerProvider) -> Sender:
    return make_sender(tracing=provider)


@pytest.fixture
def traced_on_each_store(
    make_sender: MakeSender, provider: TracerProvider, store_url: str
) -> Sender:
    """A traced sender on a SQLite file, then on PostgreSQL."""
    return make_sender(store_url, tracing=provider)


def spans_named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def stored_contexts(sender: Sender) -> dict[str, str | None]:
    with sender.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, trace_context FROM hookwire_events")).all()
    return dict(rows)


def traceparent_of(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def publish(sender: Sender, name: str = "COURSE_COMPLETED") -> str:
    data = COMPLETED if name == "COURSE_COMPLETED" else PROGRESS
    return sender.publish(name, data=data, account_id=1).event_id


# --- publish spans and the stored context ------------------------------------------------


def test_publish_makes_one_producer_span_with_its_event(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    hook_for(traced, sink)
    event_id = publish(traced)
    (span,) = exporter.get_finished_spans()
    assert span.name == "hookwire.publish"
    assert span.kind is SpanKind.PRODUCER
    assert dict(span.attributes or {}) == {
        "hookwire.events": 1,
        "hookwire.event.name": "COURSE_COMPLETED",
        "hookwire.account.id": 1,
        "hookwire.deliveries": 1,
    }
    assert json.loads(stored_contexts(traced)[event_id] or "") == {
        "traceparent": traceparent_of(span)
    }


def test_publish_many_makes_one_span_and_every_event_stores_its_context(
    traced_on_each_store: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    traced = traced_on_each_store
    hook_for(traced, sink)
    published = traced.publish_many(
        [
            Publication("COURSE_COMPLETED", COMPLETED, account_id=1),
            Publication("LEARNER_PROGRESS", PROGRESS, account_id=2),
            Publication("COURSE_COMPLETED", COMPLETED, account_id=1),
        ]
    )
    (span,) = exporter.get_finished_spans()
    assert span.name == "hookwire.publish_many"
    attributes = dict(span.attributes or {})
    assert attributes["hookwire.events"] == 3
    assert attributes["hookwire.event.names"] == ("COURSE_COMPLETED", "LEARNER_PROGRESS")
    assert attributes["hookwire.account.ids"] == (1, 2)
    assert attributes["hookwire.deliveries"] == 2
    contexts = stored_contexts(traced)
    expected = json.dumps({"traceparent": traceparent_of(span)}, separators=(",", ":"))
    assert [contexts[p.event_id] for p in published] == [expected] * 3


def test_a_refused_publish_marks_its_span_failed_without_the_data(
    traced: Sender, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(PayloadError):
        traced.publish("COURSE_COMPLETED", data={"userId": "private-value-123"}, account_id=1)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "PayloadError"
    assert "private-value-123" not in repr(span.to_json())


def test_the_callers_span_is_the_publish_spans_parent(
    traced: Sender, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with provider.get_tracer("app").start_as_current_span("checkout") as outer:
        publish(traced)
    (publish_span,) = spans_named(exporter, "hookwire.publish")
    assert publish_span.parent is not None
    assert publish_span.parent.span_id == outer.get_span_context().span_id


# --- attempt spans and the traceparent header --------------------------------------------


async def test_attempt_is_a_client_span_whose_parent_is_the_publish_span(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    hook_id = hook_for(traced, sink)
    publish(traced)
    await traced.drain()
    (published,) = spans_named(exporter, "hookwire.publish")
    (attempt,) = spans_named(exporter, "POST")
    assert attempt.kind is SpanKind.CLIENT
    assert attempt.context is not None
    assert published.context is not None
    assert attempt.context.trace_id == published.context.trace_id
    assert attempt.parent is not None
    assert attempt.parent.span_id == published.context.span_id
    request = sink.received[0]
    attributes = dict(attempt.attributes or {})
    port = int(sink.url.split(":")[2].split("/")[0])
    assert attributes == {
        "http.request.method": "POST",
        "url.full": sink.url,
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 202,
        "hookwire.webhook.id": hook_id,
        "hookwire.request.id": request.headers["webhook-id"],
        "hookwire.events": 1,
    }
    assert attempt.status.status_code is StatusCode.UNSET


async def test_the_request_carries_the_attempt_spans_traceparent(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    hook_for(traced, sink)
    publish(traced)
    await traced.drain()
    (attempt,) = spans_named(exporter, "POST")
    assert sink.received[0].headers["traceparent"] == traceparent_of(attempt)
    assert "tracestate" not in sink.received[0].headers


async def test_the_callers_tracestate_travels_with_the_event_to_the_request(
    traced: Sender, sink: Sink
) -> None:
    hook_for(traced, sink)
    incoming = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "abc")]),
    )
    with use_span(NonRecordingSpan(incoming)):
        event_id = publish(traced)
    await traced.drain()
    assert json.loads(stored_contexts(traced)[event_id] or "")["tracestate"] == "vendor=abc"
    headers = sink.received[0].headers
    assert headers["tracestate"] == "vendor=abc"
    assert headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")


async def test_a_batch_attempt_links_to_the_other_events_traces(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    hook_for(traced, sink)
    first, second, third = (publish(traced) for _ in range(3))
    await traced.drain()
    assert sink.received[0].event_ids == [first, second, third]
    publishes = spans_named(exporter, "hookwire.publish")
    (attempt,) = spans_named(exporter, "POST")
    assert attempt.parent is not None
    assert attempt.parent.span_id == publishes[0].context.span_id  # type: ignore[union-attr]
    linked = [(link.context.trace_id, link.context.span_id) for link in attempt.links]
    assert (
        linked
        == [
            (span.context.trace_id, span.context.span_id)  # type: ignore[union-attr]
            for span in publishes[1:]
        ]
    )
    assert (attempt.attributes or {})["hookwire.events"] == 3


async def test_events_of_one_publish_many_give_their_attempt_no_links(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    hook_for(traced, sink)
    traced.publish_many([Publication("COURSE_COMPLETED", COMPLETED, account_id=1)] * 2)
    await traced.drain()
    (attempt,) = spans_named(exporter, "POST")
    assert attempt.links == ()


async def test_a_retry_keeps_the_parent_and_counts_the_resend(
    traced_on_each_store: Sender, sink: Sink, clock: FakeClock, exporter: InMemorySpanExporter
) -> None:
    traced = traced_on_each_store
    hook_for(traced, sink)
    sink.answer(web.Response(status=500))
    publish(traced)
    await traced.drain()
    clock.advance(6)
    await traced.drain()
    (published,) = spans_named(exporter, "hookwire.publish")
    failed, retried = spans_named(exporter, "POST")
    assert (failed.attributes or {})["error.type"] == "500"
    assert failed.status.status_code is StatusCode.ERROR
    assert retried.parent is not None
    assert retried.parent.span_id == published.context.span_id  # type: ignore[union-attr]
    assert (retried.attributes or {})["http.request.resend_count"] == 1
    assert [r.headers["traceparent"] for r in sink.received] == [
        traceparent_of(failed),
        traceparent_of(retried),
    ]


async def test_an_attempt_that_gets_no_answer_names_the_error_type(
    make_sender: MakeSender, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    sender = make_sender(tracing=provider)
    sender.webhooks.create(
        name="nobody listens",
        target_url="http://127.0.0.1:9/hook",
        events=["COURSE_COMPLETED"],
        account_id=1,
    )
    publish(sender)
    await sender.drain()
    (attempt,) = spans_named(exporter, "POST")
    assert (attempt.attributes or {})["error.type"] == "connection_failed"
    assert attempt.status.status_code is StatusCode.ERROR
    assert "http.response.status_code" not in (attempt.attributes or {})


@pytest.mark.parametrize(
    "stored",
    ["not json {", "[1, 2]", '{"traceparent": 5}', '{"traceparent": "00-zz-zz-01"}'],
)
async def test_an_unreadable_stored_context_starts_a_new_trace(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter, stored: str
) -> None:
    hook_for(traced, sink)
    publish(traced)
    with traced.engine.begin() as conn:
        conn.execute(text("UPDATE hookwire_events SET trace_context = :c"), {"c": stored})
    await traced.drain()
    (attempt,) = spans_named(exporter, "POST")
    assert attempt.parent is None
    assert sink.received[0].headers["traceparent"] == traceparent_of(attempt)


async def test_no_secret_reaches_a_span(
    traced: Sender, sink: Sink, exporter: InMemorySpanExporter
) -> None:
    token_url = f"{sink.url}?token=query-token-789"
    hook_for(traced, sink, auth=BasicAuth("hooks", "basic-password-456"))
    traced.webhooks.create(
        name="open", target_url=token_url, events=["COURSE_COMPLETED"], account_id=1
    )
    signed = traced.webhooks.create(
        name="signed too",
        target_url=token_url,
        events=["COURSE_COMPLETED"],
        account_id=1,
        auth="signature",
    )
    publish(traced)
    await traced.drain()
    secret = traced.webhooks.signature_file(signed.id).secret
    assert len(sink.received) == 3
    seen = "\n".join(span.to_json() for span in exporter.get_finished_spans())
    leaks = ["basic-password-456", "query-token-789", secret, secret.removeprefix("whsec_")]
    leaks += [r.headers["authorization"] for r in sink.received if "authorization" in r.headers]
    leaks += [r.headers[SIGNATURE] for r in sink.received if SIGNATURE in r.headers]
    assert len(leaks) == 6
    assert [leak for leak in leaks if leak in seen] == []
    urls = {(span.attributes or {}).get("url.full") for span in spans_named(exporter, "POST")}
    assert urls == {sink.url}


# --- off, or no SDK ---------------------------------------------------------------------


@pytest.mark.parametrize("setting", [False, NoOpTracerProvider()], ids=["off", "no-sdk"])
async def test_untraced_sender_stores_no_context_and_sends_no_header(
    make_sender: MakeSender, sink: Sink, setting: Any
) -> None:
    sender = make_sender(tracing=setting)
    hook_for(sender, sink)
    event_id = publish(sender)
    sender.publish_many([Publication("COURSE_COMPLETED", COMPLETED, account_id=1)])
    await sender.drain()
    assert stored_contexts(sender)[event_id] is None
    assert set(stored_contexts(sender).values()) == {None}
    assert [h for r in sink.received for h in r.headers if h.lower().startswith("trace")] == []


def test_tracing_setting_of_another_type_is_refused(make_sender: MakeSender) -> None:
    with pytest.raises(ConfigurationError, match="tracing must be"):
        make_sender(tracing="yes")
