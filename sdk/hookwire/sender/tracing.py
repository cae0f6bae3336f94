"""The sender's traces: a span per publish call, a span per attempt, the context in between.

``publish`` and ``publish_many`` each open a PRODUCER span and store its
context with every event they store (the ``trace_context`` column). An attempt
opens a CLIENT span (HTTP client semantic conventions) whose parent is the
first event's stored context, with a link to every other context its batch
carries, and sends that span's own context as ``traceparent`` (and
``tracestate``), so the listener continues the attempt: one trace runs from the
publish through each attempt to the handler.

The ``Sender(tracing=...)`` setting picks the tracer (:meth:`SenderTracing.of`):
``True`` (the default) uses the application's global tracer provider when
``opentelemetry-api`` is installed and once the application has set one, a
``TracerProvider`` uses that one, and ``False`` turns tracing off. Off, or
without a provider, there are no spans, ``trace_context`` stays NULL and no
header is added.

A tracer that raises never stops a publish or an attempt: every call into
OpenTelemetry here is guarded, and the failure is logged on ``hookwire.sender``
(a warning the first time per kind in the process, see
:func:`hookwire.tracing.tracing_failed`). A publish whose span cannot start
stores its events without a context; an attempt whose span cannot start is
sent without ``traceparent``; an attempt whose span cannot end keeps the
outcome the target's answer gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..tracing import (
    Otel,
    context_of,
    resolve_tracing,
    stored_context,
    trace_headers,
    tracing_failed,
)
from .http import Response, shown_url
from .work import Job

if TYPE_CHECKING:
    from opentelemetry.trace import Link, Span, SpanContext, Tracer, TracerProvider

log = logging.getLogger("hookwire.sender")

__all__ = [
    "ATTEMPT_SPAN",
    "PUBLISH_MANY_SPAN",
    "PUBLISH_SPAN",
    "UNTRACED",
    "AttemptSpan",
    "Publishing",
    "SenderTracing",
]

PUBLISH_SPAN = "hookwire.publish"
PUBLISH_MANY_SPAN = "hookwire.publish_many"
ATTEMPT_SPAN = "POST"
"""An attempt's span name: the HTTP method, as the HTTP client conventions name spans."""

_ERROR_TYPES = (
    ("timeout", "timeout"),
    ("blocked", "blocked"),
    ("connection failed", "connection_failed"),
    ("the webhook's secret is unusable", "unusable_secret"),
)


class Publishing:
    """One publish call's span, as the outbox sees it; this base class traces nothing.

    ``trace_context`` is what the call's events store (None: nothing);
    ``recording`` says whether notes are kept (worth computing).
    """

    __slots__ = ()

    trace_context: str | None = None
    recording: bool = False

    def __enter__(self) -> Publishing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def describe(self, names: Sequence[str], account_ids: Sequence[int], count: int) -> None:
        """Note the call's event names and accounts (distinct, in order) and how many events."""

    def queued(self, deliveries: int) -> None:
        """Note how many deliveries the call queued."""


UNTRACED = Publishing()
"""The publish "span" of a sender that does not trace."""


class _TracedPublishing(Publishing):
    """A publish call's PRODUCER span, current while the call runs.

    Built by :meth:`SenderTracing.publishing`, which guards the construction;
    its methods guard their own calls into OpenTelemetry.
    """

    __slots__ = ("_api", "_entered", "_scope", "recording", "span", "trace_context")

    def __init__(self, api: Otel, span: Span) -> None:
        self._api = api
        self.span = span
        self.recording = span.is_recording()
        self.trace_context = stored_context(span)
        self._scope = api.trace.use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        )
        self._entered = False

    def __enter__(self) -> Publishing:
        try:
            self._scope.__enter__()
        except Exception as exc:
            # ``use_span`` has ended the span on its way out; the call runs without it current.
            tracing_failed(log, "making a publish span current", exc)
        else:
            self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.recording:
            try:
                # The error's class only: a payload error's message may quote the data.
                self.span.set_attribute("error.type", exc_type.__qualname__)
                self.span.set_status(self._api.trace.Status(self._api.trace.StatusCode.ERROR))
            except Exception as error:
                tracing_failed(log, "noting on a publish span", error)
        if not self._entered:
            return
        try:
            self._scope.__exit__(exc_type, exc, tb)
        except Exception as error:
            if error is not exc:  # not the call's own error, passed back
                tracing_failed(log, "ending a publish span", error)

    def describe(self, names: Sequence[str], account_ids: Sequence[int], count: int) -> None:
        span = self.span
        if not self.recording:
            return
        try:
            span.set_attribute("hookwire.events", count)
            if len(names) == 1 and len(account_ids) == 1:
                span.set_attribute("hookwire.event.name", names[0])
                span.set_attribute("hookwire.account.id", account_ids[0])
            else:
                span.set_attribute("hookwire.event.names", list(names))
                span.set_attribute("hookwire.account.ids", list(account_ids))
        except Exception as exc:
            tracing_failed(log, "noting on a publish span", exc)

    def queued(self, deliveries: int) -> None:
        if self.recording:
            try:
                self.span.set_attribute("hookwire.deliveries", deliveries)
            except Exception as exc:
                tracing_failed(log, "noting on a publish span", exc)


