"""post_webhook: one request, one kind of answer, whatever it is posted to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Flask, redirect
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.test import Client

from hookwire import Receiver, generate_secret
from hookwire.flask import WebhookListener
from hookwire.testing import make_envelope, make_event, post_webhook, signed_request

SECRET = generate_secret()
ENVELOPE = make_envelope(make_event("COURSE_ENROLLMENT", event_id="e1"))


def flask_app() -> Flask:
    app = Flask("post")
    WebhookListener(app, receiver=Receiver(secret=SECRET))
    return app


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A plain WSGI app that answers with what it was sent."""
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    seen = (
        f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ['CONTENT_TYPE']} "
        f"{environ['HTTP_WEBHOOK_ID']} {len(body)}"
    )
    start_response("201 Created", [("X-Seen", seen)])
    return [b"ok"]


def test_flask_test_client_gets_the_listeners_answer() -> None:
    response = post_webhook(flask_app().test_client(), ENVELOPE, secret=SECRET)
    assert response.status == 202
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert response.headers["content-type"] == "application/json"


def test_flask_app_itself_is_posted_to_through_its_test_client() -> None:
    assert post_webhook(flask_app(), ENVELOPE, secret=SECRET).status == 202


def test_werkzeug_client_is_posted_to() -> None:
    assert post_webhook(Client(flask_app()), ENVELOPE, secret=SECRET).status == 202


def test_plain_wsgi_app_gets_the_request_as_signed() -> None:
    request = signed_request(ENVELOPE, secret=SECRET, msg_id="msg_fixed")
    response = post_webhook(echo_app, request, path="/in")
    assert response.status == 201
    assert response.text == "ok"
    assert response.headers["x-seen"] == f"POST /in application/json msg_fixed {len(request.body)}"


def test_url_is_posted_to_over_http(httpserver: HTTPServer) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response('{"ok": true}', 202, content_type="application/json")

    httpserver.expect_request("/hooks", method="POST").respond_with_handler(handler)
    request = signed_request(ENVELOPE, secret=SECRET)
    response = post_webhook(httpserver.url_for("/hooks"), request)
    assert (response.status, response.json()) == (202, {"ok": True})
    assert seen[0].get_data() == request.body
    assert seen[0].headers["webhook-signature"] == request.headers["webhook-signature"]


def test_url_error_status_is_returned_not_raised(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hooks").respond_with_json({"error": "bad"}, status=401)
    response = post_webhook(httpserver.url_for("/hooks"), ENVELOPE, secret=SECRET)
    assert (response.status, response.json()) == (401, {"error": "bad"})


def test_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hooks").respond_with_handler(
        lambda request: redirect("/elsewhere", 307)
    )
    response = post_webhook(httpserver.url_for("/hooks"), ENVELOPE, secret=SECRET)
    assert response.status == 307
    assert response.headers["location"].endswith("/elsewhere")


def test_tamper_keyword_signs_then_spoils() -> None:
    response = post_webhook(flask_app().test_client(), ENVELOPE, secret=SECRET, tamper="stale")
    assert response.status == 401


def test_non_http_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        post_webhook("file:///etc/passwd", ENVELOPE)


def test_unknown_target_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="test client, a WSGI app or an http"):
        post_webhook(42, ENVELOPE)
