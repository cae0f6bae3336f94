"""Helpers for the webhook resource's tests: bodies, URLs, a verifying listener, the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from hookwire import Receiver
from hookwire.console import tables
from hookwire.errors import VerificationError
from hookwire.sender import Sender

ACCOUNT = 1010
OTHER = 2020
WEBHOOKS = f"/api/v1/accounts/{ACCOUNT}/webhooks"
DEAD_TARGET = "http://127.0.0.1:9/lms"


def webhook_url(webhook_id: str, action: str = "", account_id: int = ACCOUNT) -> str:
    """The URL of one webhook, or of one of its actions (``test``, ``signature-file``...)."""
    url = f"/api/v1/accounts/{account_id}/webhooks/{webhook_id}"
    return f"{url}/{action}" if action else url


def create_body(**changes: Any) -> dict[str, Any]:
    """A valid create body, with ``changes`` (wire names) applied."""
    body: dict[str, Any] = {
        "name": "LMS sync",
        "description": "course completions for the HR system",
        "targetUrl": DEAD_TARGET,
        "events": ["COURSE_COMPLETED", "COURSE_ENROLLMENT"],
        "auth": {"type": "signature"},
    }
    body.update(changes)
    return body


def create(client: FlaskClient, *, account_id: int = ACCOUNT, **changes: Any) -> dict[str, Any]:
    """Create a webhook of ``account_id`` through the API; its 201 answer."""
    url = f"/api/v1/accounts/{account_id}/webhooks"
    response = client.post(url, json=create_body(**changes))
    assert response.status_code == 201, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def problem(response: Any, status: int) -> dict[str, Any]:
    """The problem document of ``response``, after checking its status and media type."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    return body


def audit_rows(sender: Sender) -> list[dict[str, Any]]:
    """Every audit row, oldest first, with ``detail`` parsed."""
    with sender.engine.connect() as conn:
        rows = conn.execute(select(tables.audit).order_by(tables.audit.c.id)).mappings().all()
    return [{**row, "detail": json.loads(row["detail"])} for row in rows]


def audit_text(sender: Sender) -> str:
    """Every audit row as one text, to search for values that must never be logged."""
    return json.dumps(audit_rows(sender), default=str)


@dataclass
class Listener:
    """A real HTTP listener on 127.0.0.1 that verifies each request with a ``Receiver``.

    It answers 200 and ``verified <event names>`` when the receiver accepts the
    request, 401 and the error's class name when it does not.
    """

    server: HTTPServer
    receiver: Receiver | None = None
    seen: list[dict[str, str]] = field(default_factory=list)
    answer: Callable[[], Response] | None = None

    @property
    def url(self) -> str:
        """The listener's URL (``/lms`` on 127.0.0.1)."""
        return self.server.url_for("/lms").replace("localhost", "127.0.0.1")

    def handle(self, request: Request) -> Response:
        """Record the headers, verify the request, answer what the check found."""
        self.seen.append(dict(request.headers))
        if self.answer is not None:
            return self.answer()
        if self.receiver is None:
            return Response("unverified", status=200)
        try:
            envelope = self.receiver.verify(request.get_data(), request.headers)
        except VerificationError as exc:
            return Response(type(exc).__name__, status=401)
        names = " ".join(event.event_name for event in envelope.events)
        return Response(f"verified {names}", status=200)


def start_listener(server: HTTPServer) -> Listener:
    """A :class:`Listener` answering every POST to ``/lms`` on ``server``."""
    listener = Listener(server)
    server.expect_request("/lms", method="POST").respond_with_handler(listener.handle)
    return listener
