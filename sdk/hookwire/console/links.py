"""Access links: a signed URL that opens one account's console once, for a short time.

The platform (or an operator, with ``hookwire console link``) makes a link for
an account's admin; opening it exchanges the link for a session cookie
(:mod:`.sessions`) and redirects to the console. A link carries its account,
whether it is read-only, a random nonce and its own expiry, signed with the
console's secret key. It works once: the nonce is recorded when the link is
exchanged, and a second exchange is refused.

Opening a link (GET) shows a page with one button; pressing it (a POST from
the same site) exchanges the link. Mail scanners and chat previews fetch links
with GET, so they cannot use a link up before its person opens it, and another
site cannot post its own link to sign a visitor into its account.

A link that cannot be exchanged answers 401 (it proves nothing about the
caller) with a ``reason`` the pages can word for people:

- ``invalid``: the link was changed or cut short, or made with another secret key;
- ``expired``: the link is older than its time to live;
- ``used``: the link has been exchanged already.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import redirect, request
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from ..errors import ConfigurationError
from ..sender.models import check_account_id
from . import sessions, tables
from .problems import ApiError

if TYPE_CHECKING:
    from .state import ConsoleSettings, ConsoleState

__all__ = [
    "ACCESS_PATH",
    "MAX_LINK_TTL",
    "Link",
    "access_url",
    "exchange",
    "exchange_view",
    "make_link_token",
    "read_link",
]

ACCESS_PATH = "/access"
"""Where a link is exchanged, under the console's URL prefix."""

MAX_LINK_TTL = timedelta(days=7)
"""The longest a link may work: a link is a credential in an email or a chat."""

_SALT = "hookwire.console.access-link"
# Nonces of links that expired this long ago are deleted: such a link is refused as expired
# first, with this much room for clocks of several servers that disagree.
_NONCE_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class Link:
    """What a valid link says: whose console it opens, how, until when (its nonce aside)."""

    account_id: int
    read_only: bool
    nonce: str
    expires_at: datetime

    def __repr__(self) -> str:
        return (
            f"Link(account_id={self.account_id}, read_only={self.read_only}, "
            f"expires_at={self.expires_at.isoformat()})"
        )


