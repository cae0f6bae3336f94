"""OpenTelemetry traces: the W3C trace context a request carries, and the listener's span.

hookwire traces through ``opentelemetry-api`` alone (the ``otel`` extra) and
configures no SDK: the application does, and decides where spans go. Without
the package nothing here loads and nothing is traced; with it, nothing is
traced through the global tracer provider until the application sets one
(:meth:`Otel.provider_set`), so no context is stored or sent before that.

The context travels as W3C Trace Context (``traceparent``, and ``tracestate``
when present) whatever propagators the application configures: the sender
stores it with an event and sends it from another process, and the listener on
the other side may belong to someone else.

Listener side::

    span = handling_span(headers.get, envelope)   # None: nothing to trace with
    with span:   # a SERVER span, child of the sender's attempt
        ...      # run the handlers

OpenTelemetry loads on first use, not when hookwire is imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Tracer, TracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from .events import Envelope

__all__ = [
    "LISTENER_SPAN",
    "TRACEPARENT",
    "TRACESTATE",
    "Otel",
    "answered",
    "context_of",
    "handling_span",
    "otel",
    "stored_context",
    "trace_headers",
]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_HEADERS = (TRACEPARENT, TRACESTATE)
LISTENER_SPAN = "hookwire.listener"
"""The name of the span the listening core runs an envelope's handlers in."""


@dataclass(slots=True, eq=False)
class Otel:
    """The loaded OpenTelemetry API: its ``trace`` module and a W3C propagator."""

    trace: ModuleType
    propagator: TraceContextTextMapPropagator
    _provider_set: bool = field(default=False, init=False)

    def tracer(self, name: str, provider: TracerProvider | None = None) -> Tracer:
        """The tracer ``name`` of ``provider`` (None: the global provider, set now or later)."""
        tracer: Tracer = self.trace.get_tracer(name, __version__, tracer_provider=provider)
        return tracer

    def provider_set(self) -> bool:
        """Whether the application has set a global tracer provider (an SDK's).

        Until it does, hookwire makes no spans for the global provider (they would
        be the API's no-ops): a check per publish, attempt or request costs less
        than a no-op span. A provider is set once per process, so a yes is final.
        """
        if not self._provider_set:
            trace = self.trace
            found = trace.get_tracer_provider()
            self._provider_set = not isinstance(
                found, trace.ProxyTracerProvider | trace.NoOpTracerProvider
            )
        return self._provider_set


@cache
def otel() -> Otel | None:
    """The OpenTelemetry API, loaded once; None when ``opentelemetry-api`` is not installed."""
    try:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:
        return None
    return Otel(trace, TraceContextTextMapPropagator())


def trace_headers(span: Span) -> dict[str, str]:
    """The W3C headers that continue ``span`` (``{}`` when its context is not valid).

    Written as the W3C propagator writes them, without its per-call context lookups:
    the dispatcher sends one per attempt.
    """
    context = span.get_span_context()
    if not context.is_valid:
        return {}
    ids = f"{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    headers = {TRACEPARENT: f"00-{ids}"}
    if context.trace_state:
        headers[TRACESTATE] = context.trace_state.to_header()
    return headers


def stored_context(span: Span) -> str | None:
    """``span``'s context as stored with an event (JSON of its W3C headers), or None."""
    carrier = trace_headers(span)
    return json.dumps(carrier, separators=(",", ":")) if carrier else None


@lru_cache(maxsize=4096)
def context_of(stored: str) -> SpanContext | None:
    """The span context a :func:`stored_context` text holds; None for one unreadable or invalid.

    Cached: the events of one ``publish_many`` share a text, and a retry reads it again.
    """
    api = otel()
    if api is None:
        return None
    try:
        found_json = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(found_json, dict):
        return None
    carrier = {k: v for k, v in found_json.items() if k in _HEADERS and isinstance(v, str)}
    context = api.propagator.extract(carrier)
    found: SpanContext = api.trace.get_current_span(context).get_span_context()
    return found if found.is_valid else None


def handling_span(
    header: Callable[[str], Any], envelope: Envelope
) -> AbstractContextManager[Span] | None:
    """The span to run ``envelope``'s handlers in; None without ``opentelemetry-api`` or
    before the application sets its tracer provider.

    ``header(name)`` reads a request header by its lower-case name. The span is a
    SERVER span continuing the request's ``traceparent`` (and ``tracestate``), so
    it is a child of the sender's attempt; a request without one starts a trace.
    Inside a span the web framework's own instrumentation opened (which read the
    headers itself), it is an INTERNAL child of that span instead. The handlers run
    with it as the current span, so their own spans nest under it.
    """
    api = otel()
    if api is None or not api.provider_set():
        return None
    trace = api.trace
    parent: Context | None = None
    kind = trace.SpanKind.INTERNAL
    if not trace.get_current_span().get_span_context().is_valid:
        kind = trace.SpanKind.SERVER
        carrier = {}
        for name in _HEADERS:
            value = header(name)
            if isinstance(value, str):
                carrier[name] = value
        if carrier:
            parent = api.propagator.extract(carrier)
    events = envelope.events
    attributes: dict[str, Any] = {
        "http.request.method": "POST",
        "hookwire.account.id": envelope.account_id,
        "hookwire.events": len(events),
        "hookwire.event.names": list(dict.fromkeys(event.event_name for event in events)),
    }
    request_id = header("webhook-id")
    if isinstance(request_id, str):
        attributes["hookwire.request.id"] = request_id
    span: AbstractContextManager[Span] = _listener_tracer(api).start_as_current_span(
        LISTENER_SPAN,
        context=parent,
        kind=kind,
        attributes=attributes,
        record_exception=False,
    )
    return span


def answered(span: Span, status: int, *, accepted: int, duplicates: int) -> None:
    """Note on the listener's span how the request was answered (5xx marks it failed)."""
    if not span.is_recording():
        return
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("hookwire.accepted", accepted)
    span.set_attribute("hookwire.duplicates", duplicates)
    if status >= 500:
        api = otel()
        assert api is not None  # a recording span comes from the API
        span.set_attribute("error.type", str(status))
        span.set_status(api.trace.Status(api.trace.StatusCode.ERROR))


@cache
def _listener_tracer(api: Otel) -> Tracer:
    # The global provider's tracer (``api`` is the one ``otel()`` object, hashed by identity).
    return api.tracer("hookwire.listening")
