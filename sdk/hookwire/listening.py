"""The listening core: one request in, one answer out, with no web framework involved.

:class:`ListeningCore` holds a listener's settings (receiver, de-duplication
store, recorder, handlers, body cap, realm) and turns a request's method,
headers and body into an :class:`Answer`: a status, extra headers and a JSON
body. The Flask extension, ``hookwire listen`` and ``hookwire demo`` are thin
adapters around it, so they answer every request alike; any other framework
takes a dozen lines (docs/listener.md shows a plain WSGI app).

Example::

    core = ListeningCore(Receiver(secret="whsec_..."))

    @core.on("COURSE_COMPLETED")
    def completed(event):
        ...

    answer = core.handle("POST", headers, body)   # headers: any mapping of names to values
    # answer.status, answer.headers (extra; the content type is always JSON), answer.content

The answers, one table for every adapter, are in docs/listener.md ("What the
listener answers").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._listening_checks import Refusal as _Refusal
from ._listening_checks import header as _header
from ._listening_checks import is_json as _is_json
from .dedupe import Claim, DedupeStore, MemoryDedupe
from .errors import ConfigurationError, PayloadError, RecordingError, VerificationError
from .events import Envelope, Event
from .handlers import F, Handlers
from .receiver import HeaderMapping, Receiver, parse_unverified
from .recording import RecordedRequest, Recorder
from .tracing import answered, handling_span, listener_tracer, resolve_tracing

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from .metrics import Metrics
    from .metrics._listener import ListenerMetrics

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_REALM",
    "Answer",
    "BodyReader",
    "Handlers",
    "ListeningCore",
]

#: The largest body accepted by default: 1 MiB.
DEFAULT_MAX_BODY = 2**20
#: The basic auth realm named in ``WWW-Authenticate``.
DEFAULT_REALM = "webhooks"
#: Seconds a sender waits before retrying an event another worker is handling.
RETRY_AFTER = "5"

BodyReader = Callable[[int, int | None], bytes]
"""``read(limit, declared) -> bytes``: the body, or any part of it longer than ``limit``.

``declared`` is the ``Content-Length`` (already checked to be at most
``limit``), or None when the body is chunked. A body that cannot be read
raises :class:`OSError` or :class:`ValueError`; the answer is then 400.
"""

_DEFAULT_LOGGER = logging.getLogger("hookwire.listening")


@dataclass(slots=True)
class Answer:
    """How a request is answered, and what the core learnt from it.

    ``body`` is the JSON-able answer and ``content`` its encoding; ``headers``
    are the extra headers (``Content-Type`` is always ``application/json``);
    ``close_connection`` is true when the body was left unread, so the
    connection must not serve another request. ``verified`` is None when the
    request was not checked; ``envelope`` and ``request_body`` are what was
    read, for adapters that print, record or forward requests.
    """

    status: int
    body: dict[str, Any]
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    close_connection: bool = False
    error: str | None = None
    verified: bool | None = None
    envelope: Envelope | None = None
    request_body: bytes = b""

    @property
    def status_line(self) -> str:
        """The status as WSGI's ``start_response`` wants it: ``"202 Accepted"``."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"


