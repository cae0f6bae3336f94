"""Typed events: timestamps, field errors with locations, the wire form and the catalogue."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hookwire import (
    CATALOGUE,
    CompletionEvent,
    EnrollmentEvent,
    Envelope,
    PayloadError,
    UnknownEventError,
    event_spec,
    parse_unverified,
)
from hookwire.events import CompletionData, EnrollmentData, event_adapter

INSTANT = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)


def envelope(**event: Any) -> bytes:
    base: dict[str, Any] = {
        "eventId": "e-1",
        "eventName": "COURSE_ENROLLMENT",
        "timestamp": "2024-11-08T03:49:52Z",
        "data": {"userId": 1, "loId": "course:1", "loInstanceId": "course:1_1"},
    }
    return json.dumps({"accountId": 7, "events": [{**base, **event}]}).encode()


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-11-08T03:49:52.000Z",
        "2024-11-08T05:49:52+02:00",
        "2024-11-08T03:49:52",
        1731037792,
        1731037792000,
    ],
    ids=["iso-z", "iso-offset", "iso-naive", "epoch-s", "epoch-ms"],
)
def test_timestamp_formats_give_the_same_utc_instant(timestamp: str | int) -> None:
    event = parse_unverified(envelope(timestamp=timestamp)).events[0]
    assert event.timestamp == INSTANT
    assert event.timestamp.utcoffset() == INSTANT.utcoffset()


def test_data_dates_accept_epoch_seconds() -> None:
    data = {"userId": 1, "loId": "c", "loInstanceId": "c_1", "dateEnrolled": 1731037792}
    event = parse_unverified(envelope(data=data)).events[0]
    assert isinstance(event, EnrollmentEvent)
    assert event.data.date_enrolled == INSTANT


def test_wrong_field_type_names_its_location() -> None:
    data = {"userId": "not-a-number", "loId": "c", "loInstanceId": "c_1"}
    with pytest.raises(PayloadError) as info:
        parse_unverified(envelope(data=data))
    assert info.value.location == "events.0.data.userId"
    assert str(info.value).startswith("events.0.data.userId:")


def test_missing_field_names_its_location() -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(envelope(data={"userId": 1, "loId": "c"}))
    assert info.value.location == "events.0.data.loInstanceId"


def test_not_an_envelope_fails_without_location() -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(b"[1, 2]")
    assert info.value.location == ""


def test_not_json_fails() -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(b"\xff\xfe")
    assert "not JSON" in str(info.value)


def test_unknown_extra_fields_are_kept_and_serialised() -> None:
    data = {"userId": 1, "loId": "c", "loInstanceId": "c_1", "newVendorField": [1, 2]}
    body = json.loads(envelope(data=data, traceId="t-9"))
    body["region"] = "eu"
    wire = parse_unverified(json.dumps(body)).to_wire()
    assert wire["region"] == "eu"
    assert wire["events"][0]["traceId"] == "t-9"
    assert wire["events"][0]["data"]["newVendorField"] == [1, 2]


def test_to_wire_gives_the_camel_case_wire_form() -> None:
    data = {
        "userId": 1,
        "loId": "course:1",
        "loInstanceId": "course:1_1",
        "dateCompleted": 1731037792,
        "hasPassed": False,
    }
    body = envelope(eventName="COURSE_COMPLETED", eventInfo="x-LoSt", data=data)
    assert parse_unverified(body).to_wire() == {
        "accountId": 7,
        "events": [
            {
                "eventId": "e-1",
                "eventName": "COURSE_COMPLETED",
                "timestamp": "2024-11-08T03:49:52Z",
                "eventInfo": "x-LoSt",
                "data": {
                    "userId": 1,
                    "loId": "course:1",
                    "loInstanceId": "course:1_1",
                    "dateCompleted": "2024-11-08T03:49:52Z",
                    "hasPassed": False,
                },
            }
        ],
    }


def test_wire_form_parses_back_to_equal_envelope() -> None:
    first = parse_unverified(envelope(eventName="COURSE_COMPLETED"))
    assert parse_unverified(json.dumps(first.to_wire())) == first


def test_python_names_are_accepted_too() -> None:
    event = event_adapter.validate_python(
        {
            "event_id": "e",
            "event_name": "COURSE_COMPLETED",
            "timestamp": INSTANT,
            "data": CompletionData(user_id=1, lo_id="c", lo_instance_id="c_1", has_passed=True),
        }
    )
    assert isinstance(event, CompletionEvent)


def test_catalogue_has_18_realtime_names() -> None:
    realtime = [name for name, spec in CATALOGUE.items() if spec.realtime]
    assert len(realtime) == 18
    assert "RESPONSE:ASYNCAPI_USERGROUP_USER_REMOVED" in realtime
    assert "CI_STATS" in realtime


def test_catalogue_has_13_batch_names() -> None:
    batch = [name for name, spec in CATALOGUE.items() if not spec.realtime]
    assert len(batch) == 13
    assert "LEARNER_PROGRESS" in batch
    assert all(n.endswith("_BATCH") for n in batch if n != "LEARNER_PROGRESS")


def test_event_spec_knows_family_and_model() -> None:
    spec = event_spec("LEARNING_PATH_COMPLETION_ROLLBACK_BATCH")
    assert spec.family == "enrollment"
    assert spec.event_type is EnrollmentEvent
    assert spec.data_model is EnrollmentData
    assert not spec.realtime


def test_event_spec_of_unknown_name_fails() -> None:
    with pytest.raises(UnknownEventError) as info:
        event_spec("COURSE_TELEPORTED")
    assert info.value.event_name == "COURSE_TELEPORTED"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_catalogue_name_parses_to_its_class(name: str) -> None:
    model = CATALOGUE[name].data_model
    fields = {
        "userId": 1,
        "loId": "course:1",
        "loInstanceId": "course:1_1",
        "progressPercent": 5,
        "waitlistCount": 0,
        "enrollmentCount": 1,
        "seatLimit": 2,
        "status": "SUCCESS",
    }
    data = {k: v for k, v in fields.items() if model.model_fields.get(_snake(k)) is not None}
    event = parse_unverified(envelope(eventName=name, data=data)).events[0]
    assert type(event) is CATALOGUE[name].event_type


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


def test_unknown_name_with_missing_field_names_the_field() -> None:
    body = json.dumps({"accountId": 1, "events": [{"eventName": "NEW_THING", "timestamp": 1}]})
    with pytest.raises(PayloadError) as info:
        parse_unverified(body)
    assert info.value.location == "events.0.eventId"


def test_event_that_is_not_an_object_is_reported_once() -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(b'{"accountId": 1, "events": [5]}')
    assert str(info.value) == "events.0: Input should be an object"


def test_catalogued_name_with_bad_data_is_not_generic() -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(envelope(eventName="CI_STATS", data={"loInstanceId": "c_1"}))
    assert info.value.location.startswith("events.0.data.")


def test_envelope_accepts_event_instances() -> None:
    events = parse_unverified(envelope(eventName="COURSE_COMPLETED")).events
    rebuilt = Envelope(account_id=7, events=events)
    assert isinstance(rebuilt.events[0], CompletionEvent)


def test_explicit_null_survives_the_round_trip_to_the_wire() -> None:
    body = envelope(eventName="COURSE_COMPLETED", eventInfo=None)
    assert parse_unverified(body).to_wire()["events"][0]["eventInfo"] is None
