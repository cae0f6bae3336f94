"""``Console``: the Flask extension that serves the management API (and, later, its pages).

The platform mounts it in its own app; everything not passed comes from
``app.config`` when :meth:`Console.init_app` runs::

    console = Console(sender=sender)          # or Console(app, sender=sender)
    console.init_app(app)                     # HOOKWIRE_CONSOLE_SECRET_KEY from app.config

The API lives under ``<url_prefix>/api/v1``. Every request goes through one
handler: find the caller, check the account and the capability, check CSRF for
a session's writes, validate the body and query, honour ``Idempotency-Key``,
run the view, write the audit log, answer JSON or a problem document.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..errors import ConfigurationError, WebhookError
from . import access, audit, idempotency, links
from .problems import PROBLEM_TYPE, ApiError, from_library, from_validation
from .routing import ROUTES, Call, InputModel, Route
from .state import Authorize, ConsoleSettings, ConsoleState

__all__ = ["API_PREFIX", "Console"]

log = logging.getLogger("hookwire.console")

API_PREFIX = "/api/v1"
_EXTENSION = "hookwire.console"
_MAX_BODY = 1 << 20


class Console:
    """The management API (and console pages) for one :class:`~hookwire.sender.Sender`.

    ``sender`` is the sender whose registry and delivery log the console
    manages; left out, ``init_app`` opens ``HOOKWIRE_CONSOLE_DB`` (a database
    URL). ``authorize`` is the host application's own login: a function from
    the request to a :class:`~hookwire.console.Principal` or None.
    ``url_prefix`` mounts the console below a path of the host app.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        sender: Any = None,
        authorize: Authorize | None = None,
        url_prefix: str = "",
    ) -> None:
        self._sender = sender
        self._authorize = authorize
        self._prefix = url_prefix.rstrip("/")
        self._state: ConsoleState | None = None
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"Console(url_prefix={self._prefix!r})"

    def init_app(self, app: Flask) -> None:
        """Read the settings from ``app.config``, create the console's tables, mount the API."""
        from . import api  # noqa: F401  (declares every route)
        from .tables import ensure_schema

        sender = self._sender or _sender_from_config(app.config)
        state = ConsoleState(sender, ConsoleSettings.from_config(app.config), self._authorize)
        ensure_schema(state.engine)
        self._state = state
        app.extensions[_EXTENSION] = state
        app.register_blueprint(_blueprint(), url_prefix=self._prefix or None)
        app.before_request(_unrouted_api_problem(self._prefix + API_PREFIX))

    @property
    def state(self) -> ConsoleState:
        """The console's parts once :meth:`init_app` has run."""
        if self._state is None:
            raise ConfigurationError("Console.init_app(app) has not run yet")
        return self._state

    def access_link(
        self,
        account_id: int,
        *,
        read_only: bool = False,
        ttl: timedelta | None = None,
        base_url: str = "",
    ) -> str:
        """A single-use link that opens ``account_id``'s console (read-only if asked) for ``ttl``
        (default ``HOOKWIRE_CONSOLE_LINK_TTL``): ``<base_url><url_prefix>/access?token=...``."""
        return links.access_url(
            self.state.settings,
            account_id,
            read_only=read_only,
            ttl=ttl,
            base_url=base_url,
            prefix=self._prefix,
        )


def _sender_from_config(config: Any) -> Any:
    url = config.get("HOOKWIRE_CONSOLE_DB")
    if not url:
        raise ConfigurationError(
            "the console needs a sender: Console(sender=...) or HOOKWIRE_CONSOLE_DB in app.config"
        )
    from ..sender import Sender

    return Sender(str(url))


def current_state() -> ConsoleState:
    """The console of the app handling the current request."""
    state: ConsoleState = current_app.extensions[_EXTENSION]
    return state


def _blueprint() -> Blueprint:
    from .pages import register_pages

    bp = Blueprint(
        "hookwire_console",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/_console/static",
    )
    for found in ROUTES:
        bp.add_url_rule(
            API_PREFIX + found.path,
            endpoint=f"api_{found.view.__name__}",
            view_func=_view_for(found),
            methods=[found.method],
        )
    bp.add_url_rule(API_PREFIX + "/openapi.json", "api_openapi", _openapi)
    bp.add_url_rule(links.ACCESS_PATH, "access", links.exchange_view, methods=["GET", "POST"])
    register_pages(bp)
    bp.register_error_handler(ApiError, _problem_response)
    bp.register_error_handler(HTTPException, _http_problem)
    return bp


