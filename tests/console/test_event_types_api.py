"""``/event-types``: the catalogue a webhook subscribes to, for any authenticated caller."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from _openapi_helpers import check_answer, route_named
from console_support import ConsoleHarness, admin, operator
from jsonschema import Draft202012Validator

from hookwire import CATALOGUE
from hookwire.console import Principal
from hookwire.console import api as _api  # noqa: F401  (declares every route)
from hookwire.console.routing import ROUTES
from hookwire.events import event_adapter

LIST = "/api/v1/event-types"


def test_the_list_holds_every_catalogued_name_in_the_catalogues_order(
    console: ConsoleHarness,
) -> None:
    response = console.as_(admin(1010)).get(LIST)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == list(CATALOGUE)
    for item in items:
        spec = CATALOGUE[item["name"]]
        assert item["delivery"] == ("realtime" if spec.realtime else "batch")
        assert item["family"] == spec.family
        assert item["description"] == spec.description
        assert item["description"]
        assert item["dataSchema"] == spec.data_model.model_json_schema(by_alias=True)


def test_both_deliveries_are_listed(console: ConsoleHarness) -> None:
    items = console.as_(admin(1010)).get(LIST).get_json()["items"]
    by_name = {item["name"]: item["delivery"] for item in items}
    assert by_name["COURSE_COMPLETED"] == "realtime"
    assert by_name["COURSE_COMPLETED_BATCH"] == "batch"
    assert by_name["LEARNER_PROGRESS"] == "batch"


def test_every_example_is_a_valid_event_of_its_name_and_matches_its_schema(
    console: ConsoleHarness,
) -> None:
    for item in console.as_(admin(1010)).get(LIST).get_json()["items"]:
        example = item["example"]
        assert example["eventName"] == item["name"]
        Draft202012Validator(item["dataSchema"]).validate(example["data"])
        event = event_adapter.validate_python(example)
        assert isinstance(event, CATALOGUE[item["name"]].event_type)


def test_the_examples_are_the_same_in_every_answer(console: ConsoleHarness) -> None:
    client = console.as_(admin(1010))
    assert client.get(LIST).get_json() == client.get(LIST).get_json()


@pytest.mark.parametrize(
    "name", ["COURSE_COMPLETED", "LEARNER_PROGRESS", "RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED"]
)
def test_one_event_type_is_shown_as_the_list_shows_it(console: ConsoleHarness, name: str) -> None:
    client = console.as_(admin(1010))
    listed = {item["name"]: item for item in client.get(LIST).get_json()["items"]}
    response = client.get(f"{LIST}/{quote(name)}")
    assert response.status_code == 200
    assert response.get_json() == listed[name]


@pytest.mark.parametrize("name", ["NO_SUCH_EVENT", "course_completed", "HOOKWIRE_TEST"])
def test_an_unknown_event_name_is_a_404_problem(console: ConsoleHarness, name: str) -> None:
    response = console.as_(admin(1010)).get(f"{LIST}/{name}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert name in response.get_json()["detail"]


@pytest.mark.parametrize(
    "principal",
    [admin(1010), admin(2020, read_only=True), operator(), operator(read_only=True)],
    ids=["admin", "read-only admin of another account", "operator", "read-only operator"],
)
def test_any_caller_who_reads_sees_the_catalogue(
    console: ConsoleHarness, principal: Principal
) -> None:
    client = console.as_(principal)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}/CI_STATS").status_code == 200


def test_an_unauthenticated_caller_gets_401(console: ConsoleHarness) -> None:
    client = console.as_(None)
    for url in (LIST, f"{LIST}/CI_STATS"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"


def test_a_caller_who_cannot_read_gets_403(console: ConsoleHarness) -> None:
    publisher = Principal(name="host:publisher", accounts=None, capabilities=frozenset({"publish"}))
    response = console.as_(publisher).get(LIST)
    assert response.status_code == 403
    assert "read" in response.get_json()["detail"]


def test_the_answers_match_the_openapi_document(console: ConsoleHarness) -> None:
    client = console.as_(admin(1010))
    check_answer(route_named(ROUTES, "list_event_types"), client.get(LIST))
    check_answer(route_named(ROUTES, "get_event_type"), client.get(f"{LIST}/CI_STATS"))
    check_answer(route_named(ROUTES, "get_event_type"), client.get(f"{LIST}/NOPE"))
