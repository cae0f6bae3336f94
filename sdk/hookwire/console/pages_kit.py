"""What every console page shares: access checks, CSRF, the security headers, rendering.

A page view is declared with :func:`page` and receives a :class:`PageCall`;
the wrapper finds the caller with :func:`access.authenticate` (the API's one
place that decides who asks), hides other accounts (404), checks the
capability (403) and, for a POST, the form's CSRF token, then renders
library errors as an HTML error page with the library's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..errors import NotFoundError, WebhookError
from . import access, audit, sessions
from .principal import Capability, Principal
from .problems import ApiError, from_library
from .routing import Call

if TYPE_CHECKING:
    from .state import ConsoleState

__all__ = ["PAGES", "Page", "PageCall", "error_page", "page", "secure_headers"]

_CSRF_SALT = "hookwire.console.page-csrf"


@dataclass(frozen=True)
class Page:
    """One page: its URL rule (below the console's prefix), view, capability and methods."""

    rule: str
    view: Callable[..., ResponseReturnValue]
    capability: Capability
    methods: tuple[str, ...]


PAGES: list[Page] = []
"""Every page, in the order the page modules declare them."""


def page(
    rule: str, *, capability: Capability = "read", methods: tuple[str, ...] = ("GET",)
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Declare a view ``view(call, **path_values)`` as the page at ``rule``."""

    def register(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        PAGES.append(Page(rule, view, capability, methods))
        return view

    return register


@dataclass
class PageCall(Call):
    """What a page view is given: an API view's :class:`Call` (the caller, the console's
    parts, the path's values, the audit entries), and the rendering of a page."""

    @property
    def can_manage(self) -> bool:
        """Whether the caller may change webhooks (read-only callers see no write controls)."""
        return self.principal.can("manage")

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """Render ``template`` with the caller, the account and a CSRF token in the context."""
        html = render_template(
            template,
            principal=self.principal,
            account_id=self.params.get("account_id"),
            can_manage=self.can_manage,
            csrf_token=csrf_token(self.state, self.principal),
            when=shown_time,
            **context,
        )
        return Response(html, status, mimetype="text/html")


def shown_time(moment: datetime | None) -> str:
    """A time as the pages show it: UTC, to the second."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def csrf_token(state: ConsoleState, principal: Principal) -> str:
    """The token every form of this caller carries in its ``csrf_token`` field.

    A session's token comes from :mod:`.sessions` (the API checks the same
    one); a host-login caller gets one signed with the console's key and bound
    to its name, so another site cannot post a page's form in its name.
    """
    if principal.via == "session":
        return str(sessions.csrf_token(state, principal))
    return str(_serializer(state).dumps(principal.name))


def _check_csrf(state: ConsoleState, principal: Principal) -> None:
    if principal.via == "session":
        access.check_csrf(state, principal, request)
        return
    token = request.form.get(access.CSRF_FIELD, "")
    lifetime = int(state.settings.session_lifetime.total_seconds())
    try:
        name = _serializer(state).loads(token, max_age=lifetime)
    except BadSignature:
        name = None
    if name != principal.name:
        raise ApiError(403, "this form lacks a valid CSRF token; reload the page and try again")


def _serializer(state: ConsoleState) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(state.settings.secret_key, salt=_CSRF_SALT)


def wrapped(found: Page) -> Callable[..., ResponseReturnValue]:
    """The Flask view of a page: access checks, then the view, then the audit rows."""
    from .app import current_state

    def view(**params: Any) -> ResponseReturnValue:
        state = current_state()
        try:
            principal = _allowed(state, found, params)
            if request.method == "POST":
                _check_csrf(state, principal)
            call = PageCall(principal, state, params)
            result = found.view(call, **params)
        except ApiError as exc:
            return error_page(exc.status, exc.detail, exc.hint)
        except WebhookError as exc:
            problem = from_library(exc)
            return error_page(problem.status, problem.detail, problem.hint)
        if call.audited:
            with state.engine.begin() as conn:
                audit.record(
                    conn, account_id=call.account_id, actor=principal.name, entries=call.audited
                )
        return result

    view.__name__ = f"page_{found.view.__name__}"
    return view


def _allowed(state: ConsoleState, found: Page, params: dict[str, Any]) -> Principal:
    principal = access.authenticate(state, request)
    if principal is None:
        raise ApiError(
            401,
            "you are not signed in to the console",
            hint="open the access link you were given (links work once and expire), or sign in "
            "to the platform",
        )
    if principal.via == "key":
        raise ApiError(
            403,
            "API keys are for the API; the pages open with an access link or the platform's login",
        )
    account_id = params.get("account_id")
    if account_id is not None and not principal.sees(account_id):
        raise NotFoundError(f"no account {account_id}")
    if not principal.can(found.capability):
        raise ApiError(
            403,
            f"this needs the '{found.capability}' capability; your access is read-only",
        )
    return principal


def error_page(status: int, detail: str, hint: str | None = None) -> Response:
    """An HTML page for an error: the status, the message and what to do."""
    html = render_template("error.html", status=status, detail=detail, hint=hint)
    response = Response(html, status, mimetype="text/html")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hookwire"'
    return response


def secure_headers(response: Response, frame_ancestors: str) -> Response:
    """Add the pages' Content-Security-Policy and its companions to an HTML answer."""
    if response.mimetype != "text/html":
        return response
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {frame_ancestors}"
    )
    ancestors = frame_ancestors.split()
    if ancestors == ["'none'"]:
        response.headers["X-Frame-Options"] = "DENY"
    elif ancestors == ["'self'"]:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    # Other lists have no X-Frame-Options equivalent; browsers that know CSP follow it.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
