"""Helpers for the access tests: keys, links, cookies and CSRF tokens of a console harness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from threading import Thread
from typing import Any
from urllib.parse import parse_qs, urlsplit

from console_support import ConsoleHarness
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from hookwire.console import Console, keys, sessions
from hookwire.console.server import RedactingRequestHandler

ACCOUNT = 1010
OTHER = 2020
NEW_WEBHOOK = {
    "name": "sink",
    "targetUrl": "http://127.0.0.1:9/x",
    "events": ["COURSE_COMPLETED"],
}


def webhooks(account: int = ACCOUNT) -> str:
    """The API path of an account's webhooks."""
    return f"/api/v1/accounts/{account}/webhooks"


def make_key(
    harness: ConsoleHarness,
    *,
    name: str = "ci",
    accounts: tuple[int, ...] | None = (ACCOUNT,),
    read_only: bool = False,
) -> tuple[keys.KeyInfo, str]:
    """A new API key in the harness's database: its info and the key."""
    return keys.create_key(harness.sender.engine, name=name, accounts=accounts, read_only=read_only)


def bearer(token: str) -> dict[str, str]:
    """The header that sends an API key."""
    return {"Authorization": f"Bearer {token}"}


def open_link(
    harness: ConsoleHarness, *, read_only: bool = False, account: int = ACCOUNT
) -> FlaskClient:
    """A client holding the session cookie of a freshly exchanged link."""
    client = harness.client
    answer = client.post(harness.console.access_link(account, read_only=read_only))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client


def link_token(link: str) -> str:
    """The token of an access link."""
    return parse_qs(urlsplit(link).query)["token"][0]


def other_app(harness: ConsoleHarness, secret_key: str) -> Flask:
    """Another app mounting the console over the harness's database, with its own secret key."""
    app = Flask("other-console")
    app.config.update(TESTING=True, HOOKWIRE_CONSOLE_SECRET_KEY=secret_key)
    Console(app, sender=harness.sender)
    return app


def session_cookie(client: FlaskClient) -> str:
    """The value of the client's session cookie."""
    cookie = client.get_cookie(sessions.COOKIE_NAME)
    assert cookie is not None
    return cookie.value


def csrf_for(harness: ConsoleHarness, client: FlaskClient) -> dict[str, str]:
    """The ``X-CSRF-Token`` header of the client's session (as the pages would embed it)."""
    state = harness.console.state
    cookie = f"{sessions.COOKIE_NAME}={session_cookie(client)}"
    with harness.app.test_request_context(headers={"Cookie": cookie}):
        principal = sessions.principal_for_request(state, request)
    assert principal is not None
    return {"X-CSRF-Token": sessions.csrf_token(state, principal)}


def problem(answer: TestResponse) -> dict[str, Any]:
    """The answer's JSON document (a problem, in these tests)."""
    document = answer.get_json()
    assert isinstance(document, dict), answer.get_data(as_text=True)
    return document


def cookie_header(answer: TestResponse) -> str:
    """The ``Set-Cookie`` header that sets the session cookie."""
    found = [
        value
        for value in answer.headers.getlist("Set-Cookie")
        if value.startswith(sessions.COOKIE_NAME + "=")
    ]
    assert len(found) == 1, answer.headers
    return str(found[0])


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 with the redacting request log; yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=RedactingRequestHandler
    )
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
