"""The Flask integration: one URL that verifies, de-duplicates, records and dispatches webhooks.

Example::

    from flask import Flask
    from hookwire import Receiver
    from hookwire.flask import WebhookListener

    app = Flask(__name__)
    listener = WebhookListener(app, receiver=Receiver(secret="whsec_..."), path="/webhooks")

    @listener.on("COURSE_ENROLLMENT", "COURSE_COMPLETED")
    def learner_record(event):
        ...

    @listener.on_any
    def audit(event, envelope):        # a second positional parameter receives the envelope
        ...

Answers: 202 ``{"accepted": n, "duplicates": m}`` when every event was handled
or was a duplicate; 405 for a method other than POST; 415 for a non-JSON
content type; 413 for a body over ``max_body`` (``HOOKWIRE_MAX_BODY``); 401
when authentication fails; 400 with ``{"error", "location"}`` for a malformed
envelope; 503 with ``Retry-After`` when another worker is handling one of the
events right now; 500 when a handler raised, so that the sender retries.
Events are handled in envelope order, each at most once per de-duplication
store (see :mod:`hookwire.dedupe` for the exact guarantee).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import ClientDisconnected

from .dedupe import Claim, DedupeStore, MemoryDedupe, dedupe_from_url
from .errors import ConfigurationError, PayloadError, VerificationError
from .events import Envelope, Event
from .receiver import Receiver
from .recording import RecordedRequest, Recorder

__all__ = ["DEFAULT_MAX_BODY", "WebhookListener"]

#: The largest body accepted by default: 1 MiB.
DEFAULT_MAX_BODY = 2**20
_CHUNK = 64 * 1024
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

logger = logging.getLogger("hookwire.flask")

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Event, Envelope], Any]
ErrorHandler = Callable[[Exception, Event], Any]


def _adapt(func: Callable[..., Any]) -> Handler:
    """Give every handler the ``(event, envelope)`` shape, following the signature rule.

    The rule: a handler whose signature takes two positional arguments (or
    ``*args``) receives ``(event, envelope)``; one that takes one receives ``event``.
    """
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the signature of handler {func!r}") from exc
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    keyword_only = any(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
        for p in params
    )
    name = getattr(func, "__qualname__", repr(func))
    if len(required) > 2 or keyword_only or (not positional and not variadic):
        raise ConfigurationError(
            f"handler {name} must take (event) or (event, envelope) as positional arguments"
        )
    if len(positional) >= 2 or variadic:
        return func
    return lambda event, _envelope: func(event)


@dataclass
class _State:
    """What one app's listener needs per request; kept in ``app.extensions["hookwire"]``."""

    listener: WebhookListener
    receiver: Receiver
    dedupe: DedupeStore
    recorder: Recorder | None
    max_body: int
    challenge: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How handling an authentic envelope ended."""

    status: int
    error: str | None
    accepted: int
    duplicates: int

    def response(self) -> Response:
        if self.error is None:
            return _accepted(self.accepted, self.duplicates)
        payload = {"accepted": self.accepted, "duplicates": self.duplicates}
        # 503: another worker holds one of the events; the retry will find it done or free.
        headers = {"Retry-After": "5"} if self.status == 503 else None
        return _json(self.status, {"error": self.error, **payload}, headers)


class _Reject(Exception):
    """An answer other than 202, decided before any handler runs."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json"
    )
    if headers:
        response.headers.update(headers)
    return response


def _accepted(accepted: int, duplicates: int) -> Response:
    # The answer to almost every request: formatted directly, it costs less than json.dumps.
    return Response(
        f'{{"accepted":{accepted},"duplicates":{duplicates}}}',
        status=202,
        mimetype="application/json",
    )


def _read_body(req: Request, limit: int) -> bytes:
    """Read the raw body once, refusing to hold more than ``limit`` bytes.

    A body the server cannot read (a broken chunked encoding, a client that
    hangs up) is the client's fault: it is answered 400, never 500.
    """
    try:
        return _read_capped(req, limit)
    except (OSError, ValueError, ClientDisconnected) as exc:
        raise _Reject(400, f"the body could not be read: {exc or type(exc).__name__}") from None


