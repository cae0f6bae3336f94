"""Secrets never leak: not in a repr, not in a log line, not in an error message.

Every object that holds a secret, a signing key or a password is built and
shown; a whole publish-and-deliver cycle (successes, a 500, a refused
connection, a test delivery, a rotation) runs with every logger at DEBUG; and
bad input that involves a secret is raised. Each time, the text that comes
out is searched for every form of every secret: the ``whsec_``/``whsk_``
string, its bare base64, and the basic-auth password with its header form.
"""

from __future__ import annotations

import base64
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from aiohttp import web
from flask import Flask
from secret_forms import forms
from sqlalchemy import text

from hookwire import Receiver, read_signature_file, sign_headers
from hookwire.dedupe import RedisDedupe, dedupe_from_url
from hookwire.errors import WebhookError
from hookwire.flask import WebhookListener
from hookwire.recording import RecordedRequest
from hookwire.sender import BasicAuth, RetryPolicy, Sender
from hookwire.signature_file import SCHEME_HMAC
from hookwire.signing import (
    Verifier,
    basic_auth_header,
    generate_keypair,
    generate_secret,
    parse_key,
)

SECRET = generate_secret()
SIGNING_KEY, PUBLIC_KEY = generate_keypair()
PASSWORD = "Pa55-w0rd-that-must-not-show"
REDIS_PASSWORD = "r3dis-Pa55-that-must-not-show"
PG_PASSWORD = "pg-Pa55-that-must-not-show"
ENROLLMENT = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"}


ALL_FORMS = [
    *forms(SECRET),
    *forms(SIGNING_KEY),
    PASSWORD,
    basic_auth_header("hooks", PASSWORD).split()[-1],
    REDIS_PASSWORD,
    PG_PASSWORD,
]


def assert_clean(texts: Iterable[str], secrets: Iterable[str] = ALL_FORMS) -> None:
    joined = "\n".join(texts)
    leaked = [s for s in secrets if s in joined]
    assert leaked == [], f"secret forms found: {leaked}"


def error_text(exc: BaseException) -> str:
    """The message and the whole formatted chain, as a traceback would print it."""
    return "".join(traceback.format_exception(exc))


def record_text(record: logging.LogRecord) -> str:
    """Everything a log handler could print: message, arguments, extras and traceback."""
    parts = [record.getMessage(), repr(record.args), repr(vars(record))]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(error_text(record.exc_info[1]))
    return "\n".join(parts)


def test_the_search_finds_a_secret_in_any_of_its_forms() -> None:
    for form in ALL_FORMS:
        with pytest.raises(AssertionError):
            assert_clean([f"... {form} ..."])


# Objects that hold secrets show none of them.


def test_receiver_repr_shows_no_secret() -> None:
    receiver = Receiver(secret=SECRET, basic_auth=("hooks", PASSWORD))
    assert_clean([repr(receiver), str(receiver)])


def test_receiver_with_a_signing_key_repr_shows_no_key() -> None:
    assert_clean([repr(Receiver(secrets=[SIGNING_KEY, SECRET]))])


def test_verifier_repr_shows_no_secret() -> None:
    assert_clean([repr(Verifier([SECRET, SIGNING_KEY]))])


def test_key_repr_shows_no_material() -> None:
    for key in (parse_key(SECRET), parse_key(SIGNING_KEY)):
        raw = base64.b64encode(key.material).decode()
        assert_clean([repr(key), str(key)], [*ALL_FORMS, raw])


def test_signature_file_repr_shows_no_secret() -> None:
    created = "2026-11-28T00:00:00Z"
    sig = read_signature_file(
        {"webhookId": "wh_1", "scheme": SCHEME_HMAC, "secret": SECRET, "createdAt": created}
    )
    assert_clean([repr(sig), str(sig)])


def test_basic_auth_repr_shows_no_password() -> None:
    auth = BasicAuth("hooks", PASSWORD)
    assert_clean([repr(auth), str(auth)])


