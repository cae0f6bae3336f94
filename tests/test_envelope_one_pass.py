"""The envelope in one pass of pydantic-core: UTC timestamps, their errors and their schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hookwire import CATALOGUE, PayloadError, parse_unverified
from hookwire.events import CompletionEvent, EnrollmentData, GenericEvent, event_adapter

INSTANT = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
DATA = {"userId": 1, "loId": "course:1", "loInstanceId": "course:1_1"}


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": "e-1",
        "eventName": "COURSE_ENROLLMENT",
        "timestamp": "2024-11-08T03:49:52Z",
        "data": DATA,
    }
    return {**base, **fields}


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"accountId": 7, "events": list(events)}).encode()


@pytest.mark.parametrize(
    "timestamp",
    ["2024-11-08T03:49:52Z", "2024-11-08T05:49:52+02:00", "2024-11-08T03:49:52", 1731037792],
    ids=["utc", "offset", "naive", "epoch"],
)
def test_json_timestamps_come_out_in_utc_and_go_back_as_z(timestamp: str | int) -> None:
    parsed = parse_unverified(body(event(timestamp=timestamp)))
    stamp = parsed.events[0].timestamp
    assert stamp == INSTANT
    assert stamp.tzinfo == UTC
    assert stamp.utcoffset() == timedelta(0)
    assert parsed.to_wire()["events"][0]["timestamp"] == "2024-11-08T03:49:52Z"


def test_python_datetime_in_a_zero_offset_zone_becomes_utc_itself() -> None:
    gmt = timezone(timedelta(0), "GMT")
    parsed = event_adapter.validate_python(
        event(timestamp=datetime(2024, 11, 8, 3, 49, 52, tzinfo=gmt))
    )
    assert parsed.timestamp.tzinfo is UTC


@pytest.mark.parametrize("timestamp", ["not a time", "2024-13-01T00:00:00Z", True, None])
def test_bad_timestamp_is_one_fault_at_its_location(timestamp: object) -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(body(event(timestamp=timestamp)))
    assert info.value.location == "events.0.timestamp"
    assert "datetime" not in info.value.location
    assert "more)" not in str(info.value)


def test_bad_date_in_data_names_the_data_field() -> None:
    data = {**DATA, "dateEnrolled": "yesterday"}
    with pytest.raises(PayloadError) as info:
        parse_unverified(body(event(), event(data=data)))
    assert info.value.location == "events.1.data.dateEnrolled"
    assert str(info.value).startswith("events.1.data.dateEnrolled: ")


def test_dates_in_the_json_schema_stay_plain_date_time_strings() -> None:
    schema = EnrollmentData.model_json_schema(by_alias=True)
    assert schema["properties"]["dateEnrolled"]["anyOf"][0] == {
        "format": "date-time",
        "type": "string",
    }


def test_mixed_envelope_parses_in_order_into_each_class() -> None:
    completed = {**DATA, "dateCompleted": 1731037792000, "hasPassed": True, "grade": "A"}
    names = [name for name, spec in CATALOGUE.items() if spec.family == "enrollment"][:3]
    events = [event(eventId=f"e-{n}", eventName=name) for n, name in enumerate(names)]
    events.append(event(eventId="c", eventName="COURSE_COMPLETED", data=completed))
    events.append(event(eventId="u", eventName="SOMETHING_NEW", data={"x": 1}))
    parsed = parse_unverified(body(*events))
    assert [e.event_id for e in parsed.events] == ["e-0", "e-1", "e-2", "c", "u"]
    done = parsed.events[3]
    assert isinstance(done, CompletionEvent)
    assert done.data.date_completed == datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    assert done.data.model_extra == {"grade": "A"}
    assert isinstance(parsed.events[4], GenericEvent)
    assert parsed.events[4].data == {"x": 1}
