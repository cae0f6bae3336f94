"""Sessions: what an access link is exchanged for, carried by a signed cookie.

A session belongs to one account, reads it and (unless read-only) manages
it, and lasts ``session_lifetime``. The cookie carries a random token signed
with the console's secret key; the database keeps only the token's SHA-256
digest. A session's writes need its CSRF token (:func:`csrf_token`), so another
site cannot make the browser write with the cookie. Rotating the secret key
voids every cookie; :func:`end_sessions` ends an account's sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Connection, Engine, delete, insert, select, update

from ..sender.rows import new_id
from . import tables
from .principal import Capability, Principal

if TYPE_CHECKING:
    from flask import Request
    from werkzeug.wrappers import Response

    from .state import ConsoleSettings, ConsoleState

__all__ = [
    "COOKIE_NAME",
    "create_session",
    "csrf_ok",
    "csrf_token",
    "end_sessions",
    "principal_for_request",
    "set_cookie",
]

COOKIE_NAME = "hookwire_console_session"
_COOKIE_SALT = "hookwire.console.session"
# Namespaced: the secret key may be the host app's SECRET_KEY, which other extensions sign with.
_CSRF_SALT = "hookwire.console.csrf"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signer(settings: ConsoleSettings, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=salt)


def create_session(
    conn: Connection, settings: ConsoleSettings, account_id: int, *, read_only: bool
) -> str:
    """Start a session of ``account_id`` in the caller's transaction; returns its token,
    which only the cookie keeps.

    Sessions that have expired are deleted on the way: they can never be used again.
    """
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    rows = tables.sessions
    conn.execute(delete(rows).where(rows.c.expires_at < now))
    conn.execute(
        insert(rows).values(
            id=new_id("ses"),
            digest=_digest(token),
            account_id=account_id,
            read_only=read_only,
            created_at=now,
            expires_at=now + settings.session_lifetime,
        )
    )
    return token


def set_cookie(
    response: Response, state: ConsoleState, token: str, *, path: str, secure: bool
) -> None:
    """Put the session's signed token in its cookie: HttpOnly, SameSite=Lax, under ``path``."""
    response.set_cookie(
        COOKIE_NAME,
        _signer(state.settings, _COOKIE_SALT).dumps(token),
        max_age=int(state.settings.session_lifetime.total_seconds()),
        path=path,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


def principal_for_request(state: ConsoleState, request: Request) -> Principal | None:
    """The caller a session cookie proves; None without one, or for one that is not valid,
    was signed with another secret key, has expired or was ended."""
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    try:
        token = _signer(state.settings, _COOKIE_SALT).loads(cookie)
    except BadData:
        return None
    if not isinstance(token, str):
        return None
    rows = tables.sessions
    with state.reading() as conn:
        row = conn.execute(
            select(rows.c.id, rows.c.account_id, rows.c.read_only).where(
                rows.c.digest == _digest(token),
                rows.c.ended_at.is_(None),
                rows.c.expires_at > datetime.now(UTC),
            )
        ).first()
    if row is None:
        return None
    session_id, account_id, read_only = row
    capabilities: frozenset[Capability] = frozenset({"read"} if read_only else {"read", "manage"})
    return Principal(
        name=f"session:{account_id}:{session_id[-8:]}",
        accounts=frozenset({int(account_id)}),
        capabilities=capabilities,
        via="session",
        session_id=session_id,
    )


def csrf_token(state: ConsoleState, principal: Principal) -> str:
    """The CSRF token a session's writes carry (``X-CSRF-Token``): its id, signed."""
    if principal.session_id is None:
        raise ValueError("only a session has a CSRF token")
    return _signer(state.settings, _CSRF_SALT).dumps(principal.session_id)


def csrf_ok(state: ConsoleState, principal: Principal, token: str) -> bool:
    """Whether ``token`` is the CSRF token of ``principal``'s session."""
    if principal.session_id is None:
        return False
    try:
        found = _signer(state.settings, _CSRF_SALT).loads(token)
    except BadData:
        return False
    return isinstance(found, str) and hmac.compare_digest(found, principal.session_id)


def end_sessions(engine: Engine, account_id: int) -> int:
    """End every live session of ``account_id`` now; returns how many were ended.

    For an account whose admins lost access on the platform. The console's
    tables are created first when missing.
    """
    tables.ensure_schema(engine)
    rows = tables.sessions
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ended = conn.execute(
            update(rows)
            .where(
                rows.c.account_id == account_id,
                rows.c.ended_at.is_(None),
                rows.c.expires_at > now,
            )
            .values(ended_at=now)
        )
    return int(ended.rowcount)
