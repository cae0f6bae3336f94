"""The Flask listener through Flask's test client: statuses, handlers, de-duplication."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookwire import (
    ConfigurationError,
    Envelope,
    Event,
    Receiver,
    SignatureFile,
    generate_keypair,
    generate_secret,
    sign_headers,
)
from hookwire.dedupe import MemoryDedupe, SqliteDedupe
from hookwire.events import CompletionEvent
from hookwire.flask import WebhookListener
from hookwire.recording import Recorder, read_recording
from hookwire.signing import basic_auth_header
from hookwire.testing import post_webhook, signed_request

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def envelope(*event_ids: str, name: str = "COURSE_COMPLETED") -> bytes:
    events = [
        {
            "eventId": event_id,
            "eventName": name,
            "timestamp": "2026-11-28T17:00:00Z",
            "eventInfo": "info",
            "data": {
                "userId": 7,
                "loId": "course:1",
                "loInstanceId": "course:1_1",
                "hasPassed": True,
            },
        }
        for event_id in event_ids
    ]
    return json.dumps({"accountId": 1010, "events": events}).encode()


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **sign_headers(SECRET, body), **extra}


@pytest.fixture
def app() -> Flask:
    return Flask("test")


@pytest.fixture
def listener(app: Flask) -> WebhookListener:
    return WebhookListener(app, receiver=Receiver(secret=SECRET), max_body=4096)


@pytest.fixture
def client(app: Flask, listener: WebhookListener) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, body: bytes) -> Any:
    return client.post("/webhooks", data=body, headers=signed(body))


def test_signed_envelope_is_accepted_with_counts(client: FlaskClient) -> None:
    response = post(client, envelope("e1", "e2"))
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 2, "duplicates": 0}


def test_handler_receives_typed_event(client: FlaskClient, listener: WebhookListener) -> None:
    seen: list[Event] = []
    listener.on("COURSE_COMPLETED")(seen.append)
    post(client, envelope("e1"))
    assert isinstance(seen[0], CompletionEvent)
    assert seen[0].data.has_passed is True


def test_handler_with_second_parameter_receives_envelope(
    client: FlaskClient, listener: WebhookListener
) -> None:
    seen: list[tuple[Event, Envelope]] = []

    @listener.on_any
    def both(event: Event, envelope: Envelope) -> None:
        seen.append((event, envelope))

    post(client, envelope("e1"))
    assert seen[0][1].account_id == 1010


def test_handler_with_three_required_parameters_is_refused(listener: WebhookListener) -> None:
    with pytest.raises(ConfigurationError, match="positional"):
        listener.on_any(lambda a, b, c: None)


def test_handler_with_required_keyword_only_parameter_is_refused(
    listener: WebhookListener,
) -> None:
    def needs_keyword(event: Event, *, extra: str) -> None: ...

    with pytest.raises(ConfigurationError, match="positional"):
        listener.on("COURSE_COMPLETED")(needs_keyword)


def test_events_run_in_envelope_order_through_named_then_any_handlers(
    client: FlaskClient, listener: WebhookListener
) -> None:
    calls: list[str] = []
    listener.on_any(lambda event: calls.append(f"any:{event.event_id}"))
    listener.on("COURSE_COMPLETED", "COURSE_ENROLLMENT")(
        lambda event: calls.append(f"named:{event.event_id}")
    )
    post(client, envelope("e1", "e2"))
    assert calls == ["named:e1", "any:e1", "named:e2", "any:e2"]


def test_redelivered_event_is_counted_as_duplicate_and_not_handled(
    client: FlaskClient, listener: WebhookListener
) -> None:
    calls: list[str] = []
    listener.on_any(lambda event: calls.append(event.event_id))
    post(client, envelope("e1"))
    response = post(client, envelope("e1", "e2"))
    assert response.get_json() == {"accepted": 1, "duplicates": 1}
    assert calls == ["e1", "e2"]


def test_handler_failure_answers_500_and_retry_handles_each_event_once(
    client: FlaskClient, listener: WebhookListener
) -> None:
    calls: list[str] = []
    failures = iter([True])

    @listener.on_any
    def flaky(event: Event) -> None:
        calls.append(event.event_id)
        if event.event_id == "e2" and next(failures, False):
            raise RuntimeError("database down")

    body = envelope("e1", "e2", "e3")
    first = post(client, body)
    assert first.status_code == 500
    assert first.get_json()["accepted"] == 1
    second = post(client, body)
    assert second.get_json() == {"accepted": 2, "duplicates": 1}
    assert calls == ["e1", "e2", "e2", "e3"]


def test_error_handler_is_told_of_handler_failure(
    client: FlaskClient, listener: WebhookListener
) -> None:
    reported: list[tuple[str, str]] = []

    @listener.on_any
    def broken(event: Event) -> None:
        raise ValueError("boom")

    listener.on_error(lambda exc, event: reported.append((str(exc), event.event_id)))
    post(client, envelope("e1"))
    assert reported == [("boom", "e1")]


def test_event_claimed_by_another_worker_answers_503_with_retry_after(app: Flask) -> None:
    store = MemoryDedupe()
    WebhookListener(app, receiver=Receiver(secret=SECRET), dedupe=store)
    store.claim("e1")
    response = post(app.test_client(), envelope("e1"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


BASIC = ("hook", "s3cret-pass")


@pytest.fixture
def basic_client() -> FlaskClient:
    app = Flask("basic")
    WebhookListener(app, receiver=Receiver(basic_auth=BASIC), max_body=4096)
    return app.test_client()


def _json_ct(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json"}


def _typed(content_type: str) -> Callable[[bytes], dict[str, str]]:
    return lambda body: {**signed(body), "Content-Type": content_type}


BAD_FIELD = envelope("e1").replace(b'"userId": 7', b'"userId": "x"')

BAD_INPUT: list[tuple[str, str, Callable[[bytes], dict[str, str]], bytes, int, str]] = [
    ("get", "GET", signed, b"", 405, "POST"),
    ("put", "PUT", signed, envelope("e1"), 405, "POST"),
    ("text content type", "POST", _typed("text/plain"), b"{}", 415, ""),
    ("no signature", "POST", _json_ct, envelope("e1"), 401, ""),
    ("wrong signature", "POST", lambda b: signed(b + b" "), envelope("e1"), 401, ""),
    ("not json", "POST", signed, b"{nope", 400, ""),
    ("bad field", "POST", signed, BAD_FIELD, 400, "events.0.data.userId"),
    ("too large", "POST", signed, b" " * 5000, 413, ""),
    ("vendor json type", "POST", _typed("application/vnd.x+json"), envelope("e1"), 202, ""),
]


@pytest.mark.parametrize(
    ("method", "make_headers", "body", "status", "detail"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_request_gets_its_documented_status(
    client: FlaskClient,
    method: str,
    make_headers: Callable[[bytes], dict[str, str]],
    body: bytes,
    status: int,
    detail: str,
) -> None:
    response = client.open("/webhooks", method=method, data=body, headers=make_headers(body))
    assert response.status_code == status
    assert response.is_json
    if status == 405:
        assert response.headers["Allow"] == detail
    elif status == 400:
        assert response.get_json()["location"] == detail
        assert response.get_json()["error"]


def test_failed_basic_auth_answers_401_with_www_authenticate(basic_client: FlaskClient) -> None:
    body = envelope("e1")
    response = basic_client.post(
        "/webhooks",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Basic d3Jvbmc6d3Jvbmc="},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_right_basic_auth_is_accepted(basic_client: FlaskClient) -> None:
    body = envelope("e1")
    response = basic_client.post(
        "/webhooks",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": basic_auth_header(*BASIC)},
    )
    assert response.status_code == 202


def test_signature_failure_has_no_www_authenticate(client: FlaskClient) -> None:
    response = client.post("/webhooks", data=b"{}", headers={"Content-Type": "application/json"})
    assert "WWW-Authenticate" not in response.headers


def test_bad_input_logs_one_line_without_traceback(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.post("/webhooks", data=b"{nope", headers=signed(b"{nope"))
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].exc_info is None
    assert SECRET not in caplog.text


def test_max_body_is_read_from_app_config() -> None:
    app = Flask("config")
    app.config["HOOKWIRE_MAX_BODY"] = 10
    WebhookListener(app, receiver=Receiver(secret=SECRET))
    assert post(app.test_client(), envelope("e1")).status_code == 413


def test_dedupe_url_is_read_from_app_config(tmp_path: Any) -> None:
    app = Flask("config")
    app.config["HOOKWIRE_DEDUPE_URL"] = f"sqlite:///{tmp_path}/seen.db"
    WebhookListener(app, receiver=Receiver(secret=SECRET))
    assert isinstance(app.extensions["hookwire"]["/webhooks"].dedupe, SqliteDedupe)


def test_init_app_serves_several_apps_from_one_listener() -> None:
    listener = WebhookListener(receiver=Receiver(secret=SECRET))
    first, second = Flask("one"), Flask("two")
    listener.init_app(first)
    listener.init_app(second)
    body = envelope("e1")
    assert post(first.test_client(), body).status_code == 202
    # Each app has its own in-memory store, so the same event is new to the second app.
    assert post(second.test_client(), body).get_json() == {"accepted": 1, "duplicates": 0}


def test_listener_does_not_keep_the_app() -> None:
    app = Flask("weak")
    listener = WebhookListener(app, receiver=Receiver(secret=SECRET))
    assert app not in vars(listener).values()


def test_second_listener_on_the_same_path_is_refused(app: Flask, listener: WebhookListener) -> None:
    with pytest.raises(ConfigurationError, match="already"):
        WebhookListener(app, receiver=Receiver(secret=SECRET), path="/webhooks")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_signed_body_is_answered_202_or_400_never_500(body: bytes) -> None:
    app = Flask("fuzz")
    WebhookListener(app, receiver=Receiver(secret=SECRET))
    response = post(app.test_client(), body)
    assert response.status_code in (202, 400)
    assert response.is_json


# --- the app-factory shape: settings from app.config ------------------------------------


def factory_app(listener: WebhookListener | None = None, **config: Any) -> Flask:
    app = Flask("factory")
    app.config.update(config)
    (listener or WebhookListener()).init_app(app)
    return app


def test_app_factory_reads_the_secret_from_config() -> None:
    listener = WebhookListener()
    seen: list[str] = []
    listener.on_any(lambda event: seen.append(event.event_id))
    app = factory_app(listener, HOOKWIRE_SECRET=SECRET)
    assert post(app.test_client(), envelope("e1")).status_code == 202
    assert seen == ["e1"]


def test_secrets_separated_by_spaces_are_all_accepted_during_a_rotation() -> None:
    new = generate_secret()
    client = factory_app(HOOKWIRE_SECRET=f"{SECRET} {new}").test_client()
    assert post_webhook(client, envelope("e1"), secret=new).status == 202


def test_signature_file_is_read_from_config(tmp_path: Path) -> None:
    path = tmp_path / "signature.json"
    created = "2026-11-28T17:00:00Z"
    SignatureFile.from_dict({"webhookId": "wh_1", "secret": SECRET, "createdAt": created}).write(
        path
    )
    client = factory_app(HOOKWIRE_SIGNATURE_FILE=str(path)).test_client()
    assert post(client, envelope("e1")).status_code == 202


def test_public_key_is_read_from_config() -> None:
    signing_key, public_key = generate_keypair()
    client = factory_app(HOOKWIRE_PUBLIC_KEY=public_key).test_client()
    assert post_webhook(client, envelope("e1"), private_key=signing_key).status == 202
    assert post(client, envelope("e2")).status_code == 401


def test_basic_auth_is_read_from_config_as_user_colon_password() -> None:
    client = factory_app(HOOKWIRE_BASIC_AUTH="hook:s3cret:pass").test_client()
    body = envelope("e1")
    assert post_webhook(client, body, basic_auth=("hook", "s3cret:pass")).status == 202
    wrong = post_webhook(client, body)
    assert wrong.status == 401
    assert wrong.headers["www-authenticate"] == 'Basic realm="webhooks", charset="UTF-8"'


def test_tolerance_is_read_from_config() -> None:
    stale = signed_request(envelope("e1"), secret=SECRET, timestamp=int(time.time()) - 120)
    default = factory_app(HOOKWIRE_SECRET=SECRET).test_client()
    assert post_webhook(default, stale).status == 202
    strict = factory_app(HOOKWIRE_SECRET=SECRET, HOOKWIRE_TOLERANCE="60").test_client()
    assert post_webhook(strict, stale).status == 401


def test_path_record_and_max_body_are_read_from_config(tmp_path: Path) -> None:
    record = tmp_path / "requests.jsonl"
    app = factory_app(
        HOOKWIRE_SECRET=SECRET,
        HOOKWIRE_PATH="/hooks",
        HOOKWIRE_RECORD=str(record),
        HOOKWIRE_MAX_BODY="2000",
    )
    client = app.test_client()
    body = envelope("e1")
    assert client.post("/hooks", data=body, headers=signed(body)).status_code == 202
    assert client.post("/hooks", data=b" " * 3000, headers=signed(b" " * 3000)).status_code == 413
    assert client.post("/webhooks", data=body, headers=signed(body)).status_code == 404
    assert [r.status for r in read_recording(record)] == [202, 413]


def test_constructor_arguments_win_over_config(tmp_path: Path) -> None:
    store, recorder = MemoryDedupe(), Recorder(tmp_path / "mine.jsonl")
    listener = WebhookListener(
        receiver=Receiver(secret=SECRET), path="/mine", dedupe=store, recorder=recorder
    )
    app = factory_app(
        listener,
        HOOKWIRE_SECRET=generate_secret(),
        HOOKWIRE_PATH="/theirs",
        HOOKWIRE_DEDUPE_URL=f"sqlite:///{tmp_path}/seen.db",
        HOOKWIRE_RECORD=str(tmp_path / "theirs.jsonl"),
    )
    body = envelope("e1")
    assert app.test_client().post("/mine", data=body, headers=signed(body)).status_code == 202
    core = app.extensions["hookwire"]["/mine"]
    assert (core.dedupe, core.recorder) == (store, recorder)
    assert not (tmp_path / "theirs.jsonl").exists()


def test_max_body_from_config_wins_over_the_constructor() -> None:
    app = factory_app(
        WebhookListener(max_body=10_000), HOOKWIRE_SECRET=SECRET, HOOKWIRE_MAX_BODY=10
    )
    assert post(app.test_client(), envelope("e1")).status_code == 413


def test_missing_authentication_is_one_line_and_adds_no_url() -> None:
    app = Flask("none")
    with pytest.raises(ConfigurationError, match="HOOKWIRE_SECRET") as caught:
        WebhookListener().init_app(app)
    assert "\n" not in str(caught.value)
    assert "hookwire" not in app.extensions
    assert [rule.rule for rule in app.url_map.iter_rules()] == ["/static/<path:filename>"]


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"HOOKWIRE_MAX_BODY": "lots"}, "HOOKWIRE_MAX_BODY"),
        ({"HOOKWIRE_MAX_BODY": 0}, "HOOKWIRE_MAX_BODY"),
        ({"HOOKWIRE_PATH": "webhooks"}, "HOOKWIRE_PATH"),
        ({"HOOKWIRE_BASIC_AUTH": "nocolon"}, "HOOKWIRE_BASIC_AUTH"),
        ({"HOOKWIRE_TOLERANCE": "soon"}, "HOOKWIRE_TOLERANCE"),
    ],
)
def test_bad_config_value_is_one_line_naming_its_key(config: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named) as caught:
        factory_app(**{"HOOKWIRE_SECRET": SECRET, **config})
    assert "\n" not in str(caught.value)
    assert "nocolon" not in str(caught.value)


def test_several_listeners_serve_one_app_on_their_own_paths() -> None:
    other = generate_secret()
    app = Flask("several")
    courses = WebhookListener(receiver=Receiver(secret=SECRET), path="/hooks/courses")
    groups = WebhookListener(receiver=Receiver(secret=other), path="/hooks/groups")
    seen: list[str] = []
    courses.on_any(lambda event: seen.append(f"courses:{event.event_id}"))
    groups.on_any(lambda event: seen.append(f"groups:{event.event_id}"))
    courses.init_app(app)
    groups.init_app(app)
    client = app.test_client()
    body = envelope("e1")
    mine = post_webhook(client, body, secret=SECRET, path="/hooks/courses")
    theirs = post_webhook(client, body, secret=other, path="/hooks/groups")
    assert (mine.status, theirs.status) == (202, 202)
    assert client.post("/hooks/groups", data=body, headers=signed(body)).status_code == 401
    assert seen == ["courses:e1", "groups:e1"]
    with app.test_request_context():
        assert url_for("hookwire_hooks_courses") == "/hooks/courses"
        assert url_for("hookwire_hooks_groups") == "/hooks/groups"


def test_two_listeners_on_one_path_is_a_one_line_error(
    app: Flask, listener: WebhookListener
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WebhookListener(receiver=Receiver(secret=SECRET)).init_app(app)
    assert str(caught.value) == (
        "/webhooks already has a hookwire WebhookListener on this app; give each its own path"
    )


def test_one_listener_cannot_serve_one_app_twice(app: Flask, listener: WebhookListener) -> None:
    with pytest.raises(ConfigurationError, match="already"):
        listener.init_app(app)


def test_given_endpoint_names_the_url_and_a_taken_one_is_refused(app: Flask) -> None:
    WebhookListener(app, receiver=Receiver(secret=SECRET), endpoint="hooks")
    with app.test_request_context():
        assert url_for("hooks") == "/webhooks"
    with pytest.raises(ConfigurationError, match="endpoint 'hooks' is already taken"):
        WebhookListener(app, receiver=Receiver(secret=SECRET), path="/other", endpoint="hooks")
