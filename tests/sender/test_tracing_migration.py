"""Schema version 4 (the events' ``trace_context``): a version 3 database migrates in place."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sender_support import COMPLETED, Sink, hook_for
from sqlalchemy import inspect, text

from hookwire.sender import Sender

MakeSender = Callable[..., Sender]


def make_version_3(sender: Sender) -> None:
    """Turn the sender's database into what hookwire with schema version 3 left."""
    with sender.engine.begin() as conn:
        conn.execute(text("ALTER TABLE hookwire_events DROP COLUMN trace_context"))
        conn.execute(text("UPDATE hookwire_meta SET value = '3' WHERE key = 'schema_version'"))


def recorded_version(sender: Sender) -> str:
    with sender.engine.connect() as conn:
        query = text("SELECT value FROM hookwire_meta WHERE key = 'schema_version'")
        return str(conn.execute(query).scalar())


def event_columns(sender: Sender) -> set[str]:
    return {column["name"] for column in inspect(sender.engine).get_columns("hookwire_events")}


async def test_a_version_3_database_gains_the_trace_context_column_and_keeps_its_events(
    make_sender: MakeSender, store_url: str, sink: Sink
) -> None:
    old = make_sender(store_url, tracing=False)
    hook_for(old, sink)
    queued = old.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    make_version_3(old)
    old.close()
    assert "trace_context" not in event_columns(old)

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reopened = make_sender(store_url, tracing=provider)
    assert recorded_version(reopened) == "4"
    assert "trace_context" in event_columns(reopened)
    assert reopened.events.get(queued).name == "COURSE_COMPLETED"
    traced = reopened.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
    await reopened.drain()
    assert sink.event_ids == [queued, traced]
    # The event stored before the migration has no context: its attempt starts the trace.
    (attempt,) = [span for span in exporter.get_finished_spans() if span.name == "POST"]
    assert attempt.parent is None
    assert [link.context.span_id for link in attempt.links] == [
        span.context.span_id  # type: ignore[union-attr]
        for span in exporter.get_finished_spans()
        if span.name == "hookwire.publish"
    ]
    provider.shutdown()


def test_opening_a_migrated_database_again_changes_nothing(
    make_sender: MakeSender, store_url: str
) -> None:
    first = make_sender(store_url, tracing=False)
    make_version_3(first)
    first.close()
    make_sender(store_url, tracing=False).close()
    again = make_sender(store_url, tracing=False)
    assert recorded_version(again) == "4"
    assert "trace_context" in event_columns(again)
