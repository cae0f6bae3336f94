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

A tracer that raises (a broken SDK, exporter or span processor) never stops
the work it traces: each call into OpenTelemetry is guarded, the call goes on
untraced, and the first failure of each kind in the process is logged as a
warning with its traceback (:func:`tracing_failed`); later ones of that kind
are logged at debug level.

OpenTelemetry loads on first use, not when hookwire is imported.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import ConfigurationError

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
    "resolve_tracing",
    "stored_context",
    "trace_headers",
    "tracing_failed",
]

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_HEADERS = (TRACEPARENT, TRACESTATE)
LISTENER_SPAN = "hookwire.listener"
"""The name of the span the listening core runs an envelope's handlers in."""
_LISTENER_TRACER = "hookwire.listening"

_LISTENER_LOG = logging.getLogger("hookwire.listening")
# The variable through which opentelemetry-api loads a provider from an entry point.
_PROVIDER_VARIABLE = "OTEL_PYTHON_TRACER_PROVIDER"
_warned: set[str] = set()
"""The kinds of tracer failure already logged as a warning in this process."""
_warned_lock = threading.Lock()


def tracing_failed(log: logging.Logger, kind: str, error: BaseException) -> None:
    """Log that OpenTelemetry raised while ``kind`` (say, "starting a publish span").

    The first failure of a kind in the process is a warning with its traceback;
    later ones are debug lines, since a broken tracer usually fails every call.
    """
    with _warned_lock:
        first = kind not in _warned
        _warned.add(kind)
    if first:
        log.warning(
            "OpenTelemetry raised while %s; hookwire goes on without tracing it "
            "(logged once per process; later failures are debug lines)",
            kind,
            exc_info=error,
        )
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("OpenTelemetry raised while %s: %r", kind, error)


@dataclass(slots=True, eq=False)
class Otel:
    """The loaded OpenTelemetry API: its ``trace`` module and a W3C propagator."""

    trace: ModuleType
    propagator: TraceContextTextMapPropagator
    _provider_set: bool = field(default=False, init=False)
    _provider_from_env: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        # A provider named by the environment is loaded by the API on its first lookup.
        self._provider_from_env = _PROVIDER_VARIABLE in os.environ

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
            # The API's own global, read without get_tracer_provider's environment lookup
            # (which costs more than the rest of the check); None until a provider is set.
            if getattr(trace, "_TRACER_PROVIDER", trace) is None and not self._provider_from_env:
                return False
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


def resolve_tracing(setting: object) -> tuple[Otel, TracerProvider | None] | None:
    """What a ``tracing=`` setting asks for, as ``(api, provider)``.

    ``True`` gives the global provider (``provider`` None: spans start once the
    application sets one), a ``TracerProvider`` gives that one, and ``False``, or
    ``True`` without ``opentelemetry-api``, gives None: no tracing. Anything else
    raises :class:`~hookwire.errors.ConfigurationError`.
    """
    if setting is False:
        return None
    api = otel()
    if setting is True:
        return None if api is None else (api, None)
    if api is None or not isinstance(setting, api.trace.TracerProvider):
        raise ConfigurationError(
            "tracing must be True, False or an opentelemetry.trace.TracerProvider"
        )
    return api, setting


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


def listener_tracer(api: Otel, provider: TracerProvider | None) -> Tracer | None:
    """The listener's tracer of ``provider``; None for the global provider's (looked up
    per request, so that one set later is followed) or when getting it raises."""
    if provider is None:
        return None
    try:
        return api.tracer(_LISTENER_TRACER, provider)
    except Exception as exc:
        tracing_failed(_LISTENER_LOG, "getting the listener's tracer", exc)
        return None


def handling_span(
    header: Callable[[str], Any], envelope: Envelope, tracer: Tracer | None = None
) -> AbstractContextManager[Span] | None:
    """The span to run ``envelope``'s handlers in; None without ``opentelemetry-api`` or,
    with no ``tracer`` given, before the application sets its global tracer provider.

    ``header(name)`` reads a request header by its lower-case name. The span is a
    SERVER span continuing the request's ``traceparent`` (and ``tracestate``), so
    it is a child of the sender's attempt; a request without one starts a trace.
    Inside a span the web framework's own instrumentation opened (which read the
    headers itself), it is an INTERNAL child of that span instead. The handlers run
    with it as the current span, so their own spans nest under it. When the tracer
    raises, starting or ending the span, the failure is logged
    (:func:`tracing_failed`) and the handlers run and the request is answered
    without it.
    """
    api = otel()
    if api is None:
        return None
    try:
        if tracer is None:
            if not api.provider_set():
                return None
            tracer = _listener_tracer(api)
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
        span = tracer.start_as_current_span(
            LISTENER_SPAN,
            context=parent,
            kind=kind,
            attributes=attributes,
            record_exception=False,
        )
    except Exception as exc:
        tracing_failed(_LISTENER_LOG, "starting the listener's span", exc)
        return None
    return _ListenerSpan(api, span)


def answered(span: Span, status: int, *, accepted: int, duplicates: int) -> None:
    """Note on the listener's span how the request was answered (5xx marks it failed)."""
    try:
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
    except Exception as exc:
        tracing_failed(_LISTENER_LOG, "noting on the listener's span", exc)


class _ListenerSpan:
    """The listener's span as a context manager that never raises a tracer's error.

    Its span starts on entry (an SDK's span processors run then): when that
    raises, the handlers run with no span of hookwire's (``INVALID_SPAN``, which
    records nothing). When ending the span raises, the request is answered all
    the same. An error of the handlers' own passes through unchanged.
    """

    __slots__ = ("_api", "_entered", "_scope")

    def __init__(self, api: Otel, scope: AbstractContextManager[Span]) -> None:
        self._api = api
        self._scope = scope
        self._entered = False

    def __enter__(self) -> Span:
        try:
            span = self._scope.__enter__()
        except Exception as exc:
            tracing_failed(_LISTENER_LOG, "starting the listener's span", exc)
            invalid: Span = self._api.trace.INVALID_SPAN
            return invalid
        self._entered = True
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._entered:
            return
        try:
            self._scope.__exit__(exc_type, exc, tb)
        except Exception as error:
            if error is not exc:  # not the handlers' own error, passed back
                tracing_failed(_LISTENER_LOG, "ending the listener's span", error)


@cache
def _listener_tracer(api: Otel) -> Tracer:
    # The global provider's tracer (``api`` is the one ``otel()`` object, hashed by identity).
    return api.tracer(_LISTENER_TRACER)
