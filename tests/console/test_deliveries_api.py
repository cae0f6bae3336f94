"""The delivery log API: paging and filters, one delivery's attempts, redeliver, recover, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _delivery_log_helpers import deliver, fields, hook, publish, serve, walk
from console_support import ConsoleHarness, admin, operator
from pytest_httpserver import HTTPServer

from hookwire.sender import BasicAuth

BASE = "/api/v1/accounts/1010"


@pytest.fixture
def target(httpserver: HTTPServer) -> HTTPServer:
    serve(httpserver)
    return httpserver


def test_paging_returns_every_delivery_of_the_account_once_newest_first(
    console_on: ConsoleHarness, target: HTTPServer
) -> None:
    first, second = hook(console_on, target, 1010), hook(console_on, target, 1010)
    hook(console_on, target, 2020)
    publish(console_on, 1010, 4)
    publish(console_on, 2020, 3)
    publish(console_on, 1010, 3)
    deliver(console_on)
    mine = {d.id for d in console_on.sender.deliveries.list(limit=100) if d.account_id == 1010}

    items = walk(console_on.as_(admin(1010)), f"{BASE}/deliveries", limit=3)

    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 14
    assert set(ids) == mine
    assert [int(i.removeprefix("dlv_")) for i in ids] == sorted(
        (int(i.removeprefix("dlv_")) for i in ids), reverse=True
    )
    assert {item["webhookId"] for item in items} == {first, second}
    assert all(item["status"] == "succeeded" and item["attemptCount"] == 1 for item in items)


def test_filters_narrow_the_pages(console: ConsoleHarness, target: HTTPServer) -> None:
    good, bad = hook(console, target, 1010), hook(console, target, 1010, "/fail")
    publish(console, 1010, 3)
    publish(console, 1010, 2, name="CI_STATS")
    deliver(console)
    client = console.as_(admin(1010))
    url = f"{BASE}/deliveries"

    failed = walk(client, url, status="failed", limit=2)
    assert len(failed) == 5
    assert {d["webhookId"] for d in failed} == {bad}
    of_good = walk(client, url, webhookId=good, limit=2)
    assert len(of_good) == 5
    assert {d["status"] for d in of_good} == {"succeeded"}
    stats = walk(client, url, eventName="CI_STATS", webhookId=bad)
    assert [d["eventName"] for d in stats] == ["CI_STATS", "CI_STATS"]
    assert walk(client, url, since=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    assert len(walk(client, url, until=(datetime.now(UTC) + timedelta(hours=1)).isoformat())) == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cursor", "not-a-cursor"),
        ("cursor", "WyJldmVudCIsWyIyMDI2LTAxLTAxIiwiZSJdXQ"),  # an events cursor
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "many"),
        ("status", "lost"),
        ("since", "yesterday"),
        ("since", "2026-01-01T00:00:00"),  # no offset
        ("until", "2026-13-01T00:00:00Z"),
        ("webhookId", "wh_\x01"),
    ],
)
def test_a_malformed_query_is_a_422_naming_the_parameter(
    console: ConsoleHarness, name: str, value: str
) -> None:
    answer = console.as_(admin(1010)).get(f"{BASE}/deliveries", query_string={name: value})
    assert answer.status_code == 422
    assert fields(answer) == [f"query.{name}"]


def test_filtering_by_a_webhook_outside_the_account_is_a_422(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    theirs = hook(console, target, 2020)
    answer = console.as_(admin(1010)).get(f"{BASE}/deliveries", query_string={"webhookId": theirs})
    assert answer.status_code == 422
    assert fields(answer) == ["query.webhookId"]


def test_a_delivery_shows_its_attempts_with_redacted_credentials_and_its_payload(
    console_on: ConsoleHarness, target: HTTPServer
) -> None:
    signed = hook(console_on, target, 1010)
    basic = hook(console_on, target, 1010, auth=BasicAuth("hooks", "pa55-word-secret"))
    (event_id,) = publish(console_on, 1010)
    deliver(console_on)
    secret = console_on.sender.webhooks.signature_file(signed).secret
    client = console_on.as_(admin(1010))
    by_hook = {d["webhookId"]: d["id"] for d in walk(client, f"{BASE}/deliveries")}

    for webhook_id, credential in ((signed, "webhook-signature"), (basic, "authorization")):
        answer = client.get(f"{BASE}/deliveries/{by_hook[webhook_id]}")
        body = answer.get_json()
        assert answer.status_code == 200
        assert secret not in answer.text
        assert "pa55-word-secret" not in answer.text
        (attempt,) = body["attempts"]
        assert attempt["statusCode"] == 202
        assert attempt["responseExcerpt"] == "thanks"
        headers = attempt["requestHeaders"]
        assert headers[credential] == "[redacted]"
        assert headers["webhook-id"] == attempt["requestId"] == body["requestId"]
        assert headers["content-type"] == "application/json"
        started = datetime.fromisoformat(attempt["startedAt"])
        assert headers["webhook-timestamp"] == str(int(started.timestamp()))
        assert body["payload"]["eventId"] == event_id
        assert body["payload"]["data"]["loInstanceId"] == "course:1_1"
    sent = target.log[0][0]
    assert sent.headers["webhook-id"] in {
        a["requestId"]
        for d in by_hook.values()
        for a in client.get(f"{BASE}/deliveries/{d}").get_json()["attempts"]
    }


def test_every_route_answers_404_for_another_accounts_delivery_or_webhook(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    theirs = hook(console, target, 2020)
    hook(console, target, 1010)
    publish(console, 2020)
    (delivery,) = console.sender.deliveries.list()
    since = {"since": "2020-01-01T00:00:00Z"}
    for who in (admin(1010), operator()):
        client = console.as_(who)
        assert client.get(f"{BASE}/deliveries/{delivery.id}").status_code == 404
        assert client.post(f"{BASE}/deliveries/{delivery.id}/redeliver").status_code == 404
        assert client.post(f"{BASE}/webhooks/{theirs}/recover", json=since).status_code == 404
        assert client.get(f"{BASE}/webhooks/{theirs}/stats").status_code == 404
    assert console.as_(admin(1010)).get(f"{BASE}/deliveries/dlv_999999").status_code == 404
    assert console.as_(admin(1010)).get("/api/v1/accounts/2020/deliveries").status_code == 404


def test_redeliver_queues_a_delivery_again_and_is_audited(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    webhook_id = hook(console, target, 1010)
    publish(console, 1010)
    deliver(console)
    (delivery,) = console.sender.deliveries.list()
    client = console.as_(admin(1010))

    answer = client.post(f"{BASE}/deliveries/{delivery.id}/redeliver")

    assert answer.status_code == 200
    assert answer.get_json()["status"] == "pending"
    deliver(console)
    again = client.get(f"{BASE}/deliveries/{delivery.id}").get_json()
    assert again["status"] == "succeeded"
    assert again["attemptCount"] == 2
    (entry,) = client.get(f"{BASE}/audit").get_json()["items"]
    assert entry["action"] == "delivery.redelivered"
    assert entry["webhookId"] == webhook_id
    assert entry["detail"] == {"deliveryId": delivery.id, "statusBefore": "succeeded"}


def test_recover_resends_the_failed_deliveries_since_a_time_and_counts_them(
    console: ConsoleHarness, target: HTTPServer
) -> None:
    failing = hook(console, target, 1010, "/fail")
    publish(console, 1010, 3)
    deliver(console)
    client = console.as_(admin(1010))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    answer = client.post(f"{BASE}/webhooks/{failing}/recover", json={"since": since})

    assert answer.status_code == 200
    assert answer.get_json() == {"count": 3}
    (entry,) = client.get(f"{BASE}/audit", query_string={"action": "webhook.recovered"}).get_json()[
        "items"
    ]
    assert entry["webhookId"] == failing
    assert entry["detail"]["count"] == 3
    bad = client.post(f"{BASE}/webhooks/{failing}/recover", json={"since": "2026-01-01"})
    assert bad.status_code == 422
    assert fields(bad) == ["since"]


def test_a_read_only_admin_cannot_resend(console: ConsoleHarness, target: HTTPServer) -> None:
    webhook_id = hook(console, target, 1010)
    publish(console, 1010)
    (delivery,) = console.sender.deliveries.list()
    client = console.as_(admin(1010, read_only=True))
    assert client.post(f"{BASE}/deliveries/{delivery.id}/redeliver").status_code == 403
    since = {"since": "2020-01-01T00:00:00Z"}
    assert client.post(f"{BASE}/webhooks/{webhook_id}/recover", json=since).status_code == 403


def test_stats_give_the_success_rate_last_attempt_and_queue_depth(
    console_on: ConsoleHarness, target: HTTPServer
) -> None:
    good, bad = hook(console_on, target, 1010), hook(console_on, target, 1010, "/fail")
    publish(console_on, 1010)
    deliver(console_on)
    publish(console_on, 1010, 2)  # queued, not sent
    client = console_on.as_(admin(1010))

    stats = client.get(f"{BASE}/webhooks/{bad}/stats").get_json()

    assert stats["attempts"] == 1
    assert stats["successRate"] == 0.0
    assert stats["lastStatusCode"] == 500
    assert stats["lastAttemptAt"] is not None
    assert stats["failingSince"] is not None
    assert stats["windowHours"] == 24
    every = client.get(f"{BASE}/stats", query_string={"windowHours": 2}).get_json()["items"]
    by_hook = {item["webhookId"]: item for item in every}
    assert by_hook[good]["successRate"] == 1.0
    assert by_hook[good]["queueDepth"] == 2
    assert by_hook[good]["failingSince"] is None
    assert by_hook[bad]["queueDepth"] == 2
    too_long = client.get(f"{BASE}/stats", query_string={"windowHours": 10_000})
    assert too_long.status_code == 422
    assert fields(too_long) == ["query.windowHours"]