def test_listener_repr_shows_no_secret() -> None:
    listener = WebhookListener(receiver=Receiver(secret=SECRET, basic_auth=("hooks", PASSWORD)))
    assert_clean([repr(listener)])


def test_redis_dedupe_repr_shows_no_password() -> None:
    store = RedisDedupe(f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/15")
    try:
        assert_clean([repr(store), str(store)])
    finally:
        store.close()


def test_sender_repr_shows_no_database_password(postgres_url: str) -> None:
    # The test server trusts local connections, so the password is carried but not checked.
    with_password = postgres_url.replace("postgres@", f"postgres:{PG_PASSWORD}@", 1)
    sender = Sender(with_password)
    try:
        assert_clean([repr(sender), str(sender), repr(sender.engine)])
    finally:
        sender.close()


def test_recorded_request_keeps_no_authorization_value() -> None:
    headers = {"Authorization": basic_auth_header("hooks", PASSWORD), "Content-Type": "x"}
    line = RecordedRequest.from_request(
        method="POST",
        path="/",
        query="",
        headers=headers,
        body=b"{}",
        received_at=datetime.now(UTC),
    ).to_json_line()
    assert_clean([line])


# Errors raised by bad input that involves a secret.


def test_wrong_secret_error_shows_neither_secret() -> None:
    other = generate_secret()
    body = b'{"accountId":1,"events":[]}'
    with pytest.raises(WebhookError) as caught:
        Receiver(secret=SECRET).verify(body, sign_headers(other, body))
    assert_clean([error_text(caught.value)], [*ALL_FORMS, *forms(other)])


def test_wrong_basic_password_error_shows_neither_password() -> None:
    headers = {"Authorization": basic_auth_header("hooks", "guessed-Pa55")}
    with pytest.raises(WebhookError) as caught:
        Receiver(basic_auth=("hooks", PASSWORD)).authenticate(b"{}", headers)
    assert_clean([error_text(caught.value)], [*ALL_FORMS, "guessed-Pa55"])


@pytest.mark.parametrize(
    "bad",
    [SECRET + "!!", "whsk_" + SECRET[6:20], "whsec_" + SECRET[6:] + "#"],
    ids=["not_base64", "short_signing_key", "stray_character"],
)
def test_unusable_secret_error_does_not_echo_it(bad: str) -> None:
    with pytest.raises(WebhookError) as caught:
        Receiver(secret=bad)
    assert_clean([error_text(caught.value)], forms(bad))


def test_secret_too_short_to_sign_with_error_does_not_echo_it() -> None:
    short = SECRET[:20]
    with pytest.raises(WebhookError) as caught:
        sign_headers(short, b"{}")
    assert_clean([error_text(caught.value)], forms(short))


def test_redis_url_with_a_password_that_cannot_connect_does_not_echo_it() -> None:
    store = dedupe_from_url(f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0")
    # redis's own error (an outage, not a hookwire one); only its text matters here.
    with pytest.raises(redis.RedisError) as caught:
        store.claim("e1")
    assert_clean([error_text(caught.value)])


def test_redis_url_with_a_password_and_a_bad_port_does_not_echo_it() -> None:
    with pytest.raises(WebhookError) as caught:
        dedupe_from_url(f"redis://:{REDIS_PASSWORD}@127.0.0.1:notaport/0")
    assert_clean([error_text(caught.value)])


def test_database_url_with_a_password_that_cannot_connect_does_not_echo_it() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(WebhookError) as caught:
        Sender(f"postgresql+psycopg://postgres:{PG_PASSWORD}@127.0.0.1:{port}/none")
    assert_clean([error_text(caught.value)])


def test_unparsable_database_url_with_a_password_does_not_echo_it() -> None:
    with pytest.raises(WebhookError) as caught:
        Sender(f"postgresql+psycopg://postgres:{PG_PASSWORD}@127.0.0.1:notaport/none")
    assert_clean([error_text(caught.value)])


def test_basic_auth_refused_at_registration_does_not_echo_the_password(tmp_path: Path) -> None:
    sender = Sender(f"sqlite:///{tmp_path / 'h.db'}", allow_private_targets=True)
    with sender, pytest.raises(WebhookError) as caught:
        sender.webhooks.create(
            name="x",
            target_url="http://127.0.0.1:9/",
            events=["COURSE_ENROLLMENT"],
            account_id=1,
            auth=BasicAuth("hooks", PASSWORD + "\x00"),
        )
    assert_clean([error_text(caught.value)])


# A whole cycle, logged at DEBUG.


@pytest.fixture
async def sink_urls() -> AsyncIterator[dict[str, str]]:
    """A 127.0.0.1 server with a path that accepts and one that fails, and a closed port."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True}, status=202)

    async def fail(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=500, text="upstream broke")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/fail", fail)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    yield {
        "ok": f"http://127.0.0.1:{port}/ok",
        "fail": f"http://127.0.0.1:{port}/fail",
        "closed": f"http://127.0.0.1:{closed}/refused",
    }
    await runner.cleanup()


async def test_publish_and_deliver_cycle_logs_no_secret(
    tmp_path: Path, sink_urls: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Failures wait a minute, so one drain sends each request once.
    retry = RetryPolicy(delays=[60], jitter=0)
    sender = Sender(
        f"sqlite:///{tmp_path / 'hookwire.db'}",
        allow_private_targets=True,
        max_webhooks_per_account=10,
        retry=retry,
        connect_timeout=2,
        read_timeout=2,
        lease_seconds=30,
    )
    try:
        hooks = [
            sender.webhooks.create(
                name=f"{auth_name}-{target}",
                target_url=sink_urls[target],
                events=["COURSE_ENROLLMENT"],
                account_id=1010,
                auth=auth,
            )
            for auth_name, auth in [
                ("hmac", "signature"),
                ("ed25519", "signature-ed25519"),
                ("basic", BasicAuth("hooks", PASSWORD)),
            ]
            for target in ("ok", "fail", "closed")
        ]
        for index in range(3):
            sender.publish(
                "COURSE_ENROLLMENT", data=ENROLLMENT, account_id=1010, event_id=f"e{index}"
            )
        await sender.drain()
        attempts = [await sender.webhooks.test(hook.id) for hook in hooks]
        sender.webhooks.rotate_secret(hooks[0].id)
        await sender.drain()
        with sender.engine.connect() as conn:
            query = text("SELECT secret FROM hookwire_webhook_secrets")
            stored = [row[0] for row in conn.execute(query)]
        delivered = [d for hook in hooks for d in sender.deliveries.list(hook.id)]
    finally:
        sender.close()
    secrets = [*ALL_FORMS, *(form for secret in stored for form in forms(secret))]
    assert len(stored) == 7  # six signature webhooks, and one rotation
    assert any(a.succeeded for a in attempts)
    assert any(not a.succeeded for a in attempts)
    assert {d.status for d in delivered} >= {"succeeded", "failed"}
    assert_clean([record_text(r) for r in caplog.records], secrets)
    assert_clean(
        [repr(a) for a in attempts] + [repr(d) for d in delivered] + [repr(h) for h in hooks],
        secrets,
    )


def test_listener_rejections_log_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = Flask("leaks")
    WebhookListener(app, receiver=Receiver(secret=SECRET, basic_auth=("hooks", PASSWORD)))
    client = app.test_client()
    body = b'{"accountId":1,"events":[]}'
    wrong = {"Authorization": basic_auth_header("hooks", "guessed-Pa55")}
    client.post(
        "/webhooks",
        data=body,
        headers={**sign_headers(SECRET, body), **wrong},
        content_type="application/json",
    )
    right = {"Authorization": basic_auth_header("hooks", PASSWORD)}
    client.post(
        "/webhooks",
        data=body,
        headers={**sign_headers(generate_secret(), body), **right},
        content_type="application/json",
    )
    assert len(caplog.records) >= 2
    assert_clean([record_text(r) for r in caplog.records], [*ALL_FORMS, "guessed-Pa55"])
