"""The console's pages through Flask's test client: access, forms, actions, the log, headers."""

from __future__ import annotations

import asyncio
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from console_support import ConsoleHarness, admin, build_harness, operator
from flask import Flask
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer

from hookwire.console import Console
from hookwire.samples import sample_data
from hookwire.sender import Sender

ACCOUNT = 1010
HOOKS = f"/accounts/{ACCOUNT}/webhooks"
LOG = f"/accounts/{ACCOUNT}/deliveries"


def csrf_of(html: bytes) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(rb'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1).decode()


def token(client: FlaskClient, url: str = HOOKS + "/new") -> str:
    return csrf_of(client.get(url).data)


def form(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "LMS sync",
        "description": "",
        "target_url": "https://example.com/hooks",
        "auth": "signature",
        "events": ["COURSE_COMPLETED"],
        "active": "on",
    }
    base.update(values)
    return base


def add(client: FlaskClient, **values: object) -> bytes:
    response = client.post(HOOKS + "/new", data={**form(**values), "csrf_token": token(client)})
    assert response.status_code == 201, response.data[:500]
    return response.data


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_every_page_sends_a_strict_content_security_policy(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    for url in (HOOKS, HOOKS + "/new", LOG, "/catalogue", f"/accounts/{ACCOUNT}/audit"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self';" in policy
        assert "style-src 'self';" in policy
        assert "form-action 'self'" in policy
        assert "frame-ancestors 'self'" in policy
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert b"<script>" not in response.data
        assert b" onclick=" not in response.data


def test_frame_ancestors_follow_the_setting(tmp_path: Path) -> None:
    sender = Sender(f"sqlite:///{tmp_path / 'framed.db'}")
    app = Flask("framed")
    app.config.update(
        HOOKWIRE_CONSOLE_SECRET_KEY="x" * 32,
        HOOKWIRE_CONSOLE_FRAME_ANCESTORS="https://lms.example.com",
    )
    Console(app, sender=sender, authorize=lambda _r: admin(ACCOUNT))
    response = app.test_client().get(HOOKS)
    assert "frame-ancestors https://lms.example.com" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    sender.close()


def test_the_start_page_leads_to_the_account_or_the_operators_accounts(
    console: ConsoleHarness,
) -> None:
    assert console.as_(admin(ACCOUNT)).get("/").headers["Location"] == HOOKS
    assert console.as_(operator()).get("/").headers["Location"] == "/accounts"


def test_without_a_login_the_page_says_to_open_an_access_link(console: ConsoleHarness) -> None:
    response = console.as_(None).get(HOOKS)
    assert response.status_code == 401
    assert "access link" in text(response.data)


def test_another_accounts_pages_are_not_found(console: ConsoleHarness) -> None:
    assert console.as_(admin(2020)).get(HOOKS).status_code == 404


def test_adding_a_signature_webhook_shows_its_secret_once_and_offers_the_file(
    console: ConsoleHarness,
) -> None:
    client = console.as_(admin(ACCOUNT))
    html = add(client)
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    secret = console.sender.webhooks.signature_file(hook.id).secret
    assert secret is not None
    assert secret.encode() in html
    assert b"Download signature (JSON)" in html
    detail = client.get(f"{HOOKS}/{hook.id}")
    assert secret.encode() not in detail.data
    download = client.get(f"{HOOKS}/{hook.id}/signature.json")
    assert "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.data) == console.sender.webhooks.signature_file(hook.id).to_dict()


def test_each_invalid_field_gets_the_librarys_message_beside_it(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    response = client.post(
        HOOKS + "/new",
        data={
            **form(name="  ", target_url="ftp://example.com", events=[]),
            "csrf_token": token(client),
        },
    )
    assert response.status_code == 422
    html = response.data.decode()
    assert re.search(r'id="name-error">the webhook name is empty', html)
    assert re.search(r'id="target_url-error">the target URL', html)
    assert re.search(r'id="events-error">a webhook needs at least one event', html)
    assert 'aria-describedby="target-help target_url-error"' in html
    assert console.sender.webhooks.list(ACCOUNT) == []


def test_basic_auth_needs_a_password_and_says_so_beside_it(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    response = client.post(
        HOOKS + "/new",
        data={**form(auth="basic", basic_username="hooks"), "csrf_token": token(client)},
    )
    assert response.status_code == 422
    assert b'id="basic_password-error">the basic auth password is empty' in response.data


def test_editing_keeps_a_basic_password_left_empty(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    add(client, auth="basic", basic_username="hooks", basic_password="s3cret")
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    response = client.post(
        f"{HOOKS}/{hook.id}/edit",
        data={
            **form(name="Renamed", auth="basic", basic_username="hooks"),
            "csrf_token": token(client),
        },
    )
    assert response.status_code == 302
    assert console.sender.webhooks.get(hook.id).name == "Renamed"
    assert console.sender._store.basic_password(hook.id) == "s3cret"


def test_at_the_limit_add_is_disabled_with_the_reason(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    for number in range(5):
        add(client, name=f"hook {number}")
    html = client.get(HOOKS).data.decode()
    assert re.search(r"<button type=\"button\" disabled[^>]*>Add webhook</button>", html)
    assert "at most 5 webhooks" in html
    response = client.post(HOOKS + "/new", data={**form(), "csrf_token": token(client)})
    assert response.status_code == 422
    assert "already has 5 webhooks" in text(response.data)


def test_a_read_only_caller_sees_no_write_controls_and_cannot_write(
    console: ConsoleHarness,
) -> None:
    hook = console.sender.webhooks.create(
        name="h",
        target_url="https://example.com/h",
        events=["COURSE_COMPLETED"],
        account_id=ACCOUNT,
        auth="signature",
    )
    client = console.as_(admin(ACCOUNT, read_only=True))
    for url in (HOOKS, f"{HOOKS}/{hook.id}", LOG):
        html = client.get(url).data
        assert b'<form method="post"' not in html, url
        assert b"Add webhook" not in html
        assert b"Rotate secret" not in html
    assert client.get(HOOKS + "/new").status_code == 403
    assert client.get(f"{HOOKS}/{hook.id}/signature.json").status_code == 403
    refused = client.post(f"{HOOKS}/{hook.id}/retire", data={"csrf_token": "x"})
    assert refused.status_code == 403
    assert console.sender.webhooks.get(hook.id).active


def test_a_form_posted_without_its_csrf_token_is_refused(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    response = client.post(HOOKS + "/new", data=form())
    assert response.status_code == 403
    assert b"CSRF" in response.data
    forged = client.post(HOOKS + "/new", data={**form(), "csrf_token": "forged"})
    assert forged.status_code == 403
    assert console.sender.webhooks.list(ACCOUNT) == []


def test_retire_activate_and_delete_take_a_confirmation_step(console: ConsoleHarness) -> None:
    client = console.as_(admin(ACCOUNT))
    add(client)
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    page = client.get(f"{HOOKS}/{hook.id}/confirm/retire")
    assert b"Retire LMS sync?" in page.data
    done = client.post(f"{HOOKS}/{hook.id}/retire", data={"csrf_token": csrf_of(page.data)})
    assert done.status_code == 303
    assert not console.sender.webhooks.get(hook.id).active
    assert b"retired" in client.get(f"{HOOKS}/{hook.id}").data
    client.post(f"{HOOKS}/{hook.id}/activate", data={"csrf_token": csrf_of(page.data)})
    assert console.sender.webhooks.get(hook.id).active
    client.post(f"{HOOKS}/{hook.id}/delete", data={"csrf_token": csrf_of(page.data)})
    assert console.sender.webhooks.list(ACCOUNT) == []
    actions = text(client.get(f"/accounts/{ACCOUNT}/audit").data)
    for action in ("webhook.created", "webhook.retired", "webhook.activated", "webhook.deleted"):
        assert action in actions


def test_rotating_shows_the_new_secret_and_keeps_the_old_one_valid(
    console: ConsoleHarness,
) -> None:
    client = console.as_(admin(ACCOUNT))
    add(client)
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    old = console.sender.webhooks.signature_file(hook.id).secret
    response = client.post(
        f"{HOOKS}/{hook.id}/rotate", data={"grace": "3600", "csrf_token": token(client)}
    )
    assert response.status_code == 201
    file = console.sender.webhooks.signature_file(hook.id)
    assert file.secret != old
    assert file.secret is not None
    assert file.secret.encode() in response.data
    assert b"1 hour" in response.data


def test_test_webhook_shows_the_answer_inline(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("thanks, listener", status=202)
    client = console.as_(admin(ACCOUNT))
    add(client, target_url=httpserver.url_for("/hooks"))
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    response = client.post(f"{HOOKS}/{hook.id}/test", data={"csrf_token": token(client)})
    assert response.status_code == 200
    shown = text(response.data)
    assert "Test result: succeeded" in shown
    assert "Status 202" in shown
    assert "thanks, listener" in shown


def publish(console: ConsoleHarness, count: int, name: str = "COURSE_COMPLETED") -> None:
    rng = random.Random(3)
    for _ in range(count):
        console.sender.publish(name, data=sample_data(name, rng), account_id=ACCOUNT)


def test_the_log_filters_pages_by_cursor_and_shows_a_delivery(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("no", status=500)
    client = console.as_(admin(ACCOUNT))
    add(
        client,
        target_url=httpserver.url_for("/hooks"),
        events=["COURSE_COMPLETED", "COURSE_ENROLLMENT"],
    )
    publish(console, 30)
    publish(console, 2, "COURSE_ENROLLMENT")
    first = client.get(LOG)
    assert first.status_code == 200
    assert (
        first.data.count(b"COURSE_COMPLETED</td>") + first.data.count(b"COURSE_ENROLLMENT</td>")
        == 25
    )
    following = re.search(rb'href="([^"]+)" rel="next"', first.data)
    assert following is not None
    second = client.get(following.group(1).decode().replace("&amp;", "&"))
    assert second.data.count(b"</td>\n      <td>COURSE_") == 7
    only = client.get(LOG + "?event=COURSE_ENROLLMENT")
    assert only.data.count(b"<td>COURSE_ENROLLMENT</td>") == 2
    assert b"<td>COURSE_COMPLETED</td>" not in only.data
    assert client.get(LOG + "?status=nonsense").status_code == 422
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert b"No deliveries match" in client.get(f"{LOG}?since={future}").data

    asyncio.run(console.sender.drain())
    delivery = console.sender.deliveries.list(status="failed", limit=1)[0]
    page = client.get(f"{LOG}/{delivery.id}")
    shown = text(page.data)
    assert "500 in" in shown
    assert "webhook-signature [redacted]" in shown
    assert '"eventName": "COURSE_' in page.data.decode().replace("&#34;", '"')
    redo = client.post(f"{LOG}/{delivery.id}/redeliver", data={"csrf_token": csrf_of(page.data)})
    assert redo.status_code == 303


def test_recover_resends_a_webhooks_failures_since_a_time(
    console: ConsoleHarness, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks").respond_with_data("no", status=500)
    client = console.as_(admin(ACCOUNT))
    add(client, target_url=httpserver.url_for("/hooks"))
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    publish(console, 2)
    asyncio.run(console.sender.drain())
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        LOG + "/recover",
        data={"webhook": hook.id, "since": since, "csrf_token": token(client, LOG)},
    )
    assert response.status_code == 303
    assert "recovered=2" in response.headers["Location"]


def test_the_catalogue_lists_every_event_with_fields_and_an_example(
    console: ConsoleHarness,
) -> None:
    html = console.as_(admin(ACCOUNT, read_only=True)).get("/catalogue").data.decode()
    assert 'id="COURSE_COMPLETED"' in html
    assert "<code>hasPassed</code>" in html
    assert "A learner completed a course; hasPassed says whether they passed." in html
    assert 'id="LEARNER_PROGRESS"' in html


def test_an_operator_switches_between_accounts(console: ConsoleHarness) -> None:
    console.sender.webhooks.create(
        name="h", target_url="https://example.com/h", events=["COURSE_COMPLETED"], account_id=2020
    )
    client = console.as_(operator())
    assert b"Account 2020" in client.get("/accounts").data
    assert client.get("/accounts/switch?account=2020").headers["Location"] == (
        "/accounts/2020/webhooks"
    )
    assert client.get("/accounts/switch?account=abc").status_code == 422
    limited = console.as_(admin(ACCOUNT))
    assert limited.get("/accounts/switch?account=2020").status_code == 404


@pytest.mark.parametrize("url", [f"{HOOKS}/wh_missing", f"{LOG}/dlv_missing"])
def test_a_missing_webhook_or_delivery_is_a_404_page(console: ConsoleHarness, url: str) -> None:
    response = console.as_(admin(ACCOUNT)).get(url)
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_an_access_link_opens_the_accounts_pages_with_session_csrf(
    console: ConsoleHarness,
) -> None:
    client = console.as_(None)
    opened = client.post(console.console.access_link(ACCOUNT))
    assert opened.status_code == 303
    assert client.get("/").headers["Location"] == HOOKS
    add(client)
    hook = console.sender.webhooks.list(ACCOUNT)[0]
    assert client.get(f"{HOOKS}/{hook.id}").status_code == 200
    assert client.post(HOOKS + "/new", data=form()).status_code == 403


def test_a_read_only_link_gives_pages_without_writes(console: ConsoleHarness) -> None:
    client = console.as_(None)
    client.post(console.console.access_link(ACCOUNT, read_only=True))
    listing = client.get(HOOKS)
    assert listing.status_code == 200
    assert b"read-only" in listing.data
    assert b"Add webhook" not in listing.data
    assert client.post(HOOKS + "/new", data=form()).status_code == 403
    assert console.sender.webhooks.list(ACCOUNT) == []


def test_an_api_key_does_not_open_the_pages(console: ConsoleHarness) -> None:
    from hookwire.console.keys import create_key

    _info, key = create_key(console.sender.engine, name="ops", accounts=None, read_only=False)
    response = console.as_(None).get(HOOKS, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    assert "API keys are for the API" in text(response.data)


def test_a_blocked_target_is_refused_beside_the_target_field(tmp_path: Path) -> None:
    guarded = build_harness(f"sqlite:///{tmp_path / 'guarded.db'}", allow_private_targets=False)
    client = guarded.as_(admin(ACCOUNT))
    response = client.post(
        HOOKS + "/new",
        data={**form(target_url="http://127.0.0.1:9/hooks"), "csrf_token": token(client)},
    )
    assert response.status_code == 422
    assert re.search(r'id="target_url-error">[^<]*127\.0\.0\.1', response.data.decode())
    assert guarded.sender.webhooks.list(ACCOUNT) == []
    guarded.sender.close()
