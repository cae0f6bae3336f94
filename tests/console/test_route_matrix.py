"""Every route in ``ROUTES``, table-driven: access checks and bad input answer problems, never 500.

A route added without its account scope, its capability or its input checks
fails here without anyone writing a test for it. Every answer is also checked
against the OpenAPI document (``_openapi_helpers.ask``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _openapi_helpers import ACCOUNT, OTHER_ACCOUNT, TARGET, World, ask, build_world, route_named
from console_support import ConsoleHarness, admin, build_harness, operator
from flask import Flask

from hookwire.console import CAPABILITIES, Console, Principal
from hookwire.console import api as _api  # noqa: F401  (declares every route)
from hookwire.console.routing import ROUTES, Route

PROBLEM = "application/problem+json"
SCOPED = [found for found in ROUTES if found.account_scoped]
NAMING_A_RESOURCE = [
    found for found in SCOPED if any(name != "account_id" for name, _ in found.path_parameters)
]
# What an account reads without naming one of its resources: its lists and stats.
LISTS = [found for found in SCOPED if found.method == "GET" and found not in NAMING_A_RESOURCE]
UNSAFE = [found for found in ROUTES if found.unsafe]
BEYOND_READING = [found for found in ROUTES if found.capability != "read"]
WITH_BODY = [found for found in ROUTES if found.body is not None]
WITH_QUERY = [found for found in ROUTES if found.query is not None]

# A body each route with one accepts (the view then runs far enough to look the resource up).
VALID_BODIES: dict[str, dict[str, Any]] = {"recover": {"since": "2026-01-01T00:00:00Z"}}


def _id(found: Route) -> str:
    return f"{found.method} {found.path}"


def _all_of(account_id: int) -> Principal:
    return Principal(
        name=f"host:admin-{account_id}",
        accounts=frozenset({account_id}),
        capabilities=frozenset(CAPABILITIES),
    )


@pytest.fixture
def world(console: ConsoleHarness) -> World:
    """Account 1010's webhook, event and delivery; account 2020's own webhook."""
    return build_world(console.sender)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json()
    return body


def _json_kwargs(found: Route) -> dict[str, Any]:
    return {"json": VALID_BODIES.get(found.view.__name__, {})} if found.body is not None else {}


def test_every_route_naming_an_accounts_resource_is_under_the_account() -> None:
    # The catalogue's event names belong to no account; an id (webhook, event, delivery) does.
    unscoped = [
        _id(found)
        for found in ROUTES
        if not found.account_scoped
        and any(name.endswith("_id") for name, _ in found.path_parameters)
    ]
    assert unscoped == []


@pytest.mark.parametrize("found", SCOPED, ids=_id)
def test_a_principal_of_another_account_gets_404_for_its_path(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    client = console.as_(_all_of(OTHER_ACCOUNT))
    response = ask(client, found, world.path(found), **_json_kwargs(found))
    assert _problem(response, 404)["detail"] == f"no account {ACCOUNT}"


@pytest.mark.parametrize("found", NAMING_A_RESOURCE, ids=_id)
def test_another_accounts_resource_under_ones_own_account_gets_404(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    client = console.as_(_all_of(OTHER_ACCOUNT))
    url = world.path(found, account_id=OTHER_ACCOUNT)
    response = ask(client, found, url, **_json_kwargs(found))
    _problem(response, 404)


@pytest.mark.parametrize("found", LISTS, ids=_id)
def test_a_read_of_ones_own_account_shows_nothing_of_another(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    response = ask(console.as_(_all_of(OTHER_ACCOUNT)), found, world.path(found, account_id=2020))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for name in ("webhook_id", "event_id", "delivery_id"):
        assert world.ids[name] not in text


@pytest.mark.parametrize("found", ROUTES, ids=_id)
def test_an_unauthenticated_request_gets_401(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    response = ask(console.as_(None), found, world.path(found), **_json_kwargs(found))
    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_write_needs_more_than_reading() -> None:
    assert [_id(found) for found in UNSAFE if found.capability == "read"] == []


@pytest.mark.parametrize("found", BEYOND_READING, ids=_id)
def test_a_read_only_principal_gets_403_where_more_than_reading_is_needed(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    for principal in (admin(ACCOUNT, read_only=True), operator(read_only=True)):
        response = ask(console.as_(principal), found, world.path(found), **_json_kwargs(found))
        assert found.capability in _problem(response, 403)["detail"]


@pytest.mark.parametrize("found", WITH_BODY, ids=_id)
def test_a_body_that_is_not_json_gets_415(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    client = console.as_(operator())
    url = world.path(found)
    response = ask(client, found, url, data="name=x", content_type="text/plain")
    _problem(response, 415)
    form = ask(client, found, url, data={"name": "x"})
    _problem(form, 415)


@pytest.mark.parametrize("found", WITH_BODY, ids=_id)
def test_a_body_of_invalid_json_gets_400(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    response = ask(
        console.as_(operator()),
        found,
        world.path(found),
        data='{"name": ',
        content_type="application/json",
    )
    assert "JSON" in _problem(response, 400)["detail"]


@pytest.mark.parametrize("found", WITH_BODY, ids=_id)
def test_an_unknown_body_field_gets_422_naming_it(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    body = {**VALID_BODIES.get(found.view.__name__, {}), "surpriseField": 1}
    response = ask(console.as_(operator()), found, world.path(found), json=body)
    errors = _problem(response, 422)["errors"]
    assert {"field": "surpriseField", "message": "Extra inputs are not permitted"} in errors


@pytest.mark.parametrize("found", WITH_QUERY, ids=_id)
def test_an_unknown_query_parameter_gets_422_naming_it(
    console: ConsoleHarness, world: World, found: Route
) -> None:
    response = ask(
        console.as_(operator()),
        found,
        world.path(found) + "?surprise=1",
        **_json_kwargs(found),
    )
    fields = [error["field"] for error in _problem(response, 422)["errors"]]
    assert "query.surprise" in fields


# Idempotency-Key, on the route that creates a webhook.


def _create(console: ConsoleHarness) -> tuple[Route, str, dict[str, Any]]:
    found = route_named(ROUTES, "create_webhook")
    body = {"name": "lms-idem", "targetUrl": TARGET, "events": ["COURSE_COMPLETED"]}
    return found, f"/api/v1/accounts/{ACCOUNT}/webhooks", body


def test_a_repeated_idempotency_key_answers_the_first_answer_and_creates_once(
    console: ConsoleHarness,
) -> None:
    found, url, body = _create(console)
    client = console.as_(admin(ACCOUNT))
    headers = {"Idempotency-Key": "create-lms-idem-1"}
    first = ask(client, found, url, json=body, headers=headers)
    again = ask(client, found, url, json=body, headers=headers)
    assert first.status_code == again.status_code == found.status
    assert again.get_json() == first.get_json()
    assert [hook.name for hook in console.sender.webhooks.list(ACCOUNT)] == ["lms-idem"]


def test_an_idempotency_key_reused_for_another_body_gets_409(console: ConsoleHarness) -> None:
    found, url, body = _create(console)
    client = console.as_(admin(ACCOUNT))
    headers = {"Idempotency-Key": "create-lms-idem-2"}
    ask(client, found, url, json=body, headers=headers)
    other = ask(client, found, url, json={**body, "name": "lms-other"}, headers=headers)
    assert "another request" in _problem(other, 409)["detail"]
    assert [hook.name for hook in console.sender.webhooks.list(ACCOUNT)] == ["lms-idem"]


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_gets_400_naming_the_header(
    console: ConsoleHarness, key: str
) -> None:
    found, url, body = _create(console)
    response = ask(
        console.as_(admin(ACCOUNT)), found, url, json=body, headers={"Idempotency-Key": key}
    )
    errors = _problem(response, 400)["errors"]
    assert errors[0]["field"] == "header.Idempotency-Key"
    assert console.sender.webhooks.list(ACCOUNT) == []


# Paths under the API that no route takes.


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nothing-here", 404),
        ("GET", "/api/v1", 404),
        ("POST", "/api/v1/accounts/1010/nothing/here", 404),
        ("DELETE", "/api/v1/openapi.json", 405),
    ],
)
def test_an_api_path_no_route_takes_answers_a_problem(
    console: ConsoleHarness, method: str, path: str, status: int
) -> None:
    response = console.client.open(path, method=method)
    body = _problem(response, status)
    assert body["instance"] == path
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[tuple[Flask, ConsoleHarness]]:
    """A host app with its own 404 page and the console mounted under /console."""
    harness = build_harness(f"sqlite:///{tmp_path / 'hookwire.db'}")
    host = Flask("host")
    host.config.update(TESTING=True, HOOKWIRE_CONSOLE_SECRET_KEY="host-secret-key-0123456789")

    @host.errorhandler(404)
    def not_found(_exc: Exception) -> tuple[str, int]:
        return "<h1>host's own page</h1>", 404

    Console(host, sender=harness.sender, url_prefix="/console")
    yield host, harness
    harness.sender.close()


def test_the_hosts_own_404s_are_left_alone(hosted: tuple[Flask, ConsoleHarness]) -> None:
    host, _ = hosted
    client = host.test_client()
    for path in ("/nothing-here", "/api/v1/nothing-here", "/console/nothing-here"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert b"host's own page" in response.data
    problem = client.get("/console/api/v1/nothing-here")
    assert _problem(problem, 404)["instance"] == "/console/api/v1/nothing-here"


def test_a_bare_apps_html_404_is_left_alone(console: ConsoleHarness) -> None:
    response = console.client.get("/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
