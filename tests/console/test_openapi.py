"""The OpenAPI document: valid OpenAPI 3.1, every route in it, and the API answering as it says.

The scenario drives every route in ``ROUTES`` to a successful answer and checks
each answer (and the problems on the way) against the operation's schema in the
document; a route the scenario does not reach fails the test, so a new route
needs a step here.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from _openapi_helpers import ACCOUNT, TARGET, World, ask, build_world, check_answer, route_named
from console_support import ConsoleHarness, admin, operator
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from hookwire.console import api as _api  # noqa: F401  (declares every route)
from hookwire.console.openapi import document
from hookwire.console.routing import ROUTES, Route
from hookwire.samples import sample_data


def test_the_document_is_valid_openapi_3_1() -> None:
    spec = document()
    validate(spec)
    assert spec["openapi"] == "3.1.0"


def test_every_route_is_an_operation_with_a_unique_operation_id() -> None:
    spec = document()
    ids = []
    for found in ROUTES:
        operation = spec["paths"][found.openapi_path][found.method.lower()]
        assert operation["summary"] == found.summary
        assert operation["x-capability"] == found.capability
        ids.append(operation["operationId"])
    assert len(set(ids)) == len(ROUTES) == sum(len(ops) for ops in spec["paths"].values())


@pytest.mark.parametrize("found", ROUTES, ids=lambda found: f"{found.method} {found.path}")
def test_each_operation_declares_its_path_query_and_body(found: Route) -> None:
    operation = document()["paths"][found.openapi_path][found.method.lower()]
    parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    for name in found.openapi_path.split("{")[1:]:
        assert ("path", name.split("}")[0]) in parameters
    if found.query is not None:
        for field_name, field in found.query.model_fields.items():
            assert ("query", field.alias or field_name) in parameters
    assert ("header", "Idempotency-Key") in parameters if found.unsafe else True
    assert ("requestBody" in operation) == (found.body is not None)
    success = "204" if found.response is None else str(found.status)
    assert success in operation["responses"]
    assert "401" in operation["responses"]


def test_problems_share_one_schema_as_problem_json() -> None:
    spec = document()
    for response in spec["components"]["responses"].values():
        assert response["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }


def test_the_api_serves_the_document(console: ConsoleHarness) -> None:
    response = console.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == json.loads(json.dumps(document()))


def test_the_document_is_built_once() -> None:
    assert document() is document()


class Scenario:
    """Runs routes by view name, checks each answer against the document, notes the ones done."""

    def __init__(self, client: FlaskClient, world: World) -> None:
        self.client = client
        self.world = world
        self.done: set[str] = set()

    def run(self, view: str, *, params: dict[str, Any] | None = None, **request: Any) -> Any:
        """A successful answer's JSON (None for 204) of the route whose view is ``view``."""
        found = route_named(ROUTES, view)
        response = ask(self.client, found, self.world.path(found, **(params or {})), **request)
        assert response.status_code < 300, (view, response.get_data(as_text=True))
        assert response.status_code == (204 if found.response is None else found.status)
        self.done.add(view)
        return None if response.status_code == 204 else response.get_json()

    def fail(
        self, view: str, status: int, *, params: dict[str, Any] | None = None, **request: Any
    ) -> TestResponse:
        """Run a route expecting a problem with ``status``."""
        found = route_named(ROUTES, view)
        response = ask(self.client, found, self.world.path(found, **(params or {})), **request)
        assert response.status_code == status, response.get_data(as_text=True)
        return response


def _webhooks(scenario: Scenario) -> str:
    created = scenario.run(
        "create_webhook",
        json={
            "name": "lms-signed",
            "targetUrl": TARGET,
            "events": ["COURSE_COMPLETED"],
            "auth": {"type": "signature"},
        },
    )
    hook = {"webhook_id": created["id"]}
    assert created["signatureFile"]["secret"]
    listed = scenario.run("list_webhooks")
    assert created["id"] in [item["id"] for item in listed["items"]]
    scenario.run("get_webhook", params=hook)
    scenario.run("update_webhook", params=hook, json={"description": "the LMS"})
    scenario.run("retire_webhook", params=hook)
    scenario.run("activate_webhook", params=hook)
    scenario.run("test_webhook", params=hook)
    scenario.run("rotate_webhook_secret", params=hook, json={"graceSeconds": 60})
    scenario.run("download_signature_file", params=hook)
    return str(created["id"])


def _catalogue(scenario: Scenario) -> None:
    scenario.run("list_event_types")
    scenario.run("get_event_type")


def _events(scenario: Scenario) -> None:
    data = sample_data("COURSE_COMPLETED", random.Random(11))
    published = scenario.run("publish_event", json={"eventName": "COURSE_COMPLETED", "data": data})
    assert len(published["webhookIds"]) == 2
    listed = scenario.run("list_events", query_string={"limit": 1})
    assert len(listed["items"]) == 1
    assert listed["nextCursor"]
    scenario.run("get_event", params={"event_id": published["eventId"]})


def _deliveries(scenario: Scenario, webhook_id: str) -> None:
    seen, cursor = [], None
    while True:
        query = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = scenario.run("list_deliveries", query_string=query)
        seen += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    scenario.run("get_delivery")
    scenario.run("redeliver")
    scenario.run(
        "recover", params={"webhook_id": webhook_id}, json={"since": "2026-01-01T00:00:00Z"}
    )


def _reports(scenario: Scenario, webhook_id: str) -> None:
    scenario.run("webhook_stats", params={"webhook_id": webhook_id})
    scenario.run("account_stats", query_string={"windowHours": 48})
    audit = scenario.run("list_audit", query_string={"webhookId": webhook_id})
    assert "webhook.created" in [entry["action"] for entry in audit["items"]]


def _problems(scenario: Scenario) -> None:
    missing = scenario.fail("get_webhook", 404, params={"webhook_id": "wh_missing"})
    assert "wh_missing" in missing.get_json()["detail"]
    bad = scenario.fail("create_webhook", 422, json={"name": "x", "targetUrl": "ftp://x"})
    assert {error["field"] for error in bad.get_json()["errors"]} >= {"targetUrl", "events"}
    scenario.fail("update_webhook", 415, data="name=x", content_type="text/plain")
    scenario.fail("list_deliveries", 422, query_string={"cursor": "not-a-cursor"})
    scenario.fail("list_events", 422, query_string={"limit": "0"})


def test_every_route_answers_as_the_document_says(console_on: ConsoleHarness) -> None:
    scenario = Scenario(console_on.as_(operator()), build_world(console_on.sender))
    _catalogue(scenario)
    webhook_id = _webhooks(scenario)
    _events(scenario)
    _deliveries(scenario, webhook_id)
    _reports(scenario, webhook_id)
    _problems(scenario)
    scenario.run("delete_webhook", params={"webhook_id": webhook_id})
    assert scenario.done == {found.view.__name__ for found in ROUTES}


def test_a_problem_with_more_members_matches_the_problem_schema(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    found = route_named(ROUTES, "create_webhook")
    url = f"/api/v1/accounts/{ACCOUNT}/webhooks"
    statuses = [
        ask(
            client,
            found,
            url,
            json={"name": f"lms-{n}", "targetUrl": TARGET, "events": ["COURSE_COMPLETED"]},
        ).status_code
        for n in range(6)
    ]
    assert statuses == [201] * 5 + [409]
    limited = client.post(
        url, json={"name": "lms-7", "targetUrl": TARGET, "events": ["COURSE_COMPLETED"]}
    )
    assert limited.get_json()["limit"] == 5
    check_answer(found, limited)
