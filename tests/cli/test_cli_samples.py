"""hookwire.samples: realistic, valid sample events for every catalogue name."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from hookwire import CATALOGUE, Envelope, UnknownEventError
from hookwire.events import event_adapter
from hookwire.samples import sample_data, sample_envelope, sample_event

NOW = datetime(2026, 11, 28, 17, 0, 0, tzinfo=UTC)
LEARNER_FAMILIES = {"enrollment", "completion", "unenrollment", "progress"}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_catalogue_name_gives_an_event_of_its_typed_class(name: str) -> None:
    event = event_adapter.validate_python(sample_event(name, random.Random(1), timestamp=NOW))
    assert type(event) is CATALOGUE[name].event_type


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_sample_data_has_no_field_outside_its_model(name: str) -> None:
    model = CATALOGUE[name].data_model
    data = model.model_validate(sample_data(name, random.Random(2), now=NOW))
    assert not data.model_extra


def test_the_same_seed_gives_the_same_event() -> None:
    first = sample_event("COURSE_COMPLETED", random.Random(9), timestamp=NOW)
    second = sample_event("COURSE_COMPLETED", random.Random(9), timestamp=NOW)
    assert first == second


def test_lo_instance_id_extends_lo_id() -> None:
    data = sample_data("COURSE_ENROLLMENT", random.Random(3), now=NOW)
    assert re.fullmatch(re.escape(data["loId"]) + r"_\d+", data["loInstanceId"])


@pytest.mark.parametrize(
    ("name", "lo_type"),
    [
        ("COURSE_ENROLLMENT_BATCH", "course"),
        ("LEARNING_PATH_COMPLETED", "learningProgram"),
        ("CERTIFICATION_UNENROLLMENT", "certification"),
        ("LEARNING_PATH_COMPLETION_ROLLBACK", "learningProgram"),
    ],
)
def test_lo_type_and_lo_id_match_the_kind_in_the_event_name(name: str, lo_type: str) -> None:
    data = sample_data(name, random.Random(4), now=NOW)
    assert data["loType"] == lo_type
    assert data["loId"].startswith(f"{lo_type}:")


def test_certification_completion_has_no_has_passed() -> None:
    assert "hasPassed" not in sample_data("CERTIFICATION_COMPLETED", random.Random(5), now=NOW)


def test_user_ids_are_integers_and_sources_are_the_documented_ones() -> None:
    rng = random.Random(6)
    for _ in range(20):
        data = sample_data("COURSE_ENROLLMENT", rng, now=NOW)
        assert isinstance(data["userId"], int)
        assert data["enrollmentSource"] in {"SELF_ENROLL", "ADMIN_ENROLL"}


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("COURSE_ENROLLMENT", "dateEnrolled"),
        ("COURSE_COMPLETED_BATCH", "dateCompleted"),
        ("LEARNER_PROGRESS", "dateStarted"),
    ],
)
def test_dates_are_iso_with_seconds_00_before_now(name: str, field: str) -> None:
    value = sample_data(name, random.Random(7), now=NOW)[field]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", value)
    assert datetime.fromisoformat(value) < NOW


def test_user_group_event_id_is_the_request_id_it_echoes() -> None:
    event = sample_event("RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED", random.Random(8), timestamp=NOW)
    assert event["eventId"] == event["data"]["request"]["metadata"]["event_id"]


def test_given_event_id_is_used() -> None:
    event = sample_event("CI_STATS", random.Random(8), event_id="evt-1", timestamp=NOW)
    assert event["eventId"] == "evt-1"


def test_unknown_name_raises_unknown_event_error() -> None:
    with pytest.raises(UnknownEventError) as caught:
        sample_data("NOT_AN_EVENT", random.Random(0))
    assert caught.value.event_name == "NOT_AN_EVENT"


def test_envelope_holds_one_event_per_name_in_order() -> None:
    names = ["CI_STATS", "LEARNER_PROGRESS", "COURSE_COMPLETED"]
    envelope = Envelope.model_validate(sample_envelope(names, 1010, random.Random(1)))
    assert envelope.account_id == 1010
    assert [event.event_name for event in envelope.events] == names
