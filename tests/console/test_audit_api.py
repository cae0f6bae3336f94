"""The audit log API: what changes write, and listing them newest first, a page at a time."""

from __future__ import annotations

import pytest
from _delivery_log_helpers import COMPLETED, deliver, fields, hook, publish, serve, walk
from console_support import ConsoleHarness, admin, operator
from pytest_httpserver import HTTPServer

from hookwire.console import audit

BASE = "/api/v1/accounts/1010"


@pytest.fixture
def target(httpserver: HTTPServer) -> HTTPServer:
    serve(httpserver)
    return httpserver


def _write(console: ConsoleHarness, account_id: int, *actions: tuple[str, str | None]) -> None:
    """Audit entries as the console writes them after a change, one request each."""
    for action, webhook_id in actions:
        with console.sender.engine.begin() as conn:
            entry = {"action": action, "webhook_id": webhook_id, "detail": {"n": action}}
            audit.record(conn, account_id=account_id, actor="host:test", entries=[entry])


def test_paging_lists_every_entry_of_the_account_once_newest_first(
    console_on: ConsoleHarness,
) -> None:
    actions = [(f"webhook.action{n}", f"wh_{n % 2}") for n in range(7)]
    _write(console_on, 1010, *actions)
    _write(console_on, 2020, ("webhook.elsewhere", "wh_9"))
    client = console_on.as_(admin(1010))

    items = walk(client, f"{BASE}/audit", limit=2)

    assert [item["action"] for item in items] == [a for a, _ in reversed(actions)]
    assert len({item["id"] for item in items}) == 7
    of_one = walk(client, f"{BASE}/audit", webhookId="wh_1", limit=1)
    assert [item["action"] for item in of_one] == [
        "webhook.action5",
        "webhook.action3",
        "webhook.action1",
    ]
    one_action = walk(client, f"{BASE}/audit", action="webhook.action4")
    assert [item["detail"] for item in one_action] == [{"n": "webhook.action4"}]


def test_entries_written_in_one_instant_page_by_id(console: ConsoleHarness) -> None:
    entries = [{"action": "event.published", "webhook_id": None, "detail": {}} for _ in range(5)]
    with console.sender.engine.begin() as conn:
        audit.record(conn, account_id=1010, actor="host:test", entries=entries)

    items = walk(console.as_(admin(1010)), f"{BASE}/audit", limit=2)

    ids = [item["id"] for item in items]
    assert ids == sorted(set(ids), reverse=True)
    assert len(ids) == 5


def test_changes_through_the_api_are_recorded_with_their_actor(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    failing = hook(console, target, 1010, "/fail")
    publish(console, 1010)
    deliver(console)
    (delivery,) = console.sender.deliveries.list()
    client = console.as_(operator())
    client.post(f"{BASE}/deliveries/{delivery.id}/redeliver")
    client.post(f"{BASE}/webhooks/{failing}/recover", json={"since": "2020-01-01T00:00:00Z"})
    client.post(f"{BASE}/events", json={"eventName": "COURSE_COMPLETED", "data": COMPLETED})
    client.get(f"{BASE}/deliveries")  # reads are not audited

    items = walk(console.as_(admin(1010)), f"{BASE}/audit")

    assert [item["action"] for item in items] == [
        "event.published",
        "webhook.recovered",
        "delivery.redelivered",
    ]
    assert {item["actor"] for item in items} == {"host:operator"}
    assert [item["webhookId"] for item in items] == [None, failing, failing]


def test_another_accounts_audit_log_answers_404(console: ConsoleHarness) -> None:
    _write(console, 2020, ("webhook.created", "wh_x"))
    answer = console.as_(admin(1010)).get("/api/v1/accounts/2020/audit")
    assert answer.status_code == 404
    assert walk(console.as_(admin(1010)), f"{BASE}/audit") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("cursor", "bm9wZQ"), ("limit", "0"), ("limit", "500"), ("action", ""), ("other", "1")],
)
def test_a_malformed_query_is_a_422_naming_the_parameter(
    console: ConsoleHarness, name: str, value: str
) -> None:
    answer = console.as_(admin(1010)).get(f"{BASE}/audit", query_string={name: value})
    assert answer.status_code == 422
    assert fields(answer) == [f"query.{name}"]
