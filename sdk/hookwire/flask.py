"""The Flask integration: webhook URLs that verify, de-duplicate, record and dispatch events.

Example (the app-factory shape: everything else comes from ``app.config``)::

    from flask import Flask
    from hookwire.flask import WebhookListener

    listener = WebhookListener()

    @listener.on("COURSE_ENROLLMENT", "COURSE_COMPLETED")
    def learner_record(event):
        ...

    @listener.on_any
    def audit(event, envelope):        # a second positional parameter receives the envelope
        ...

    def create_app():
        app = Flask(__name__)
        app.config["HOOKWIRE_SECRET"] = "whsec_..."
        listener.init_app(app)
        return app

``WebhookListener(app, receiver=Receiver(...), path="/webhooks")`` works as
well. Each URL is a thin adapter over :class:`hookwire.listening.ListeningCore`,
which decides every answer (the table is in docs/listener.md): 202
``{"accepted": n, "duplicates": m}``, or 405, 415, 413, 401, 400, 503 or 500
with ``{"error": ...}``. Events are handled in envelope order, each at most
once per de-duplication store (see :mod:`hookwire.dedupe`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .extras import requires_extra

with requires_extra("flask", __name__, "flask", "werkzeug"):
    from flask import Flask, Response, request
    from werkzeug.exceptions import ClientDisconnected

from .dedupe import DedupeStore, MemoryDedupe, dedupe_from_url
from .errors import ConfigurationError
from .handlers import Handler, Handlers
from .listening import DEFAULT_MAX_BODY, Answer, ListeningCore
from .receiver import Receiver
from .recording import Recorder
from .tracing import resolve_tracing

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from .metrics import Metrics

__all__ = ["DEFAULT_MAX_BODY", "WebhookListener"]

_CHUNK = 64 * 1024
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_DEFAULT_PATH = "/webhooks"
# The WSGI environ keys of the headers every request needs, by the names the core asks for.
_ENVIRON_KEYS: Final = {
    "webhook-id": "HTTP_WEBHOOK_ID",
    "webhook-timestamp": "HTTP_WEBHOOK_TIMESTAMP",
    "webhook-signature": "HTTP_WEBHOOK_SIGNATURE",
    "authorization": "HTTP_AUTHORIZATION",
    "content-type": "CONTENT_TYPE",
    "content-length": "CONTENT_LENGTH",
}

logger = logging.getLogger("hookwire.flask")

F = TypeVar("F", bound=Callable[..., Any])


class WebhookListener:
    """A Flask extension that receives webhooks on one URL and dispatches their events.

    Every argument is optional; what is left out comes from ``app.config`` when
    :meth:`init_app` runs (see docs/listener.md for the keys): ``receiver``
    authenticates requests (else ``HOOKWIRE_SECRET``, ``HOOKWIRE_SIGNATURE_FILE``,
    ``HOOKWIRE_PUBLIC_KEY``, ``HOOKWIRE_BASIC_AUTH``, ``HOOKWIRE_TOLERANCE``);
    ``path`` is the URL (else ``HOOKWIRE_PATH``, else ``/webhooks``); ``dedupe``
    remembers handled eventIds (else ``HOOKWIRE_DEDUPE_URL``, else in memory,
    per app and process); ``recorder`` appends every request to a recording
    (else ``HOOKWIRE_RECORD``); ``max_body`` caps the body in bytes
    (``HOOKWIRE_MAX_BODY`` wins over it); ``endpoint`` names the Flask endpoint
    (else one derived from the path, ``hookwire_webhooks`` for ``/webhooks``);
    ``metrics`` is a :class:`hookwire.metrics.Metrics` the listener counts into,
    served at ``metrics_path`` when that is given (docs/operations.md, "Metrics");
    ``tracing`` is the listening core's setting (True: the global tracer provider,
    a ``TracerProvider``, or False for no spans; docs/operations.md, "Traces").

    One listener can serve several apps, and an app can have several listeners
    on distinct paths. Each app's cores live in ``app.extensions["hookwire"]``,
    a dict from path to :class:`~hookwire.listening.ListeningCore`; the listener
    keeps only its settings and handlers, never an app.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        receiver: Receiver | None = None,
        path: str | None = None,
        dedupe: DedupeStore | None = None,
        recorder: Recorder | None = None,
        max_body: int | None = None,
        endpoint: str | None = None,
        metrics: Metrics | None = None,
        metrics_path: str | None = None,
        tracing: bool | TracerProvider = True,
    ) -> None:
        if receiver is not None and not isinstance(receiver, Receiver):
            raise ConfigurationError("receiver must be a hookwire.Receiver")
        if path is not None:
            _check_path(path, "path")
        if max_body is not None and max_body <= 0:
            raise ConfigurationError("max_body must be a positive number of bytes")
        if metrics_path is not None:
            if metrics is None:
                raise ConfigurationError("metrics_path serves metrics: pass metrics= as well")
            _check_path(metrics_path, "metrics_path")
        self.receiver = receiver
        self.path = path
        self.dedupe = dedupe
        self.recorder = recorder
        self.max_body = max_body
        self.endpoint = endpoint
        self.metrics = metrics
        self.metrics_path = metrics_path
        resolve_tracing(tracing)  # a wrong setting fails here, not when an app is added
        self.tracing = tracing
        self.handlers = Handlers()
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"WebhookListener(path={self.path!r}, receiver={self.receiver!r})"

    def init_app(self, app: Flask) -> None:
        """Add this listener's URL to ``app``, with settings not given here read from its config."""
        config = app.config
        path = self.path or _check_path(
            config.get("HOOKWIRE_PATH") or _DEFAULT_PATH, "HOOKWIRE_PATH"
        )
        cores: dict[str, ListeningCore] = app.extensions.get("hookwire", {})
        if path in cores:
            raise ConfigurationError(
                f"{path} already has a hookwire WebhookListener on this app; give each its own path"
            )
        endpoint = self.endpoint or "hookwire" + re.sub(r"\W+", "_", path).rstrip("_")
        if endpoint in app.view_functions:
            raise ConfigurationError(f"endpoint {endpoint!r} is already taken; pass endpoint=")
        core = self._core(config)
        app.add_url_rule(
            path,
            endpoint=endpoint,
            view_func=_view(core),
            methods=_ALL_METHODS,
            provide_automatic_options=False,
        )
        app.extensions.setdefault("hookwire", cores)[path] = core
        if self.metrics is not None and self.metrics_path is not None:
            from .metrics import metrics_view

            view = metrics_view(self.metrics)
            app.add_url_rule(self.metrics_path, endpoint=f"{endpoint}_metrics", view_func=view)

    def _core(self, config: Mapping[str, Any]) -> ListeningCore:
        """The listening core of one app: this listener's settings, then the app's config."""
        # Settings that can be wrong come first, before a store opens a file or a connection.
        receiver = self.receiver if self.receiver is not None else _receiver_from(config)
        max_body = _max_body(config.get("HOOKWIRE_MAX_BODY"), self.max_body)
        dedupe = self.dedupe
        if dedupe is None:
            url = config.get("HOOKWIRE_DEDUPE_URL")
            dedupe = dedupe_from_url(url) if url else MemoryDedupe()
        recorder = self.recorder
        if recorder is None and config.get("HOOKWIRE_RECORD"):
            recorder = Recorder(config["HOOKWIRE_RECORD"])
        return ListeningCore(
            receiver,
            handlers=self.handlers,
            dedupe=dedupe,
            recorder=recorder,
            max_body=max_body,
            logger=logger,
            metrics=self.metrics,
            tracing=self.tracing,
        )

    def on(self, *names: str) -> Callable[[F], F]:
        """Register a handler for one or more event names: ``@listener.on("COURSE_COMPLETED")``."""
        return self.handlers.on(*names)

    def on_any(self, func: F) -> F:
        """Register a handler for every event, run after the event's own handlers."""
        return self.handlers.on_any(func)

    def on_error(self, func: F) -> F:
        """Register ``func(error, event)``, called when a handler raises.

        The request is still answered 500 so that the sender retries; use this
        to report the failure. An error handler that raises is logged and ignored.
        """
        return self.handlers.on_error(func)

    def handlers_for(self, name: str) -> Iterable[Handler]:
        """The handlers an event named ``name`` runs through, in order."""
        return self.handlers.handlers_for(name)