class ListeningCore:
    """Answers webhook requests: checks, verifies, de-duplicates, dispatches, records.

    ``receiver`` authenticates requests (None checks nothing: only for local
    tools); ``handlers`` is the registry the events run through (a fresh one by
    default; :meth:`on`, :meth:`on_any` and :meth:`on_error` add to it);
    ``dedupe`` remembers handled eventIds (default: in memory, this process);
    ``recorder`` appends every request to a recording; ``max_body`` caps the
    body in bytes; ``realm`` is named in ``WWW-Authenticate``; ``logger`` gets
    one WARNING line per refused request and each handler failure with its
    traceback (None logs nothing, for tools that print their own report);
    ``metrics`` is a :class:`hookwire.metrics.Metrics` that counts answers,
    verification failures, duplicates and handler runs (docs/operations.md);
    ``tracing``: with ``opentelemetry-api`` installed, the handlers of each
    verified request run in a span continuing the sender's ``traceparent``, made by the
    application's global tracer provider once it sets one; pass a
    ``TracerProvider`` to use that one (a provider whose tracer cannot be had
    leaves the core untraced), or ``False`` for no spans (docs/operations.md, "Traces").
    """

    def __init__(
        self,
        receiver: Receiver | None,
        *,
        handlers: Handlers | None = None,
        dedupe: DedupeStore | None = None,
        recorder: Recorder | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        realm: str = DEFAULT_REALM,
        logger: logging.Logger | None = _DEFAULT_LOGGER,
        metrics: Metrics | None = None,
        tracing: bool | TracerProvider = True,
    ) -> None:
        if receiver is not None and not isinstance(receiver, Receiver):
            raise ConfigurationError("receiver must be a hookwire.Receiver")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
            raise ConfigurationError("max_body must be a positive number of bytes")
        self.receiver = receiver
        self.handlers = handlers if handlers is not None else Handlers()
        self.dedupe = dedupe if dedupe is not None else MemoryDedupe()
        self.recorder = recorder
        self.max_body = max_body
        self.realm = realm
        self.logger = logger
        self._metrics = _listener_metrics(metrics) if metrics is not None else None
        resolved = resolve_tracing(tracing)
        self._tracer = None if resolved is None else listener_tracer(*resolved)
        # Traced through the given provider's tracer, or through the global provider's.
        self._traced = resolved is not None and (resolved[1] is None or self._tracer is not None)
        uses_basic_auth = receiver is not None and receiver.uses_basic_auth
        self._challenge = f'Basic realm="{realm}", charset="UTF-8"' if uses_basic_auth else None

    def __repr__(self) -> str:
        return f"ListeningCore(receiver={self.receiver!r}, max_body={self.max_body})"

    def on(self, *names: str) -> Callable[[F], F]:
        """Register a handler for one or more event names (see :meth:`Handlers.on`)."""
        return self.handlers.on(*names)

    def on_any(self, func: F) -> F:
        """Register a handler for every event (see :meth:`Handlers.on_any`)."""
        return self.handlers.on_any(func)

    def on_error(self, func: F) -> F:
        """Register ``func(error, event)`` for handler failures (see :meth:`Handlers.on_error`)."""
        return self.handlers.on_error(func)

    def reads_body(self, method: str, headers: HeaderMapping) -> bool:
        """True when :meth:`handle` would read this request's body.

        For servers that read bodies asynchronously: read at most
        ``max_body + 1`` bytes when this is true, pass b"" when it is not.
        """
        try:
            self._check_head(method, headers)
        except _Refusal:
            return False
        return True

    def handle(
        self,
        method: str,
        headers: HeaderMapping,
        body: bytes | BodyReader,
        *,
        path: str = "",
        query: str = "",
    ) -> Answer:
        """Answer one request; never raises for anything the request holds.

        ``headers`` is any mapping with ``get`` and ``items`` (names in any
        case); ``body`` is the raw body, or a :data:`BodyReader` that the core
        calls only once the method, content type and declared length pass.
        ``path`` and ``query`` only go into the recording.
        """
        received_at = datetime.now(UTC) if self.recorder is not None else None
        raw = b""
        try:
            declared = self._check_head(method, headers)
            raw = self._read(body, declared)
            envelope, verified = self._authentic(raw, headers)
            answer = self._traced_dispatch(envelope, headers)
            answer.verified, answer.envelope, answer.request_body = verified, envelope, raw
        except _Refusal as refusal:
            answer = self._refuse(refusal, raw)
        if self._metrics is not None:
            self._metrics.answered(answer)
        if received_at is not None:
            self._record(
                answer,
                method=method,
                headers=headers,
                path=path,
                query=query,
                received_at=received_at,
            )
        return answer

    def _check_head(self, method: str, headers: HeaderMapping) -> int | None:
        """Check what comes before the body; return the declared length, if any."""
        if method != "POST":
            raise _Refusal(405, "webhooks are delivered with POST")
        if not _is_json(_header(headers, "content-type")):
            raise _Refusal(415, "the content type must be application/json")
        declared = _header(headers, "content-length")
        if not declared:
            return None
        # int() would take "-5", "+5" or " 5"; RFC 9110 allows only digits.
        if not (isinstance(declared, str) and declared.isascii() and declared.isdigit()):
            raise _Refusal(400, "the Content-Length header is not a whole number of bytes")
        length = int(declared)
        if length > self.max_body:
            raise _Refusal(413, f"the body is over {self.max_body} bytes", limit=self.max_body)
        return length

    def _read(self, body: bytes | BodyReader, declared: int | None) -> bytes:
        limit = self.max_body
        if isinstance(body, bytes):
            raw = body
        else:
            try:
                raw = body(limit, declared)
            except (OSError, ValueError) as exc:
                why = str(exc) or type(exc).__name__
                raise _Refusal(400, f"the body could not be read: {why}") from None
        if len(raw) > limit:
            raise _Refusal(413, f"the body is over {limit} bytes", limit=limit)
        return raw

    def _authentic(self, raw: bytes, headers: HeaderMapping) -> tuple[Envelope, bool | None]:
        """The verified envelope, and whether it was verified (None: nothing to check with)."""
        receiver = self.receiver
        try:
            if receiver is None:
                return parse_unverified(raw), None
            return receiver.verify(raw, headers), True
        except VerificationError as exc:
            if self._metrics is not None:
                self._metrics.unverified(exc)
            raise _Refusal(401, str(exc), verified=False) from None
        except PayloadError as exc:
            verified = None if receiver is None else True
            raise _Refusal(400, str(exc), verified=verified, location=exc.location) from None

    def _traced_dispatch(self, envelope: Envelope, headers: HeaderMapping) -> Answer:
        """:meth:`_dispatch` inside the listener's span (``hookwire.tracing``), which
        continues the sender's trace from the request's ``traceparent``."""
        if not self._traced:
            return self._dispatch(envelope)
        span = handling_span(lambda name: _header(headers, name), envelope, self._tracer)
        if span is None:
            return self._dispatch(envelope)
        with span as current:
            answer = self._dispatch(envelope)
            body = answer.body
            answered(
                current,
                answer.status,
                accepted=body.get("accepted", 0),
                duplicates=body.get("duplicates", 0),
            )
        return answer

    def _dispatch(self, envelope: Envelope) -> Answer:
        """Run the envelope's events through their handlers, in order, each at most once."""
        dedupe, handlers_for, metrics = self.dedupe, self.handlers.handlers_for, self._metrics
        accepted = duplicates = 0
        for event in envelope.events:
            claim = dedupe.claim(event.event_id)
            if claim is Claim.DUPLICATE:
                duplicates += 1
                continue
            if claim is Claim.IN_FLIGHT:
                error = f"event {event.event_id} is being handled by another worker"
                # The retry will find the event done (a duplicate) or released (handled afresh).
                return _failure(503, error, accepted, duplicates, {"Retry-After": RETRY_AFTER})
            started = perf_counter() if metrics is not None else 0.0
            try:
                for handler in handlers_for(event.event_name):
                    handler(event, envelope)
            except Exception as exc:
                dedupe.release(event.event_id)
                if metrics is not None:
                    metrics.handled(started, failed=True)
                self._handler_failed(exc, event)
                error = f"a handler failed on event {event.event_id}"
                return _failure(500, error, accepted, duplicates, {})
            dedupe.confirm(event.event_id)
            if metrics is not None:
                metrics.handled(started)
            accepted += 1
        # The answer to almost every request: formatted directly, it costs less than json.dumps.
        content = f'{{"accepted":{accepted},"duplicates":{duplicates}}}'.encode()
        return Answer(202, {"accepted": accepted, "duplicates": duplicates}, content)

    def _handler_failed(self, exc: Exception, event: Event) -> None:
        if self.logger is not None:
            self.logger.exception(
                "webhook handler failed on event %s (%s); answering 500 so the sender retries",
                event.event_id,
                event.event_name,
            )
        self.handlers.report(exc, event, self.logger)

    def _refuse(self, refusal: _Refusal, raw: bytes) -> Answer:
        status, error = refusal.status, str(refusal)
        if self.logger is not None:
            self.logger.warning("webhook rejected with %d: %s", status, " ".join(error.split()))
        headers: dict[str, str] = {}
        if status == 405:
            headers["Allow"] = "POST"
        elif status == 401 and self._challenge is not None:
            headers["WWW-Authenticate"] = self._challenge
        body = {"error": error, **refusal.extra}
        return Answer(
            status,
            body,
            _encode(body),
            headers,
            # The rest of an oversized body is never read: the connection cannot be reused.
            close_connection=status == 413,
            error=error,
            verified=refusal.verified,
            request_body=raw,
        )

    def _record(
        self,
        answer: Answer,
        *,
        method: str,
        headers: HeaderMapping,
        path: str,
        query: str,
        received_at: datetime,
    ) -> None:
        assert self.recorder is not None
        record = RecordedRequest.from_request(
            method=method,
            path=path,
            query=query,
            headers=dict(headers.items()),
            body=answer.request_body,
            received_at=received_at,
            verified=answer.verified,
            error=answer.error,
            status=answer.status,
        )
        try:
            self.recorder.record(record)
        except (RecordingError, OSError) as exc:
            # A full disk must not change the answer: a 500 would make the sender retry for ever.
            if self.logger is not None:
                self.logger.warning("could not record the request: %s", " ".join(str(exc).split()))


def _failure(
    status: int, error: str, accepted: int, duplicates: int, headers: dict[str, str]
) -> Answer:
    body = {"error": error, "accepted": accepted, "duplicates": duplicates}
    return Answer(status, body, _encode(body), headers, error=error)


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _listener_metrics(metrics: object) -> ListenerMetrics:
    from .metrics import checked_metrics  # the metrics extra: needed only by those who pass one

    return checked_metrics(metrics).for_listener()