def _serializer(settings: ConsoleSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def make_link_token(
    settings: ConsoleSettings,
    account_id: int,
    *,
    read_only: bool = False,
    ttl: timedelta | None = None,
) -> str:
    """A signed, single-use token that opens ``account_id``'s console for ``ttl``.

    ``ttl`` defaults to ``settings.link_ttl`` and is at most :data:`MAX_LINK_TTL`;
    a bad account or ttl raises :class:`~hookwire.ConfigurationError`.
    """
    account = check_account_id(account_id, ConfigurationError)
    ttl = settings.link_ttl if ttl is None else ttl
    if not timedelta(0) < ttl <= MAX_LINK_TTL:
        raise ConfigurationError("an access link's ttl must be more than 0 and at most 7 days")
    expires = datetime.now(UTC) + ttl
    payload = {
        "a": account,
        "r": bool(read_only),
        "n": secrets.token_urlsafe(16),
        "e": expires.timestamp(),
    }
    return _serializer(settings).dumps(payload)


def access_url(
    settings: ConsoleSettings,
    account_id: int,
    *,
    read_only: bool = False,
    ttl: timedelta | None = None,
    base_url: str = "",
    prefix: str = "",
) -> str:
    """A new link: ``<base_url><prefix>/access?token=...`` (see :func:`make_link_token`)."""
    token = make_link_token(settings, account_id, read_only=read_only, ttl=ttl)
    return f"{base_url.rstrip('/')}{prefix}{ACCESS_PATH}?{urlencode({'token': token})}"


def read_link(settings: ConsoleSettings, token: str) -> Link:
    """The link ``token`` holds if it is genuine and unexpired; else a 401 saying which."""
    try:
        payload = _serializer(settings).loads(token, max_age=int(MAX_LINK_TTL.total_seconds()) + 1)
    except SignatureExpired:
        raise _refused("expired") from None
    except BadData:
        raise _refused("invalid") from None
    link = _link(payload)
    if link is None:
        raise _refused("invalid")
    if link.expires_at <= datetime.now(UTC):
        raise _refused("expired")
    return link


def _link(payload: Any) -> Link | None:
    if not isinstance(payload, dict):
        return None
    account, read_only, nonce, expires = (payload.get(k) for k in ("a", "r", "n", "e"))
    if isinstance(account, bool) or not isinstance(account, int):
        return None
    if not isinstance(read_only, bool) or not isinstance(nonce, str) or not 0 < len(nonce) <= 64:
        return None
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    return Link(account, read_only, nonce, datetime.fromtimestamp(expires, UTC))


def exchange(state: ConsoleState, token: str) -> str:
    """Exchange a link for a new session: the session's token (for its cookie).

    Refused with a 401 problem whose ``reason`` is ``invalid``, ``expired`` or ``used``.
    """
    link = read_link(state.settings, token)
    now = datetime.now(UTC)
    nonces = tables.nonces
    try:
        with state.engine.begin() as conn:
            conn.execute(delete(nonces).where(nonces.c.expires_at < now - _NONCE_MARGIN))
            conn.execute(
                insert(nonces).values(nonce=link.nonce, used_at=now, expires_at=link.expires_at)
            )
            return sessions.create_session(
                conn, state.settings, link.account_id, read_only=link.read_only
            )
    except IntegrityError:
        raise _refused("used") from None


_REASONS = {
    "invalid": "this access link is not valid: it was changed or cut short, or made with "
    "another secret key",
    "expired": "this access link has expired",
    "used": "this access link has been used already; a link opens the console once",
}


def _refused(reason: str) -> ApiError:
    return ApiError(
        401, _REASONS[reason], hint="ask for a new access link", extra={"reason": reason}
    )


def exchange_view() -> Response:
    """``<prefix>/access?token=...[&next=/path]``: GET shows the page that opens the console,
    POST (the page's button, or a script) sets the session cookie and redirects (303).

    The redirect goes to ``next`` if given, which must be a path on this site
    (anything else is a 400, and the link is kept), else to the console's start
    page. A refusal is an HTML error page for a browser, a problem document
    for anything else.
    """
    from .app import current_state
    from .pages_kit import error_page

    try:
        state = current_state()
        return _exchange(state) if request.method == "POST" else _confirm(state)
    except ApiError as exc:
        if request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html":
            raise
        return error_page(exc.status, exc.detail, exc.hint)


def _token() -> str:
    token = request.form.get("token") or request.args.get("token")
    if not token:
        raise ApiError(
            400,
            "the access link has no token",
            errors=[{"field": "query.token", "message": "required"}],
        )
    return token


def _confirm(state: ConsoleState) -> Response:
    """The page with the button that opens the console; a link that cannot work is refused."""
    from flask import render_template

    token = _token()
    link = read_link(state.settings, token)
    next_path = request.args.get("next")
    _local_target(next_path, "/")
    with state.reading() as conn:
        used = conn.execute(
            select(tables.nonces.c.nonce).where(tables.nonces.c.nonce == link.nonce)
        ).first()
    if used is not None:
        raise _refused("used")
    html = render_template(
        "access.html",
        account=link.account_id,
        read_only=link.read_only,
        token=token,
        next=next_path,
        action=request.script_root + request.path,
        principal=None,
        account_id=None,
    )
    response = Response(html, 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _same_site() -> None:
    """Refuse an exchange a browser posts from another site (login CSRF)."""
    origin = request.headers.get("Origin")
    cross = request.headers.get("Sec-Fetch-Site") == "cross-site" or (
        origin not in (None, "null") and urlsplit(origin).netloc != request.host
    )
    if cross:
        raise ApiError(403, "an access link opens only from this site's own page")


def _exchange(state: ConsoleState) -> Response:
    _same_site()
    token = _token()
    base = request.script_root + request.path[: -len(ACCESS_PATH)]
    target = _local_target(request.form.get("next") or request.args.get("next"), base + "/")
    session_token = exchange(state, token)
    response = redirect(target, code=303)
    sessions.set_cookie(response, state, session_token, path=base or "/", secure=request.is_secure)
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_target(value: str | None, default: str) -> str:
    """``value`` if it is a path on this site (``/...``, never ``//host`` or a URL), else a 400."""
    if value is None:
        return default
    parts = urlsplit(value)
    local = (
        value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not parts.scheme
        and not parts.netloc
        and all(ch.isprintable() and not ch.isspace() for ch in value)
    )
    if not local:
        raise ApiError(
            400,
            "next must be a path on this site, such as /accounts/1010",
            errors=[{"field": "query.next", "message": "not a path on this site"}],
        )
    return value
