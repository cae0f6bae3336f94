"""The listener end to end through Flask's test client, with requests signed by hookwire."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hookwire import ConfigurationError, generate_secret
from hookwire.testing import make_envelope, signed_request

from app import create_app, settings_from_env

SECRET = generate_secret()
USER, INSTANCE = 7, "course:1_1"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(
        {
            "HOOKWIRE_SECRET": SECRET,
            "HOOKWIRE_DEDUPE_URL": f"sqlite:///{tmp_path / 'dedupe.db'}",
            "LISTENER_DB": str(tmp_path / "listener.db"),
        }
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def event(event_id: str, name: str, timestamp: int, **data: Any) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "eventName": name,
        "timestamp": timestamp,
        "eventInfo": f"info-{event_id}",
        "data": {"userId": USER, "loId": "course:1", "loInstanceId": INSTANCE, **data},
    }


def deliver(client: FlaskClient, *events: dict[str, Any]) -> Any:
    request = signed_request(make_envelope(*events), secret=SECRET)
    return client.post("/webhooks", data=request.body, headers=request.headers)


def status_of(app: Flask) -> tuple[str, int] | None:
    import store

    records = store.Store(app.config["LISTENER_DB"])
    try:
        record = records.learner(USER, INSTANCE)
    finally:
        records.close()
    return None if record is None else (record.status, record.progress)


def test_enrollment_is_accepted_and_stored(client: FlaskClient, app: Flask) -> None:
    response = deliver(client, event("e1", "COURSE_ENROLLMENT", 1000))
    assert response.status_code == 202
    assert status_of(app) == ("enrolled", 0)


def test_redelivered_event_is_a_duplicate(client: FlaskClient) -> None:
    deliver(client, event("e1", "COURSE_ENROLLMENT", 1000))
    response = deliver(client, event("e1", "COURSE_ENROLLMENT", 1000))
    assert response.get_json() == {"accepted": 0, "duplicates": 1}


def test_stale_completion_is_dropped(client: FlaskClient, app: Flask) -> None:
    deliver(client, event("e1", "COURSE_UNENROLLMENT", 2000))
    deliver(client, event("e2", "COURSE_COMPLETED", 1000, hasPassed=True))
    assert status_of(app) == ("unenrolled", 0)


def test_late_progress_is_not_dropped_for_its_timestamp(client: FlaskClient, app: Flask) -> None:
    deliver(client, event("e1", "COURSE_ENROLLMENT", 2000))
    deliver(client, event("e2", "LEARNER_PROGRESS", 1000, progressPercent=40))
    assert status_of(app) == ("in_progress", 40)


def test_progress_after_completion_is_ignored(client: FlaskClient, app: Flask) -> None:
    deliver(client, event("e1", "COURSE_COMPLETED", 1000, hasPassed=True))
    deliver(client, event("e2", "LEARNER_PROGRESS", 2000, progressPercent=50))
    assert status_of(app) == ("completed", 100)


def test_enrollment_after_progress_is_ignored(client: FlaskClient, app: Flask) -> None:
    deliver(client, event("e1", "LEARNER_PROGRESS", 1000, progressPercent=30))
    deliver(client, event("e2", "COURSE_ENROLLMENT", 2000))
    assert status_of(app) == ("in_progress", 30)


def test_every_event_is_logged_with_id_timestamp_and_info(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="listener.events"):
        deliver(client, event("e1", "COURSE_ENROLLMENT", 1000))
    assert "e1" in caplog.text
    assert "1970-01-01T00:16:40+00:00" in caplog.text
    assert "info-e1" in caplog.text


def test_seat_counts_and_unknown_events_are_accepted(client: FlaskClient) -> None:
    seats = {
        "eventId": "s1",
        "eventName": "CI_STATS",
        "timestamp": 1000,
        "data": {
            "loInstanceId": INSTANCE,
            "waitlistCount": 0,
            "enrollmentCount": 3,
            "seatLimit": 10,
        },
    }
    unknown = {"eventId": "u1", "eventName": "SOMETHING_NEW", "timestamp": 1000, "data": {}}
    assert deliver(client, seats, unknown).get_json() == {"accepted": 2, "duplicates": 0}


def test_unsigned_request_is_refused(client: FlaskClient) -> None:
    response = client.post("/webhooks", json={"accountId": 1, "events": []})
    assert response.status_code == 401


def test_missing_authentication_is_a_clear_startup_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="HOOKWIRE_SECRET"):
        create_app({"LISTENER_DB": str(tmp_path / "listener.db")})


def test_basic_auth_setting_needs_a_colon(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="user:password"):
        create_app({"HOOKWIRE_BASIC_AUTH": "nocolon", "LISTENER_DB": str(tmp_path / "l.db")})


def test_settings_from_the_environment_configure_the_listener(tmp_path: Path) -> None:
    environ = {
        "HOOKWIRE_SECRET": SECRET,
        "HOOKWIRE_PATH": "/hooks",
        "HOOKWIRE_MAX_BODY": "100",
        "HOOKWIRE_DEDUPE_URL": "memory://",
        "LISTENER_DB": str(tmp_path / "listener.db"),
    }
    client = create_app(settings_from_env(environ)).test_client()
    request = signed_request(make_envelope(event("e1", "COURSE_ENROLLMENT", 1000)), secret=SECRET)
    response = client.post("/hooks", data=request.body, headers=request.headers)
    assert response.status_code == 413
    assert response.get_json()["limit"] == 100
