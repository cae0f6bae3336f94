"""Who is asking: the one place every console request's caller is found and checked.

Three ways, tried in this order:

1. ``Authorization: Bearer <key>``: an operator's API key (:mod:`.keys`).
2. The session cookie an access link was exchanged for (:mod:`.sessions`).
3. The host application's ``authorize(request)`` hook, for a platform that
   already has its own login.

A request with none of them is not authenticated (401). A write made with a
session cookie must carry the session's CSRF token (the ``X-CSRF-Token``
header, or the ``csrf_token`` form field).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import keys, sessions
from .principal import Principal
from .problems import ApiError

if TYPE_CHECKING:
    from flask import Request

    from .state import ConsoleState

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "authenticate", "check_csrf"]

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_BEARER = "bearer "


def authenticate(state: ConsoleState, request: Request) -> Principal | None:
    """The caller of ``request``, or None; a key or cookie that is not valid is a 401."""
    header = request.headers.get("Authorization")
    if header is not None and header[: len(_BEARER)].lower() == _BEARER:
        principal = keys.principal_for_key(state, header[len(_BEARER) :].strip())
        if principal is None:
            raise ApiError(
                401,
                "the API key is not valid (unknown, revoked or malformed)",
                headers={"WWW-Authenticate": 'Bearer realm="hookwire"'},
            )
        return principal
    principal = sessions.principal_for_request(state, request)
    if principal is not None:
        return principal
    if state.authorize is not None:
        return state.authorize(request)
    return None


def check_csrf(state: ConsoleState, principal: Principal, request: Request) -> None:
    """Refuse (403) a session's write that lacks its CSRF token; other callers pass."""
    if principal.via != "session":
        return
    token = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not token or not sessions.csrf_ok(state, principal, token):
        raise ApiError(
            403,
            f"this write needs the session's CSRF token (the {CSRF_HEADER} header or the "
            f"{CSRF_FIELD} form field)",
        )
