"""The events API: paging the account's events, one event, and publishing as an operator."""

from __future__ import annotations

import pytest
from _delivery_log_helpers import COMPLETED, deliver, fields, hook, publish, serve, walk
from console_support import ConsoleHarness, admin, operator
from pytest_httpserver import HTTPServer

BASE = "/api/v1/accounts/1010"


@pytest.fixture
def target(httpserver: HTTPServer) -> HTTPServer:
    serve(httpserver)
    return httpserver


def test_paging_returns_every_event_of_the_account_once_newest_first(
    console_on: ConsoleHarness,
) -> None:
    mine = publish(console_on, 1010, 3) + publish(console_on, 1010, 2, name="CI_STATS")
    publish(console_on, 2020, 2)
    mine += publish(console_on, 1010, 2)
    client = console_on.as_(admin(1010))

    items = walk(client, f"{BASE}/events", limit=2)

    assert [item["id"] for item in items] == list(reversed(mine))
    assert all(item["realtime"] for item in items)
    named = walk(client, f"{BASE}/events", eventName="CI_STATS", limit=1)
    assert [item["id"] for item in named] == list(reversed(mine[3:5]))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cursor", "%%%"),
        ("cursor", "WyJkZWxpdmVyeSIsNV0"),  # a delivery cursor
        ("limit", "-1"),
        ("since", "soon"),
        ("eventName", ""),
    ],
)
def test_a_malformed_query_is_a_422_naming_the_parameter(
    console: ConsoleHarness, name: str, value: str
) -> None:
    answer = console.as_(admin(1010)).get(f"{BASE}/events", query_string={name: value})
    assert answer.status_code == 422
    assert fields(answer) == [f"query.{name}"]


def test_an_event_shows_its_data_and_wire_payload(console: ConsoleHarness) -> None:
    (event_id,) = publish(console, 1010)

    answer = console.as_(admin(1010)).get(f"{BASE}/events/{event_id}")

    body = answer.get_json()
    assert answer.status_code == 200
    assert body["eventName"] == "COURSE_COMPLETED"
    assert body["data"] == COMPLETED
    assert body["payload"]["eventId"] == event_id
    assert body["payload"]["timestamp"].endswith("Z")


def test_an_event_id_with_a_slash_is_found(console: ConsoleHarness) -> None:
    console.sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1010, event_id="lms/c/1")
    answer = console.as_(admin(1010)).get(f"{BASE}/events/lms/c/1")
    assert answer.status_code == 200
    assert answer.get_json()["id"] == "lms/c/1"


def test_another_accounts_event_answers_404_as_a_missing_one(console: ConsoleHarness) -> None:
    (theirs,) = publish(console, 2020)
    for who in (admin(1010), operator()):
        client = console.as_(who)
        foreign = client.get(f"{BASE}/events/{theirs}")
        missing = client.get(f"{BASE}/events/evt_missing")
        assert foreign.status_code == missing.status_code == 404
    assert console.as_(admin(1010)).get(f"/api/v1/accounts/2020/events/{theirs}").status_code == 404


def test_an_operator_publishes_an_event_that_is_delivered_and_audited(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    webhook_id = hook(console, target, 1010)
    client = console.as_(operator())
    body = {"eventName": "COURSE_COMPLETED", "data": COMPLETED, "eventId": "evt-op-1"}

    answer = client.post(f"{BASE}/events", json=body)

    assert answer.status_code == 201
    assert answer.get_json() == {
        "eventId": "evt-op-1",
        "webhookIds": [webhook_id],
        "duplicate": False,
    }
    deliver(console)
    assert target.log[-1][0].get_json()["events"][0]["eventId"] == "evt-op-1"
    again = client.post(f"{BASE}/events", json=body).get_json()
    assert again == {"eventId": "evt-op-1", "webhookIds": [], "duplicate": True}
    entries = client.get(f"{BASE}/audit", query_string={"action": "event.published"})
    items = entries.get_json()["items"]
    assert [entry["detail"]["duplicate"] for entry in items] == [True, False]
    assert {entry["actor"] for entry in items} == {"host:operator"}
    # The entry names the event, never its data.
    assert all(
        set(e["detail"]) == {"eventId", "eventName", "duplicate", "webhookCount"} for e in items
    )


def test_an_account_admin_cannot_publish(console: ConsoleHarness) -> None:
    body = {"eventName": "COURSE_COMPLETED", "data": COMPLETED}
    answer = console.as_(admin(1010)).post(f"{BASE}/events", json=body)
    assert answer.status_code == 403
    assert console.sender.events.list() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventName": "NO_SUCH_EVENT", "data": {}}, "eventName"),
        ({"eventName": "COURSE_COMPLETED", "data": {"userId": "seven"}}, "data"),
        ({"eventName": "COURSE_COMPLETED", "data": COMPLETED, "eventId": "a\x00b"}, "eventId"),
        ({"eventName": "COURSE_COMPLETED", "data": COMPLETED, "timestamp": "noon"}, "timestamp"),
        ({"eventName": "COURSE_COMPLETED"}, "data"),
    ],
)
def test_an_event_the_library_refuses_is_a_422_naming_the_field(
    console: ConsoleHarness, body: dict[str, object], field: str
) -> None:
    answer = console.as_(operator()).post(f"{BASE}/events", json=body)
    assert answer.status_code == 422
    assert [f.split(".")[0] for f in fields(answer)][:1] == [field]
    assert console.sender.events.list() == []