def _check_path(path: Any, name: str) -> str:
    if not isinstance(path, str) or not path.startswith("/") or "<" in path:
        raise ConfigurationError(f"{name} must be a fixed URL path starting with '/', not {path!r}")
    return path


def _receiver_from(config: Mapping[str, Any]) -> Receiver:
    return Receiver.from_settings(
        secret=config.get("HOOKWIRE_SECRET"),
        signature_file=config.get("HOOKWIRE_SIGNATURE_FILE"),
        public_key=config.get("HOOKWIRE_PUBLIC_KEY"),
        basic_auth=config.get("HOOKWIRE_BASIC_AUTH"),
        tolerance=config.get("HOOKWIRE_TOLERANCE"),
    )


def _max_body(configured: Any, given: int | None) -> int:
    """``HOOKWIRE_MAX_BODY`` (a number, or digits from the environment), else ``given``."""
    if configured is None or configured == "":
        return given or DEFAULT_MAX_BODY
    if isinstance(configured, str) and configured.strip().isdigit():
        configured = int(configured)
    if isinstance(configured, bool) or not isinstance(configured, int) or configured <= 0:
        raise ConfigurationError("HOOKWIRE_MAX_BODY must be a positive number of bytes")
    return configured


class _WsgiRequest:
    """A WSGI request as the core reads it: headers in place (no copy) and the body on demand."""

    __slots__ = ("_environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def get(self, name: str, default: Any = None) -> Any:
        """The value of header ``name`` (any case), or ``default``."""
        key = _ENVIRON_KEYS.get(name)
        if key is None:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
        return self._environ.get(key, default)

    def items(self) -> list[tuple[str, Any]]:
        """Every header as ``(Title-Case-Name, value)``, as werkzeug names them."""
        found = []
        for key, value in self._environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                found.append((key[5:].replace("_", "-").title(), value))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                found.append((key.replace("_", "-").title(), value))
        return found

    def read(self, limit: int, declared: int | None) -> bytes:
        """The body (see :data:`hookwire.listening.BodyReader`); a broken one raises OSError."""
        try:
            if declared is not None:
                # Straight from the server: werkzeug's stream wrapper costs more than the read.
                return _read_exactly(self._environ["wsgi.input"], declared)
            # Chunked (or unknown length): stream it, stopping as soon as it passes the cap.
            return _read_past(request.stream, limit)
        except ClientDisconnected as exc:
            raise OSError(str(exc)) from None


def _read_exactly(stream: Any, length: int) -> bytes:
    body = stream.read(length)
    while len(body) < length:
        more = stream.read(length - len(body))
        if not more:
            raise ValueError(f"it ended before its Content-Length of {length} bytes")
        body += more
    return bytes(body)


def _read_past(stream: Any, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size <= limit and (chunk := stream.read(_CHUNK)):
        size += len(chunk)
        parts.append(chunk)
    return b"".join(parts)


def _view(core: ListeningCore) -> Callable[[], Response]:
    """The Flask view of one URL: the request to the core, the core's answer to a Response."""

    def view() -> Response:
        environ = request.environ
        wsgi = _WsgiRequest(environ)
        if core.recorder is None:
            answer = core.handle(environ["REQUEST_METHOD"], wsgi, wsgi.read)
        else:
            answer = core.handle(
                environ["REQUEST_METHOD"],
                wsgi,
                wsgi.read,
                path=request.path,
                query=environ.get("QUERY_STRING", ""),
            )
        return _response(answer)

    return view


def _response(answer: Answer) -> Response:
    response = Response(answer.content, answer.status, content_type="application/json")
    if answer.headers:
        response.headers.update(answer.headers)
    if answer.close_connection:
        response.headers["Connection"] = "close"
    return response
