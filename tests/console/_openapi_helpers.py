"""Helpers for the tests that read ``ROUTES`` and the OpenAPI document.

``World`` is an account 1010 with a webhook, an event and a delivery (and an
account 2020 with a webhook of its own), whose ids fill any route's path.
``ask`` sends one request to a route and checks the answer against the
document: the body validates against the schema of the operation's answer for
that status (a problem against ``Problem``), in the media type the document
names.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response as BaseResponse

from hookwire.console.openapi import document
from hookwire.console.routing import Route
from hookwire.samples import sample_data
from hookwire.sender import Sender

API = "/api/v1"
ACCOUNT = 1010
OTHER_ACCOUNT = 2020
TARGET = "http://127.0.0.1:9/lms"


@dataclass(frozen=True)
class World:
    """Real ids of account 1010's resources, by the name a route's path gives them."""

    ids: dict[str, Any]

    def path(self, found: Route, **override: Any) -> str:
        """The route's URL with every path parameter filled from this world's ids."""
        values = {**self.ids, **override}
        missing = [name for name, _ in found.path_parameters if name not in values]
        assert not missing, f"{found.method} {found.path}: no id for {missing}; add it to World"
        return API + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), found.path)


def build_world(sender: Sender) -> World:
    """Account 1010 with a webhook, a published event and its delivery; 2020 with a webhook."""
    webhook = sender.webhooks.create(
        name="lms-main",
        target_url=TARGET,
        events=["COURSE_COMPLETED"],
        account_id=ACCOUNT,
    )
    sender.webhooks.create(
        name="other-lms", target_url=TARGET, events=["COURSE_COMPLETED"], account_id=OTHER_ACCOUNT
    )
    published = sender.publish(
        "COURSE_COMPLETED",
        data=sample_data("COURSE_COMPLETED", random.Random(7)),
        account_id=ACCOUNT,
    )
    delivery = sender.deliveries.list(webhook_id=webhook.id)[0]
    return World(
        {
            "account_id": ACCOUNT,
            "webhook_id": webhook.id,
            "event_id": published.event_id,
            "delivery_id": delivery.id,
            "event_name": "COURSE_COMPLETED",
        }
    )


def operation(found: Route) -> dict[str, Any]:
    """The route's operation object in the OpenAPI document."""
    found_op: dict[str, Any] = document()["paths"][found.openapi_path][found.method.lower()]
    return found_op


def check_answer(found: Route | None, response: BaseResponse) -> None:
    """Assert the answer is one the document describes (status, media type, body schema)
    and is not a server error.

    ``found`` None is a path no route takes: its answer must be a problem.
    """
    assert response.status_code < 500, response.get_data(as_text=True)
    doc = document()
    if found is None:
        answer = doc["components"]["responses"]["Problem"]
    else:
        responses = operation(found)["responses"]
        answer = responses.get(str(response.status_code), responses["default"])
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    if response.status_code == 204:
        assert "content" not in answer
        assert response.get_data() == b""
        return
    assert response.mimetype in answer["content"], (response.status_code, response.mimetype)
    schema = answer["content"][response.mimetype]["schema"]
    body = json.loads(response.get_data())
    Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
    if response.mimetype == "application/problem+json":
        assert body["status"] == response.status_code


def ask(client: FlaskClient, found: Route, url: str, **request: Any) -> TestResponse:
    """Send ``found``'s method to ``url`` and check the answer against the document."""
    response = client.open(url, method=found.method, **request)
    check_answer(found, response)
    return response


def route_named(routes: list[Route], view_name: str) -> Route:
    """The route whose view has this name (``list_webhooks``)."""
    matches = [found for found in routes if found.view.__name__ == view_name]
    assert matches, f"no route's view is named {view_name!r}"
    return matches[0]


def check_every_answer(app: Flask) -> None:
    """Check every API answer ``app`` gives against the document, as it is given.

    An answer the document does not describe raises AssertionError inside the
    request, which a testing app passes on to the test.
    """
    from hookwire.console.routing import ROUTES

    views = {f"hookwire_console.api_{found.view.__name__}": found for found in ROUTES}

    @app.after_request
    def matches_the_document(response: Response) -> Response:
        endpoint = request.endpoint or ""
        if endpoint in views:
            check_answer(views[endpoint], response)
        elif request.path.startswith(f"{API}/") and endpoint != "hookwire_console.api_openapi":
            check_answer(None, response)
        return response
