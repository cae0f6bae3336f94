"""HTTP basic auth: the ``Authorization`` header a sender adds and a listener checks.

:mod:`hookwire.signing` re-exports both functions, and so does :mod:`hookwire`.

Example::

    >>> basic_auth_header("hooks", "s3cret")
    'Basic aG9va3M6czNjcmV0'
    >>> check_basic_auth("Basic aG9va3M6czNjcmV0", "hooks", "s3cret")
"""

from __future__ import annotations

import base64
import binascii
import hmac

from .errors import BasicAuthError

__all__ = ["basic_auth_header", "check_basic_auth"]


def basic_auth_header(username: str, password: str) -> str:
    """Return the ``Authorization`` header value for HTTP basic auth."""
    # binascii directly: the sender builds this header for every basic-auth attempt.
    return "Basic " + binascii.b2a_base64(f"{username}:{password}".encode(), newline=False).decode()


def check_basic_auth(header: str | None, username: str, password: str) -> None:
    """Raise :class:`BasicAuthError` unless ``header`` carries exactly these credentials.

    Both parts are compared in constant time, and both always are, so the
    time taken does not tell which one was wrong.
    """
    if not header:
        raise BasicAuthError("the Authorization header is missing; send basic credentials")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip().isascii():
        raise BasicAuthError("the Authorization header is not Basic credentials")
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BasicAuthError("the Authorization header is not valid base64") from exc
    given_user, sep, given_password = decoded.partition(b":")
    user_ok = hmac.compare_digest(given_user, username.encode())
    password_ok = hmac.compare_digest(given_password, password.encode())
    if not (sep and user_ok and password_ok):
        raise BasicAuthError("the basic auth username or password is wrong")