def _view_for(found: Route) -> Callable[..., Response]:
    def view(**params: Any) -> Response:
        return _handle(found, params)

    view.__name__ = f"api_{found.view.__name__}"
    return view


def _openapi() -> Response:
    from .openapi import document

    prefix = request.path.removesuffix(API_PREFIX + "/openapi.json")
    return Response(_json_text(document(prefix)), mimetype="application/json")


def _handle(found: Route, params: dict[str, Any]) -> Response:
    state = current_state()
    principal = access.authenticate(state, request)
    if principal is None:
        raise ApiError(
            401,
            "not authenticated: send an API key as 'Authorization: Bearer <key>' or open an "
            "access link",
            headers={"WWW-Authenticate": 'Bearer realm="hookwire"'},
        )
    if found.account_scoped and not principal.sees(params["account_id"]):
        raise ApiError(404, f"no account {params['account_id']}")
    if not principal.can(found.capability):
        raise ApiError(403, f"this needs the '{found.capability}' capability, which you lack")
    if found.unsafe:
        access.check_csrf(state, principal, request)
    call = Call(principal, state, params)
    if found.body is not None:
        call.body = _body(found.body)
    if found.query is not None:
        call.query = _query(found.query)
    elif request.args:
        name = next(iter(request.args))
        raise ApiError(
            422,
            f"query.{name}: this route takes no query parameters",
            errors=[{"field": f"query.{name}", "message": "unknown parameter"}],
        )
    key = request.headers.get(idempotency.HEADER)
    if found.unsafe and key is not None:
        print_ = idempotency.fingerprint(found.method, request.path, request.get_data())
        status, text, replayed = idempotency.run_once(
            state.engine,
            principal.name,
            idempotency.check_key(key),
            print_,
            lambda: _run(found, call),
        )
    else:
        (status, text), replayed = _run(found, call), False
    response = _answer(status, text)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if found.download_name is not None and status < 300:
        name = found.download_name(call)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _run(found: Route, call: Call) -> tuple[int, str]:
    """Run the view: its answer, or the problem a library error makes of it; then the audit."""
    try:
        result = found.view(call)
    except WebhookError as exc:
        problem = from_library(exc)
        return problem.status, _json_text(problem.document(request.path))
    except ApiError as exc:
        return exc.status, _json_text(exc.document(request.path))
    if call.audited:
        with call.state.engine.begin() as conn:
            audit.record(
                conn, account_id=call.account_id, actor=call.principal.name, entries=call.audited
            )
    if result is None:
        return 204, ""
    return found.status, result.model_dump_json(by_alias=True)


def _body(model: type[InputModel]) -> InputModel:
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise ApiError(413, f"the body is over {_MAX_BODY} bytes")
    data = request.get_data(cache=True)
    if not data and not request.mimetype:
        data = b"{}"  # an optional body left out
    elif request.mimetype != "application/json":
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    if len(data) > _MAX_BODY:
        raise ApiError(413, f"the body is over {_MAX_BODY} bytes")
    try:
        return model.model_validate_json(data or b"{}")
    except ValidationError as exc:
        if any(item["type"] == "json_invalid" for item in exc.errors()):
            raise ApiError(400, "the body is not valid JSON") from None
        raise from_validation(exc, "body") from None


def _query(model: type[InputModel]) -> InputModel:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise from_validation(exc, "query") from None


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _answer(status: int, text: str) -> Response:
    problem = status >= 400
    response = Response(
        text or None, status, mimetype=PROBLEM_TYPE if problem else "application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _problem_response(exc: ApiError) -> Response:
    response = _answer(exc.status, _json_text(exc.document(request.path)))
    response.headers.update(exc.headers)
    return response


def _http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = {404: "no such API route", 405: "this route does not take that method"}.get(
        status, exc.description or "the request cannot be handled"
    )
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return _problem_response(ApiError(status, detail, headers=headers))


def _unrouted_api_problem(base: str) -> Callable[[], Response | None]:
    """A hook answering a problem for a path under ``base`` that no API route takes.

    Flask raises a routing error (404, or 405 for a route of another method)
    outside every blueprint, so the blueprint's error handlers never see it; it
    raises it after the before-request hooks, so this app-wide hook answers
    first. Every other path of the host app, and the host's own 404 handler,
    is left alone.
    """

    def hook() -> Response | None:
        exc = request.routing_exception
        if not isinstance(exc, NotFound | MethodNotAllowed):
            return None
        if request.path != base and not request.path.startswith(base + "/"):
            return None
        return _http_problem(exc)

    return hook