class AttemptSpan:
    """An attempt's CLIENT span and the W3C headers that continue it.

    Neither building it nor :meth:`end` raises a tracer's error: headers that
    cannot be written are none (the attempt goes out without ``traceparent``).
    """

    __slots__ = ("_api", "headers", "span")

    def __init__(self, api: Otel, span: Span) -> None:
        self._api = api
        self.span = span
        try:
            self.headers = trace_headers(span)
        except Exception as exc:
            tracing_failed(log, "writing an attempt's traceparent", exc)
            self.headers = {}

    def end(self, response: Response | BaseException) -> None:
        """Note what the attempt got, or what cut it short, and end the span."""
        span = self.span
        try:
            if span.is_recording():
                status = self._api.trace.StatusCode.ERROR
                if isinstance(response, BaseException):
                    span.set_attribute("error.type", type(response).__qualname__)
                    span.set_status(self._api.trace.Status(status))
                elif response.status_code is not None:
                    span.set_attribute("http.response.status_code", response.status_code)
                    if response.status_code >= 400:
                        span.set_attribute("error.type", str(response.status_code))
                        span.set_status(self._api.trace.Status(status))
                else:
                    span.set_attribute("error.type", _error_type(response.error or ""))
                    span.set_status(self._api.trace.Status(status, response.error))
        except Exception as exc:
            tracing_failed(log, "noting on an attempt span", exc)
        try:
            span.end()
        except Exception as exc:
            tracing_failed(log, "ending an attempt span", exc)


class SenderTracing:
    """The sender's tracer: opens the publish and attempt spans."""

    def __init__(self, api: Otel, tracer: Tracer, *, global_provider: bool) -> None:
        self._api = api
        self._tracer = tracer
        self._global = global_provider

    def _on(self) -> bool:
        """Whether to make spans now: the global provider's only once the application set it."""
        return not self._global or self._api.provider_set()

    @classmethod
    def of(cls, setting: bool | TracerProvider) -> SenderTracing | None:
        """The tracing a ``Sender(tracing=...)`` setting asks for; None when off or unavailable."""
        resolved = resolve_tracing(setting)
        if resolved is None:
            return None
        api, provider = resolved
        try:
            tracer = api.tracer("hookwire.sender", provider)
        except Exception as exc:
            tracing_failed(log, "getting the sender's tracer", exc)
            return None
        return cls(api, tracer, global_provider=provider is None)

    def publishing(self, name: str) -> Publishing:
        """The span of one publish call (``PUBLISH_SPAN`` or ``PUBLISH_MANY_SPAN``);
        ``UNTRACED`` when there is none, also when the tracer raises."""
        try:
            if not self._on():
                return UNTRACED
            span = self._tracer.start_span(name, kind=self._api.trace.SpanKind.PRODUCER)
        except Exception as exc:
            tracing_failed(log, "starting a publish span", exc)
            return UNTRACED
        try:
            return _TracedPublishing(self._api, span)
        except Exception as exc:
            tracing_failed(log, "reading a publish span's context", exc)
            _end(span, "ending a publish span")
            return UNTRACED

    def attempt(self, job: Job) -> AttemptSpan | None:
        """Open the span of one attempt at ``job`` (see the module's docstring); None
        when there is none to make, also when the tracer raises."""
        try:
            if not self._on():
                return None
            api = self._api
            parent, links = self._parent_and_links(job.trace_contexts)
            attributes: dict[str, Any] = {
                "http.request.method": "POST",
                **_target_attributes(job.target_url),
                "hookwire.webhook.id": job.webhook_id,
                "hookwire.request.id": job.request_id,
                "hookwire.events": len(job.event_ids),
            }
            if job.attempts:
                attributes["http.request.resend_count"] = job.attempts
            span = self._tracer.start_span(
                ATTEMPT_SPAN,
                context=api.trace.set_span_in_context(api.trace.NonRecordingSpan(parent))
                if parent is not None
                else None,
                kind=api.trace.SpanKind.CLIENT,
                attributes=attributes,
                links=links,
            )
        except Exception as exc:
            tracing_failed(log, "starting an attempt span", exc)
            return None
        return AttemptSpan(self._api, span)

    def _parent_and_links(
        self, stored: Sequence[str | None]
    ) -> tuple[SpanContext | None, list[Link]]:
        """The first event's context (the parent) and a link to each other distinct one."""
        if not stored:
            return None, []
        api = self._api
        parent = _read(stored[0]) if stored[0] else None
        seen = {stored[0]}
        links: list[Link] = []
        for text in stored[1:]:
            if text is None or text in seen:
                continue
            seen.add(text)
            found = _read(text)
            if found is not None and found != parent:
                links.append(api.trace.Link(found))
        return parent, links


def _read(stored: str) -> SpanContext | None:
    """:func:`~hookwire.tracing.context_of`, None when OpenTelemetry raises reading it."""
    try:
        return context_of(stored)
    except Exception as exc:
        tracing_failed(log, "reading an event's stored trace context", exc)
        return None


def _end(span: Span, kind: str) -> None:
    """End ``span``; a tracer's error is logged as ``kind``."""
    try:
        span.end()
    except Exception as exc:
        tracing_failed(log, kind, exc)


@lru_cache(maxsize=1024)
def _target_attributes(url: str) -> dict[str, Any]:
    """``url.full`` (no query, no credentials), ``server.address`` and ``server.port``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    found: dict[str, Any] = {"url.full": shown_url(url)}
    if parts.hostname:
        found["server.address"] = parts.hostname
    found["server.port"] = port or (443 if parts.scheme == "https" else 80)
    return found


def _error_type(error: str) -> str:
    """A low-cardinality ``error.type`` for an attempt that got no answer."""
    for prefix, kind in _ERROR_TYPES:
        if error.startswith(prefix):
            return kind
    name = error.partition(":")[0]
    return name if name.isidentifier() else "_OTHER"