def _read_capped(req: Request, limit: int) -> bytes:
    environ = req.environ
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        # int() would take "-5", "+5" or " 5"; RFC 9110 allows only digits.
        if not (declared.isascii() and declared.isdigit()):
            raise _Reject(400, "the Content-Length header is not a whole number of bytes")
        length = int(declared)
        if length > limit:
            raise _Reject(413, f"the body is over {limit} bytes", limit=limit)
        # Straight from the server's input: werkzeug's stream wrapper costs more than the read.
        stream = environ["wsgi.input"]
        body = stream.read(length)
        while len(body) < length:
            more = stream.read(length - len(body))
            if not more:
                raise _Reject(400, "the body is shorter than its Content-Length")
            body += more
        return bytes(body)
    # Chunked (or unknown length): stream it, stopping as soon as it passes the cap.
    parts: list[bytes] = []
    size = 0
    while chunk := req.stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _Reject(413, f"the body is over {limit} bytes", limit=limit)
        parts.append(chunk)
    return b"".join(parts)


def _is_json(content_type: str) -> bool:
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


class WebhookListener:
    """A Flask extension that receives webhooks on one URL and dispatches their events.

    ``receiver`` authenticates requests; ``dedupe`` remembers handled eventIds
    (default: ``app.config["HOOKWIRE_DEDUPE_URL"]`` if set, else an in-memory
    store per app, which is per process); ``recorder`` appends every request to a
    recording (default: ``app.config["HOOKWIRE_RECORD"]`` if set); ``max_body``
    caps the body in bytes (``app.config["HOOKWIRE_MAX_BODY"]`` wins).

    Handlers take ``(event)`` or ``(event, envelope)``: a handler whose
    signature has a second positional parameter also receives the envelope.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        receiver: Receiver,
        path: str = "/webhooks",
        dedupe: DedupeStore | None = None,
        recorder: Recorder | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        endpoint: str = "hookwire_webhooks",
    ) -> None:
        if not isinstance(receiver, Receiver):
            raise ConfigurationError("receiver must be a hookwire.Receiver")
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/', not {path!r}")
        if max_body <= 0:
            raise ConfigurationError("max_body must be a positive number of bytes")
        self.receiver = receiver
        self.path = path
        self.dedupe = dedupe
        self.recorder = recorder
        self.max_body = max_body
        self.endpoint = endpoint
        self._handlers: dict[str, list[Handler]] = {}
        self._any: list[Handler] = []
        self._errors: list[ErrorHandler] = []
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"WebhookListener(path={self.path!r}, receiver={self.receiver!r})"

    def init_app(self, app: Flask) -> None:
        """Register the webhook URL on ``app`` and keep this app's state in its extensions."""
        if "hookwire" in app.extensions:
            raise ConfigurationError("this app already has a hookwire WebhookListener")
        max_body = int(app.config.setdefault("HOOKWIRE_MAX_BODY", self.max_body))
        if max_body <= 0:
            raise ConfigurationError("HOOKWIRE_MAX_BODY must be a positive number of bytes")
        dedupe = self.dedupe
        if dedupe is None:
            url = app.config.get("HOOKWIRE_DEDUPE_URL")
            dedupe = dedupe_from_url(url) if url else MemoryDedupe()
        recorder = self.recorder
        if recorder is None and app.config.get("HOOKWIRE_RECORD"):
            recorder = Recorder(app.config["HOOKWIRE_RECORD"])
        challenge = (
            {"WWW-Authenticate": 'Basic realm="webhooks", charset="UTF-8"'}
            if self.receiver.uses_basic_auth
            else {}
        )
        app.extensions["hookwire"] = _State(
            self, self.receiver, dedupe, recorder, max_body, challenge
        )
        app.add_url_rule(
            self.path,
            endpoint=self.endpoint,
            view_func=_view,
            methods=_ALL_METHODS,
            provide_automatic_options=False,
        )

    def on(self, *names: str) -> Callable[[F], F]:
        """Register a handler for one or more event names: ``@listener.on("COURSE_COMPLETED")``."""
        if not names or not all(isinstance(name, str) and name for name in names):
            raise ConfigurationError("listener.on() needs one or more event names")

        def register(func: F) -> F:
            handler = _adapt(func)
            for name in names:
                self._handlers.setdefault(name, []).append(handler)
            return func

        return register

    def on_any(self, func: F) -> F:
        """Register a handler for every event, run after the event's own handlers."""
        self._any.append(_adapt(func))
        return func

    def on_error(self, func: F) -> F:
        """Register ``func(error, event)``, called when a handler raises.

        The request is still answered 500 so that the sender retries; use this
        to report the failure. An error handler that raises is logged and ignored.
        """
        self._errors.append(func)
        return func

    def handlers_for(self, name: str) -> Iterable[Handler]:
        """The handlers an event named ``name`` runs through, in order."""
        return [*self._handlers.get(name, ()), *self._any]

    def _handle(self, envelope: Envelope, dedupe: DedupeStore) -> _Outcome:
        """Run the envelope's events through their handlers, in order, each at most once."""
        accepted = duplicates = 0
        for event in envelope.events:
            claim = dedupe.claim(event.event_id)
            if claim is Claim.DUPLICATE:
                duplicates += 1
                continue
            if claim is Claim.IN_FLIGHT:
                return _Outcome(
                    503,
                    f"event {event.event_id} is being handled by another worker",
                    accepted,
                    duplicates,
                )
            try:
                for handler in self.handlers_for(event.event_name):
                    handler(event, envelope)
            except Exception as exc:
                dedupe.release(event.event_id)
                logger.exception(
                    "webhook handler failed on event %s (%s); answering 500 so the sender retries",
                    event.event_id,
                    event.event_name,
                )
                self._report(exc, event)
                return _Outcome(
                    500, f"a handler failed on event {event.event_id}", accepted, duplicates
                )
            dedupe.confirm(event.event_id)
            accepted += 1
        return _Outcome(202, None, accepted, duplicates)

    def _report(self, exc: Exception, event: Event) -> None:
        for error_handler in self._errors:
            try:
                error_handler(exc, event)
            except Exception:
                logger.exception("webhook error handler %r failed", error_handler)


