"""``ListeningCore(tracing=...)`` and ``WebhookListener(tracing=...)``: a provider of the
application's own, none, or a wrong setting."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import hookwire.tracing
from hookwire import Receiver, sign_headers
from hookwire.errors import ConfigurationError
from hookwire.flask import WebhookListener
from hookwire.listening import ListeningCore
from hookwire.testing import make_envelope, make_event

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT = f"00-{TRACE_ID:032x}-00f067aa0ba902b7-01"


def _request() -> tuple[bytes, dict[str, str]]:
    body = json.dumps(make_envelope(make_event("COURSE_COMPLETED"))).encode()
    headers = {**sign_headers(SECRET, body), "content-type": "application/json"}
    return body, {**headers, "traceparent": PARENT}


def test_a_listener_given_a_provider_traces_through_it() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    core = ListeningCore(Receiver(secret=SECRET), logger=None, tracing=provider)
    body, headers = _request()

    assert core.handle("POST", headers, body).status == 202

    (span,) = exporter.get_finished_spans()
    assert span.name == "hookwire.listener"
    assert span.kind is SpanKind.SERVER
    assert span.context is not None
    assert span.context.trace_id == TRACE_ID
    assert span.parent is not None
    assert span.parent.span_id == 0x00F067AA0BA902B7
    assert span.attributes is not None
    assert span.attributes["hookwire.accepted"] == 1


@pytest.mark.parametrize("setting", ["yes", 1, None])
def test_a_wrong_tracing_setting_is_a_configuration_error(setting: Any) -> None:
    message = "tracing must be True, False or an opentelemetry.trace.TracerProvider"
    with pytest.raises(ConfigurationError, match=message):
        ListeningCore(Receiver(secret=SECRET), tracing=setting)
    with pytest.raises(ConfigurationError, match=message):
        WebhookListener(receiver=Receiver(secret=SECRET), tracing=setting)


class _BrokenProvider(TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("exporter misconfigured")


def test_a_provider_whose_tracer_raises_answers_requests_untraced(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kind of tracer failure is logged once per process: start as a fresh one would.
    monkeypatch.setattr(hookwire.tracing, "_warned", set())
    caplog.set_level(logging.WARNING, logger="hookwire.listening")
    core = ListeningCore(Receiver(secret=SECRET), tracing=_BrokenProvider())
    handled: list[bool] = []
    core.on_any(lambda event: handled.append(True))
    body, headers = _request()

    assert core.handle("POST", headers, body).status == 202
    assert handled == [True]
    assert "OpenTelemetry raised while getting the listener's tracer" in caplog.text


def test_the_flask_listener_passes_its_tracing_setting_to_its_core() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Flask("traced")
    WebhookListener(app, receiver=Receiver(secret=SECRET), tracing=provider)
    body, headers = _request()

    response = app.test_client().post("/webhooks", data=body, headers=headers)

    assert response.status_code == 202
    assert [span.name for span in exporter.get_finished_spans()] == ["hookwire.listener"]
