"""Posting a webhook request to a test client, a WSGI app or a URL, with one kind of answer.

:func:`post_webhook` takes a Flask (or werkzeug) test client, a Flask app, any
WSGI callable, or an ``http(s)://`` URL, and returns a :class:`WebhookResponse`
whatever it posted to. It needs nothing beyond the standard library: a plain
WSGI app gets an environ built here, a URL goes through :mod:`urllib.request`.

Example::

    response = post_webhook(app.test_client(), envelope, secret="whsec_...")
    assert response.status == 202
    assert response.json() == {"accepted": 1, "duplicates": 0}
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..signature_file import SignatureFile
from .signed import SignedRequest, signed_request

__all__ = ["DEFAULT_PATH", "WebhookResponse", "post_webhook"]

DEFAULT_PATH = "/webhooks"
"""Where requests go on a test client or app when no ``path`` is given (the listener's default)."""


@dataclass(frozen=True)
class WebhookResponse:
    """What a listener answered: ``status``, ``headers`` (lower-case names) and raw ``body``."""

    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises :class:`ValueError` if it is not JSON."""
        return json.loads(self.body)


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _via_test_client(client: Any, path: str, request: SignedRequest) -> WebhookResponse:
    answer = client.open(path, method=request.method, data=request.body, headers=request.headers)
    return WebhookResponse(
        status=answer.status_code, headers=_lower(answer.headers.items()), body=answer.get_data()
    )


def _environ(path: str, request: SignedRequest) -> dict[str, Any]:
    from wsgiref.util import setup_testing_defaults

    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    setup_testing_defaults(environ)
    return environ


def _via_wsgi(
    app: Callable[..., Iterable[bytes]], path: str, request: SignedRequest
) -> WebhookResponse:
    started: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return chunks.append

    result = app(_environ(path, request), start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return WebhookResponse(
        status=int(status.split()[0]), headers=_lower(headers), body=b"".join(chunks)
    )


def _via_url(url: str, request: SignedRequest, timeout: float) -> WebhookResponse:
    import urllib.error
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        # A 3xx answer is a failure on the wire: report it, as senders do.
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirects)
    # post_webhook has checked the scheme: http(s) only.
    sent = urllib.request.Request(  # noqa: S310
        url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with opener.open(sent, timeout=timeout) as answer:
            return WebhookResponse(
                status=answer.status, headers=_lower(answer.headers.items()), body=answer.read()
            )
    except urllib.error.HTTPError as error:
        with error:
            return WebhookResponse(
                status=error.code, headers=_lower(error.headers.items()), body=error.read()
            )


def post_webhook(
    target: Any,
    request_or_envelope: SignedRequest | Mapping[str, Any] | bytes | str,
    *,
    path: str = DEFAULT_PATH,
    timeout: float = 10,
    secret: str | None = None,
    signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
    private_key: str | None = None,
    basic_auth: str | tuple[str, str] | None = None,
    msg_id: str | None = None,
    timestamp: int | datetime | None = None,
    tamper: str | None = None,
) -> WebhookResponse:
    """Post one webhook request to ``target`` and return its answer.

    ``target`` is a test client (anything with ``open``, as Flask's and
    werkzeug's have), an app with ``test_client()`` (Flask), any other WSGI
    callable, or an ``http://``/``https://`` URL (posted to as it is, with
    ``timeout`` seconds; ``path`` is for the other kinds). A
    :class:`SignedRequest` is sent as it is; an envelope or body is signed
    first by :func:`signed_request` with the credential keywords, which mean
    what they mean there. Redirects are not followed.
    """
    if isinstance(request_or_envelope, SignedRequest):
        request = request_or_envelope
    else:
        request = signed_request(
            request_or_envelope,
            secret=secret,
            signature_file=signature_file,
            private_key=private_key,
            basic_auth=basic_auth,
            msg_id=msg_id,
            timestamp=timestamp,
            tamper=tamper,
        )
    if isinstance(target, str):
        if urlsplit(target).scheme not in ("http", "https"):
            raise ValueError(f"post_webhook posts to http(s) URLs, not {target!r}")
        return _via_url(target, request, timeout)
    if hasattr(target, "open") and hasattr(target, "application"):
        return _via_test_client(target, path, request)
    if hasattr(target, "test_client"):
        return _via_test_client(target.test_client(), path, request)
    if callable(target):
        return _via_wsgi(target, path, request)
    raise TypeError(
        "post_webhook needs a test client, a WSGI app or an http(s) URL, "
        f"not {type(target).__name__}"
    )