def _view() -> Response:
    state: _State = current_app.extensions["hookwire"]
    req = request
    recorder = state.recorder
    received_at = datetime.now(UTC) if recorder is not None else None
    body = b""
    verified: bool | None = None
    error: str | None = None
    try:
        if req.method != "POST":
            raise _Reject(405, "webhooks are delivered with POST")
        if not _is_json(req.environ.get("CONTENT_TYPE", "")):
            raise _Reject(415, "the content type must be application/json")
        body = _read_body(req, state.max_body)
        try:
            envelope = state.receiver.verify(body, req.headers)
        except VerificationError as exc:
            verified = False
            raise _Reject(401, str(exc)) from None
        except PayloadError as exc:
            verified = True
            raise _Reject(400, str(exc), location=exc.location) from None
        verified = True
        outcome = state.listener._handle(envelope, state.dedupe)
        error = outcome.error
        response = outcome.response()
    except _Reject as reject:
        error = str(reject)
        logger.warning(
            "webhook rejected with %d: %s", reject.status, error.replace("\n", " ").strip()
        )
        answer_headers = dict(state.challenge) if reject.status == 401 else {}
        if reject.status == 405:
            answer_headers["Allow"] = "POST"
        if reject.status == 413:
            # The rest of an oversized body is never read: do not reuse the connection.
            answer_headers["Connection"] = "close"
        response = _json(reject.status, {"error": error, **reject.extra}, answer_headers)
    if received_at is not None and recorder is not None:
        recorder.record(
            RecordedRequest.from_request(
                method=req.method,
                path=req.path,
                query=req.query_string.decode("latin-1"),
                headers=dict(req.headers.items()),
                body=body,
                received_at=received_at,
                verified=verified,
                error=error,
                status=response.status_code,
            )
        )
    return response
