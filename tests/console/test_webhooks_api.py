"""The webhook resource: create, list, show, change, delete, switch, test, re-key, download.

Test deliveries go to a real listener on 127.0.0.1 that verifies them with
``hookwire.Receiver`` and the signature file the API handed out. Every change
is checked in the audit table itself; secrets are searched for in every other
answer and in the audit log.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
from _openapi_helpers import check_answer, route_named
from _webhooks_helpers import (
    ACCOUNT,
    DEAD_TARGET,
    OTHER,
    WEBHOOKS,
    audit_rows,
    audit_text,
    create,
    create_body,
    problem,
    start_listener,
    webhook_url,
)
from console_support import ConsoleHarness, admin, build_harness, operator
from pytest_httpserver import HTTPServer
from werkzeug import Response

from hookwire import Receiver
from hookwire.console import api as _api  # noqa: F401  (declares every route)
from hookwire.console.routing import ROUTES, Route
from hookwire.samples import sample_data

WEBHOOK_ROUTES = [found for found in ROUTES if found.view.__module__.endswith("api.webhooks")]
ON_ONE_WEBHOOK = [found for found in WEBHOOK_ROUTES if "<webhook_id>" in found.path]
# A body each route with one accepts, so that its view runs and looks the webhook up.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "update_webhook": {"name": "renamed"},
    "rotate_webhook_secret": {"graceSeconds": 60},
    "create_webhook": create_body(),
}


def _url(found: Route, webhook_id: str, account_id: int = ACCOUNT) -> str:
    path = found.path.replace("<int:account_id>", str(account_id))
    return "/api/v1" + path.replace("<webhook_id>", webhook_id)


def _ask(client: Any, found: Route, url: str) -> Any:
    body = VALID_BODIES.get(found.view.__name__)
    return client.open(url, method=found.method, **({"json": body} if body else {}))


def test_every_action_of_the_brief_has_a_route() -> None:
    declared = {(found.method, found.path.rsplit("webhooks", 1)[1]) for found in WEBHOOK_ROUTES}
    assert declared == {
        ("GET", ""),
        ("POST", ""),
        ("GET", "/<webhook_id>"),
        ("PATCH", "/<webhook_id>"),
        ("DELETE", "/<webhook_id>"),
        ("POST", "/<webhook_id>/activate"),
        ("POST", "/<webhook_id>/retire"),
        ("POST", "/<webhook_id>/test"),
        ("POST", "/<webhook_id>/rotate-secret"),
        ("GET", "/<webhook_id>/signature-file"),
    }


def test_create_answers_201_and_the_webhook_is_listed_and_shown(
    console_on: ConsoleHarness,
) -> None:
    client = console_on.as_(admin(ACCOUNT))
    created = create(client, auth={"type": "none"}, active=False)
    assert created["accountId"] == ACCOUNT
    assert created["name"] == "LMS sync"
    assert created["description"] == "course completions for the HR system"
    assert created["targetUrl"] == DEAD_TARGET
    assert created["events"] == ["COURSE_COMPLETED", "COURSE_ENROLLMENT"]
    assert created["auth"] == "none"
    assert created["basicUsername"] is None
    assert (created["active"], created["status"]) == (False, "retired")
    assert created["signatureFile"] is None
    shown = client.get(webhook_url(created["id"])).get_json()
    assert shown == {key: value for key, value in created.items() if key != "signatureFile"}
    listed = client.get(WEBHOOKS).get_json()
    assert listed == {"items": [shown]}
    assert console_on.sender.webhooks.get(created["id"]).account_id == ACCOUNT


def test_the_list_shows_only_the_accounts_own_webhooks(console: ConsoleHarness) -> None:
    console.sender.webhooks.create(
        name="other", target_url=DEAD_TARGET, events=["CI_STATS"], account_id=OTHER
    )
    client = console.as_(admin(ACCOUNT))
    assert client.get(WEBHOOKS).get_json() == {"items": []}
    mine = create(client)
    assert [item["id"] for item in client.get(WEBHOOKS).get_json()["items"]] == [mine["id"]]


def test_creating_past_the_account_limit_answers_409_with_the_limit(
    console_on: ConsoleHarness,
) -> None:
    client = console_on.as_(admin(ACCOUNT))
    for number in range(5):
        create(client, name=f"hook {number}")
    body = problem(client.post(WEBHOOKS, json=create_body(name="sixth")), 409)
    assert body["limit"] == 5
    assert "5 webhooks" in body["detail"]
    assert len(console_on.sender.webhooks.list(ACCOUNT)) == 5


def test_a_partial_update_changes_only_the_given_fields(
    console_on: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    listener.receiver = Receiver(basic_auth=("lms", "pw-1"))
    client = console_on.as_(admin(ACCOUNT))
    basic = {"type": "basic", "username": "lms", "password": "pw-1"}
    created = create(client, auth=basic, targetUrl=listener.url)
    response = client.patch(webhook_url(created["id"]), json={"name": "renamed"})
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["name"] == "renamed"
    kept = ("description", "targetUrl", "events", "auth", "basicUsername", "active", "createdAt")
    assert updated["updatedAt"] >= created["updatedAt"]
    assert {key: updated[key] for key in kept} == {key: created[key] for key in kept}
    assert updated["signatureFile"] is None
    tested = client.post(webhook_url(created["id"], "test")).get_json()
    assert (tested["statusCode"], tested["responseExcerpt"]) == (200, "verified HOOKWIRE_TEST")

    cleared = client.patch(webhook_url(created["id"]), json={"description": ""}).get_json()
    assert (cleared["name"], cleared["description"]) == ("renamed", "")
    moved = client.patch(
        webhook_url(created["id"]),
        json={"targetUrl": "https://lms.example.com/hooks", "events": ["CI_STATS"]},
    ).get_json()
    assert (moved["targetUrl"], moved["events"]) == ("https://lms.example.com/hooks", ["CI_STATS"])
    assert moved["name"] == "renamed"
    changes = [row["detail"] for row in audit_rows(console_on.sender)[1:]]
    assert changes == [
        {"fields": ["name"]},
        {"statusCode": 200, "succeeded": True},
        {"fields": ["description"]},
        {"fields": ["events", "targetUrl"]},
    ]


def test_an_update_to_signature_auth_shows_the_new_file_once(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client, auth={"type": "basic", "username": "lms", "password": "pw-1"})
    answer = client.patch(webhook_url(created["id"]), json={"auth": {"type": "signature"}})
    updated = answer.get_json()
    assert (updated["auth"], updated["basicUsername"]) == ("signature", None)
    secret = updated["signatureFile"]["secret"]
    assert secret.startswith("whsec_")
    assert secret not in client.get(webhook_url(created["id"])).get_data(as_text=True)
    assert secret not in client.get(WEBHOOKS).get_data(as_text=True)
    assert secret not in audit_text(console.sender)
    to_basic = client.patch(
        webhook_url(created["id"]),
        json={"auth": {"type": "basic", "username": "other", "password": "pw-2"}},
    ).get_json()
    assert (to_basic["auth"], to_basic["basicUsername"]) == ("basic", "other")
    assert to_basic["signatureFile"] is None


def test_a_patch_with_nothing_to_change_or_a_null_field_is_422(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    empty = problem(client.patch(webhook_url(created["id"]), json={}), 422)
    assert empty["errors"][0]["field"] == "body"
    for field in ("name", "targetUrl", "events", "auth", "active", "description"):
        body = problem(client.patch(webhook_url(created["id"]), json={field: None}), 422)
        assert [error["field"] for error in body["errors"]] == [field]
    assert client.get(webhook_url(created["id"])).get_json()["updatedAt"] == created["updatedAt"]


def test_delete_answers_204_and_the_webhook_is_gone(console_on: ConsoleHarness) -> None:
    client = console_on.as_(admin(ACCOUNT))
    created = create(client)
    response = client.delete(webhook_url(created["id"]))
    assert (response.status_code, response.data) == (204, b"")
    problem(client.get(webhook_url(created["id"])), 404)
    problem(client.delete(webhook_url(created["id"])), 404)
    assert client.get(WEBHOOKS).get_json() == {"items": []}


def test_retire_and_activate_switch_the_webhook(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    retired = client.post(webhook_url(created["id"], "retire")).get_json()
    assert (retired["active"], retired["status"], retired["disabledReason"]) == (
        False,
        "retired",
        None,
    )
    assert console.sender.webhooks.get(created["id"]).active is False
    activated = client.post(webhook_url(created["id"], "activate")).get_json()
    assert (activated["active"], activated["status"]) == (True, "active")
    assert retired.get("signatureFile") is activated.get("signatureFile") is None


def test_a_webhook_the_sender_disabled_shows_why_until_activated(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/gone", method="POST").respond_with_data("gone", status=410)
    target = httpserver.url_for("/gone").replace("localhost", "127.0.0.1")
    client = console.as_(admin(ACCOUNT))
    created = create(client, targetUrl=target, auth={"type": "none"})
    data = sample_data("COURSE_COMPLETED", random.Random(3))
    console.sender.publish("COURSE_COMPLETED", data=data, account_id=ACCOUNT)
    asyncio.run(console.sender.drain())
    shown = client.get(webhook_url(created["id"])).get_json()
    assert (shown["active"], shown["status"]) == (False, "disabled")
    assert "410" in shown["disabledReason"]
    activated = client.post(webhook_url(created["id"], "activate")).get_json()
    assert (activated["status"], activated["disabledReason"]) == ("active", None)


def test_every_change_is_audited_without_secrets(console_on: ConsoleHarness) -> None:
    client = console_on.as_(admin(ACCOUNT))
    created = create(client)
    hook = created["id"]
    client.patch(
        webhook_url(hook), json={"auth": {"type": "basic", "username": "u", "password": "pw-9"}}
    )
    client.patch(webhook_url(hook), json={"auth": {"type": "signature"}})
    client.post(webhook_url(hook, "retire"))
    client.post(webhook_url(hook, "activate"))
    client.post(webhook_url(hook, "rotate-secret"), json={"graceSeconds": 10})
    client.get(webhook_url(hook, "signature-file"))
    client.post(webhook_url(hook, "test"))
    client.delete(webhook_url(hook))
    rows = audit_rows(console_on.sender)
    assert [row["action"] for row in rows] == [
        "webhook.created",
        "webhook.updated",
        "webhook.updated",
        "webhook.retired",
        "webhook.activated",
        "webhook.secret_rotated",
        "webhook.signature_file_downloaded",
        "webhook.tested",
        "webhook.deleted",
    ]
    assert {(row["account_id"], row["actor"], row["webhook_id"]) for row in rows} == {
        (ACCOUNT, f"host:admin-{ACCOUNT}", hook)
    }
    assert rows[0]["detail"] == {"name": "LMS sync", "auth": "signature"}
    assert rows[1]["detail"] == {"fields": ["auth"]}
    assert rows[5]["detail"] == {"graceSeconds": 10}
    assert rows[7]["detail"]["succeeded"] is False
    text = audit_text(console_on.sender)
    assert "pw-9" not in text
    assert "whsec_" not in text


def test_reads_change_nothing_in_the_audit_log(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    hook = create(client)["id"]
    client.get(WEBHOOKS)
    client.get(webhook_url(hook))
    assert [row["action"] for row in audit_rows(console.sender)] == ["webhook.created"]


@pytest.mark.parametrize(
    "found",
    [found for found in WEBHOOK_ROUTES if found.capability == "manage"],
    ids=lambda found: f"{found.method} {found.path}",
)
def test_a_read_only_principal_gets_403_on_each_write(
    console: ConsoleHarness, found: Route
) -> None:
    hook = create(console.as_(admin(ACCOUNT)))["id"]
    before = console.sender.webhooks.get(hook)
    for principal in (admin(ACCOUNT, read_only=True), operator(read_only=True)):
        body = problem(_ask(console.as_(principal), found, _url(found, hook)), 403)
        assert "manage" in body["detail"]
    assert console.sender.webhooks.get(hook) == before
    assert len(console.sender.webhooks.list(ACCOUNT)) == 1


def test_a_read_only_principal_may_list_and_show(console: ConsoleHarness) -> None:
    hook = create(console.as_(admin(ACCOUNT)))["id"]
    reader = console.as_(admin(ACCOUNT, read_only=True))
    assert reader.get(WEBHOOKS).status_code == 200
    assert reader.get(webhook_url(hook)).get_json()["id"] == hook


@pytest.mark.parametrize("found", ON_ONE_WEBHOOK, ids=lambda found: f"{found.method} {found.path}")
def test_another_accounts_webhook_is_404_under_ones_own_account(
    console: ConsoleHarness, found: Route
) -> None:
    theirs = create(console.as_(admin(OTHER)), account_id=OTHER)["id"]
    before = console.sender.webhooks.get(theirs)
    body = problem(_ask(console.as_(admin(ACCOUNT)), found, _url(found, theirs)), 404)
    assert theirs in body["detail"]
    assert "whsec_" not in str(body)
    assert console.sender.webhooks.get(theirs) == before
    assert [row["action"] for row in audit_rows(console.sender)] == ["webhook.created"]


@pytest.mark.parametrize("found", WEBHOOK_ROUTES, ids=lambda found: f"{found.method} {found.path}")
def test_another_accounts_path_is_404(console: ConsoleHarness, found: Route) -> None:
    theirs = create(console.as_(admin(OTHER)), account_id=OTHER)["id"]
    body = problem(_ask(console.as_(admin(ACCOUNT)), found, _url(found, theirs, OTHER)), 404)
    assert body["detail"] == f"no account {OTHER}"


def test_an_operator_manages_any_accounts_webhooks(console: ConsoleHarness) -> None:
    client = console.as_(operator())
    hook = create(client)["id"]
    other = client.post(f"/api/v1/accounts/{OTHER}/webhooks", json=create_body()).get_json()
    assert other["accountId"] == OTHER
    assert client.get(webhook_url(hook)).status_code == 200
    problem(client.get(webhook_url(other["id"])), 404)
    assert client.get(webhook_url(other["id"], account_id=OTHER)).status_code == 200


def test_an_unknown_webhook_id_is_404(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    for found in ON_ONE_WEBHOOK:
        problem(_ask(client, found, _url(found, "wh_nothing")), 404)


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"surprise": 1}, "surprise"),
    ({"name": 7}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"description": ["not", "text"]}, "description"),
    ({"targetUrl": "ftp://lms.example.com/hooks"}, "targetUrl"),
    ({"targetUrl": "not a url"}, "targetUrl"),
    ({"targetUrl": "https://user:pw@lms.example.com/hooks"}, "targetUrl"),
    ({"events": ["COURSE_COMPLETED", "NO_SUCH_EVENT"]}, "events.1"),
    ({"events": []}, "events"),
    ({"events": "COURSE_COMPLETED"}, "events"),
    ({"auth": {"type": "basic", "username": "lms"}}, "auth.password"),
    ({"auth": {"type": "basic", "password": "pw"}}, "auth.username"),
    ({"auth": {"type": "basic", "username": "a:b", "password": "pw"}}, "auth.username"),
    ({"auth": {"type": "signature", "password": "pw"}}, "auth.password"),
    ({"auth": {"type": "oauth"}}, "auth.type"),
    ({"auth": "signature"}, "auth"),
    ({"active": "yes"}, "active"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_a_bad_create_body_is_a_422_naming_the_field(
    console: ConsoleHarness, changes: dict[str, Any], field: str
) -> None:
    response = console.as_(admin(ACCOUNT)).post(WEBHOOKS, json=create_body(**changes))
    body = problem(response, 422)
    assert field in [error["field"] for error in body["errors"]]
    assert body["detail"].startswith(field)
    assert "pw" not in str(body)
    assert console.sender.webhooks.list(ACCOUNT) == []


@pytest.mark.parametrize("missing", ["name", "targetUrl", "events"])
def test_a_create_body_without_a_required_field_is_a_422_naming_it(
    console: ConsoleHarness, missing: str
) -> None:
    body = create_body()
    del body[missing]
    errors = problem(console.as_(admin(ACCOUNT)).post(WEBHOOKS, json=body), 422)["errors"]
    assert errors == [{"field": missing, "message": "Field required"}]


@pytest.mark.parametrize(("changes", "field"), BAD_BODIES[1:], ids=[f for _, f in BAD_BODIES[1:]])
def test_a_bad_patch_body_is_a_422_naming_the_field(
    console: ConsoleHarness, changes: dict[str, Any], field: str
) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    body = problem(client.patch(webhook_url(created["id"]), json=changes), 422)
    assert field in [error["field"] for error in body["errors"]]
    assert client.get(webhook_url(created["id"])).get_json()["updatedAt"] == created["updatedAt"]


def test_a_private_target_is_refused_naming_the_field_when_the_sender_forbids_it(
    tmp_path: Any,
) -> None:
    console = build_harness(f"sqlite:///{tmp_path / 'strict.db'}", allow_private_targets=False)
    try:
        client = console.as_(admin(ACCOUNT))
        body = problem(client.post(WEBHOOKS, json=create_body()), 422)
        assert body["errors"][0]["field"] == "targetUrl"
        assert "127.0.0.1" in body["detail"]
    finally:
        console.sender.close()


# Secrets: shown once, in the answer of the call that makes them.


def test_a_signature_secret_is_shown_once_and_in_no_other_answer(
    console_on: ConsoleHarness,
) -> None:
    client = console_on.as_(admin(ACCOUNT))
    created = create(client)
    hook = created["id"]
    file = created["signatureFile"]
    assert file["webhookId"] == hook
    assert file["scheme"] == "standard-webhooks-v1"
    assert set(file) == {"webhookId", "scheme", "secret", "createdAt"}
    expected = json.loads(console_on.sender.webhooks.signature_file(hook).to_json())
    assert file == expected
    secret = file["secret"]
    others = [
        client.get(WEBHOOKS),
        client.get(webhook_url(hook)),
        client.patch(webhook_url(hook), json={"name": "renamed", "active": False}),
        client.post(webhook_url(hook, "activate")),
        client.post(webhook_url(hook, "retire")),
        client.post(webhook_url(hook, "test")),
        console_on.as_(admin(ACCOUNT, read_only=True)).get(webhook_url(hook, "signature-file")),
    ]
    for response in others:
        assert response.status_code < 500
        assert secret not in response.get_data(as_text=True)
        assert (response.get_json() or {}).get("signatureFile") is None
    assert secret not in audit_text(console_on.sender)


def test_an_ed25519_webhook_shows_its_public_key_and_never_the_signing_key(
    console: ConsoleHarness,
) -> None:
    created = create(console.as_(admin(ACCOUNT)), auth={"type": "signature-ed25519"})
    file = created["signatureFile"]
    assert file["scheme"] == "standard-webhooks-v1a"
    assert set(file) == {"webhookId", "scheme", "publicKey", "createdAt"}
    assert file["publicKey"].startswith("whpk_")
    assert "whsk_" not in json.dumps(created)


def test_a_basic_password_is_never_shown(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    basic = {"type": "basic", "username": "lms", "password": "hunter2-pw"}
    created = create(client, auth=basic)
    assert (created["auth"], created["basicUsername"]) == ("basic", "lms")
    assert created["signatureFile"] is None
    for response in (client.get(WEBHOOKS), client.get(webhook_url(created["id"]))):
        assert response.status_code == 200
        assert "hunter2-pw" not in response.get_data(as_text=True)
    assert "hunter2-pw" not in json.dumps(created)
    assert "hunter2-pw" not in audit_text(console.sender)


# The signature file download.


def test_the_signature_file_downloads_as_an_attachment(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    response = client.get(webhook_url(created["id"], "signature-file"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="signature-{created["id"]}.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == created["signatureFile"]
    Receiver(signature_file=response.get_json())


def test_a_webhook_without_a_signature_has_no_signature_file(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    for auth in ({"type": "none"}, {"type": "basic", "username": "u", "password": "p"}):
        hook = create(client, auth=auth)["id"]
        response = client.get(webhook_url(hook, "signature-file"))
        assert "only signature webhooks" in problem(response, 422)["detail"]
        assert "Content-Disposition" not in response.headers


# Test deliveries to a real listener.


def test_a_test_delivery_is_verified_with_the_downloaded_signature_file(
    console_on: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console_on.as_(admin(ACCOUNT))
    hook = create(client, targetUrl=listener.url)["id"]
    downloaded = client.get(webhook_url(hook, "signature-file")).get_json()
    listener.receiver = Receiver(signature_file=downloaded)
    result = client.post(webhook_url(hook, "test")).get_json()
    assert result["succeeded"] is True
    assert result["statusCode"] == 200
    assert result["responseExcerpt"] == "verified HOOKWIRE_TEST"
    assert result["error"] is None
    assert 0 <= result["latencyMs"] < 10_000
    assert result["auth"] == "signature"
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert header in result["verifiedBy"]
    headers = {name.lower(): value for name, value in listener.seen[0].items()}
    assert headers["webhook-id"] == result["requestId"]


def test_a_test_delivery_signed_by_another_secret_fails_verification(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    hook = create(client, targetUrl=listener.url)["id"]
    other = create(client, name="other")["signatureFile"]
    listener.receiver = Receiver(signature_file=other)
    result = client.post(webhook_url(hook, "test")).get_json()
    assert (result["succeeded"], result["statusCode"]) == (False, 401)
    assert result["responseExcerpt"] == "SignatureMismatchError"


def test_an_ed25519_test_delivery_is_verified_with_the_public_key(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    created = create(client, targetUrl=listener.url, auth={"type": "signature-ed25519"})
    listener.receiver = Receiver(signature_file=created["signatureFile"])
    result = client.post(webhook_url(created["id"], "test")).get_json()
    assert (result["statusCode"], result["responseExcerpt"]) == (200, "verified HOOKWIRE_TEST")
    assert "public key" in result["verifiedBy"]


def test_a_basic_auth_test_delivery_carries_the_credentials(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    listener.receiver = Receiver(basic_auth=("lms", "pw-basic"))
    client = console.as_(admin(ACCOUNT))
    basic = {"type": "basic", "username": "lms", "password": "pw-basic"}
    hook = create(client, targetUrl=listener.url, auth=basic)["id"]
    result = client.post(webhook_url(hook, "test")).get_json()
    assert (result["statusCode"], result["responseExcerpt"]) == (200, "verified HOOKWIRE_TEST")
    assert result["verifiedBy"].startswith("basic auth")
    assert "pw-basic" not in json.dumps(result)


def test_a_test_delivery_without_auth_says_nothing_verifies_it(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    hook = create(client, targetUrl=listener.url, auth={"type": "none"})["id"]
    result = client.post(webhook_url(hook, "test")).get_json()
    assert (result["statusCode"], result["responseExcerpt"]) == (200, "unverified")
    assert result["verifiedBy"].startswith("none")
    assert "webhook-signature" not in {name.lower() for name in listener.seen[0]}


def test_a_test_delivery_shows_only_the_first_500_characters_of_the_answer(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    listener.answer = lambda: Response("é" * 300 + "x" * 700, status=503)
    client = console.as_(admin(ACCOUNT))
    hook = create(client, targetUrl=listener.url)["id"]
    result = client.post(webhook_url(hook, "test")).get_json()
    assert (result["succeeded"], result["statusCode"]) == (False, 503)
    assert result["responseExcerpt"] == "é" * 300 + "x" * 200


def test_a_test_delivery_to_nothing_reports_the_error(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    hook = create(client)["id"]
    result = client.post(webhook_url(hook, "test")).get_json()
    assert (result["succeeded"], result["statusCode"], result["responseExcerpt"]) == (
        False,
        None,
        "",
    )
    assert "connect" in result["error"].lower()


def test_a_retired_webhook_can_still_be_tested(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    hook = create(client, targetUrl=listener.url, active=False)["id"]
    assert client.post(webhook_url(hook, "test")).get_json()["statusCode"] == 200


# Rotating the secret.


def test_after_a_rotation_with_grace_the_old_secret_still_verifies(
    console_on: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console_on.as_(admin(ACCOUNT))
    created = create(client, targetUrl=listener.url)
    old = created["signatureFile"]
    response = client.post(webhook_url(created["id"], "rotate-secret"), json={"graceSeconds": 600})
    assert response.status_code == 200
    new = response.get_json()["signatureFile"]
    assert new["secret"] != old["secret"]
    assert new["secrets"] == [new["secret"], old["secret"]]
    for file in (old, {**new, "secrets": [new["secret"]]}):
        listener.receiver = Receiver(signature_file=file)
        result = client.post(webhook_url(created["id"], "test")).get_json()
        assert result["responseExcerpt"] == "verified HOOKWIRE_TEST"
    assert new["secret"] not in client.get(webhook_url(created["id"])).get_data(as_text=True)
    assert new["secret"] not in audit_text(console_on.sender)


def test_after_a_rotation_without_grace_the_old_secret_no_longer_verifies(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    created = create(client, targetUrl=listener.url)
    rotated = client.post(webhook_url(created["id"], "rotate-secret"), json={"graceSeconds": 0})
    assert "secrets" not in rotated.get_json()["signatureFile"]
    listener.receiver = Receiver(signature_file=created["signatureFile"])
    result = client.post(webhook_url(created["id"], "test")).get_json()
    assert (result["statusCode"], result["responseExcerpt"]) == (401, "SignatureMismatchError")


def test_a_rotation_without_a_grace_keeps_the_old_secret_for_the_senders_default(
    console: ConsoleHarness,
) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    rotated = client.post(webhook_url(created["id"], "rotate-secret"), json={}).get_json()
    assert rotated["signatureFile"]["secrets"][1] == created["signatureFile"]["secret"]
    assert audit_rows(console.sender)[-1]["detail"] == {"graceSeconds": None}


@pytest.mark.parametrize("grace", [-1, 7 * 24 * 3600 + 1, "60", 1.5, True, None])
def test_a_grace_out_of_bounds_or_not_an_integer_is_a_422_naming_it(
    console: ConsoleHarness, grace: Any
) -> None:
    client = console.as_(admin(ACCOUNT))
    created = create(client)
    response = client.post(
        webhook_url(created["id"], "rotate-secret"), json={"graceSeconds": grace}
    )
    if grace is None:
        assert response.status_code == 200
        return
    assert [error["field"] for error in problem(response, 422)["errors"]] == ["graceSeconds"]
    assert [row["action"] for row in audit_rows(console.sender)] == ["webhook.created"]


def test_a_webhook_without_a_signature_has_no_secret_to_rotate(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    hook = create(client, auth={"type": "none"})["id"]
    response = client.post(webhook_url(hook, "rotate-secret"), json={})
    assert "no secret" in problem(response, 422)["detail"]


def test_every_answer_matches_the_openapi_document(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    listener = start_listener(httpserver)
    client = console.as_(admin(ACCOUNT))
    created = client.post(WEBHOOKS, json=create_body(targetUrl=listener.url))
    hook = created.get_json()["id"]
    answers = {
        "create_webhook": created,
        "list_webhooks": client.get(WEBHOOKS),
        "get_webhook": client.get(webhook_url(hook)),
        "update_webhook": client.patch(webhook_url(hook), json={"auth": {"type": "signature"}}),
        "retire_webhook": client.post(webhook_url(hook, "retire")),
        "activate_webhook": client.post(webhook_url(hook, "activate")),
        "test_webhook": client.post(webhook_url(hook, "test")),
        "rotate_webhook_secret": client.post(webhook_url(hook, "rotate-secret"), json={}),
        "download_signature_file": client.get(webhook_url(hook, "signature-file")),
        "delete_webhook": client.delete(webhook_url(hook)),
    }
    assert set(answers) == {found.view.__name__ for found in WEBHOOK_ROUTES}
    for view, response in answers.items():
        assert response.status_code < 300, (view, response.get_data(as_text=True))
        check_answer(route_named(ROUTES, view), response)
    check_answer(route_named(ROUTES, "get_webhook"), client.get(webhook_url(hook)))
    check_answer(route_named(ROUTES, "create_webhook"), client.post(WEBHOOKS, json={}))
