"""make_event and make_envelope: realistic catalogue events, overrides, bad payloads on purpose."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from hookwire import CATALOGUE, PayloadError, UnknownEventError, parse_unverified
from hookwire.samples import sample_event
from hookwire.testing import make_envelope, make_event, signed_request


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_event_builds_and_validates(name: str) -> None:
    event = make_event(name, rng=3)
    model = CATALOGUE[name].event_type.model_validate(event)
    assert model.event_name == name
    assert event["data"], "sample data is not empty"


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_event_parses_as_its_class_from_the_wire(name: str) -> None:
    body = signed_request(make_envelope(make_event(name, rng=5))).body
    (event,) = parse_unverified(body).events
    assert type(event) is CATALOGUE[name].event_type


def test_same_seed_gives_the_same_event() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = make_event("COURSE_COMPLETED", rng=42, timestamp=moment)
    assert make_event("COURSE_COMPLETED", rng=42, timestamp=moment) == first
    assert make_event("COURSE_COMPLETED", rng=43, timestamp=moment) != first


def test_events_come_from_the_samples_generator() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    expected = sample_event("CI_STATS", random.Random(9), timestamp=moment)
    assert make_event("CI_STATS", rng=random.Random(9), timestamp=moment) == expected


def test_snake_case_override_sets_the_wire_data_field() -> None:
    event = make_event("COURSE_COMPLETED", user_id=7, has_passed=False)
    assert event["data"]["userId"] == 7
    assert event["data"]["hasPassed"] is False


def test_camel_case_override_sets_the_same_field() -> None:
    assert make_event("COURSE_COMPLETED", userId=7)["data"]["userId"] == 7


def test_event_id_override_sets_the_event_field_in_both_spellings() -> None:
    assert make_event("COURSE_ENROLLMENT", event_id="evt-1")["eventId"] == "evt-1"
    assert make_event("COURSE_ENROLLMENT", eventId="evt-2")["eventId"] == "evt-2"


def test_datetime_overrides_are_written_as_iso() -> None:
    moment = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    event = make_event("COURSE_ENROLLMENT", timestamp=moment, date_enrolled=moment)
    assert event["timestamp"] == "2024-11-08T03:49:52.000Z"
    assert event["data"]["dateEnrolled"] == "2024-11-08T03:49:52.000Z"


def test_data_dates_fall_before_a_given_timestamp() -> None:
    moment = datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    event = make_event("COURSE_ENROLLMENT", timestamp=moment, rng=1)
    assert event["data"]["dateEnrolled"] < "2024-11-08T03:49:52.000Z"


def test_data_override_replaces_the_whole_data() -> None:
    data = {"loId": "course:1", "loType": "course"}
    assert make_event("LEARNING_OBJECT_DRAFT", data=data)["data"] == data


def test_unknown_field_is_named_with_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"no data field 'userIdd'.*userId"):
        make_event("COURSE_COMPLETED", user_idd=7)


def test_invalid_value_raises_payload_error_naming_the_field() -> None:
    with pytest.raises(PayloadError) as caught:
        make_event("COURSE_COMPLETED", user_id="seven")
    assert caught.value.location == "data.userId"


def test_unknown_name_raises_unknown_event_error() -> None:
    with pytest.raises(UnknownEventError):
        make_event("COURSE_EXPLODED")


def test_validate_false_builds_a_bad_payload() -> None:
    event = make_event("COURSE_COMPLETED", user_id="seven", validate=False)
    assert event["data"]["userId"] == "seven"
    body = signed_request(make_envelope(event, validate=False)).body
    with pytest.raises(PayloadError, match="userId"):
        parse_unverified(body)


def test_validate_false_builds_an_unknown_event() -> None:
    event = make_event("COURSE_EXPLODED", validate=False, reason="test")
    assert event["eventName"] == "COURSE_EXPLODED"
    assert event["data"] == {"reason": "test"}
    assert parse_unverified(signed_request(make_envelope(event)).body).events[0].data == {
        "reason": "test"
    }


def test_envelope_holds_events_in_order_for_the_account() -> None:
    envelope = make_envelope(
        make_event("COURSE_ENROLLMENT", event_id="a"),
        make_event("COURSE_COMPLETED", event_id="b"),
        account_id=77,
    )
    assert envelope["accountId"] == 77
    assert [e["eventId"] for e in envelope["events"]] == ["a", "b"]


def test_envelope_builds_events_from_names() -> None:
    envelope = make_envelope("COURSE_ENROLLMENT", "CI_STATS", rng=2)
    assert [e["eventName"] for e in envelope["events"]] == ["COURSE_ENROLLMENT", "CI_STATS"]
    assert envelope["events"][0]["eventId"] != envelope["events"][1]["eventId"]


def test_envelope_validation_names_the_bad_event() -> None:
    bad = make_event("COURSE_COMPLETED", user_id="seven", validate=False)
    with pytest.raises(PayloadError) as caught:
        make_envelope(make_event("COURSE_ENROLLMENT"), bad)
    assert caught.value.location == "events.1.data.userId"
