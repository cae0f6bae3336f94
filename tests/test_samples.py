"""Every documented sample payload: valid ones parse to the right classes and values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookwire import (
    CiStatsEvent,
    CompletionEvent,
    EnrollmentEvent,
    GenericEvent,
    InstanceEvent,
    PayloadError,
    ProgressEvent,
    UnenrollmentEvent,
    UserGroupEvent,
    parse_unverified,
)


def load(samples_dir: Path, name: str) -> bytes:
    return (samples_dir / name).read_bytes()


def test_every_sample_is_covered(samples_dir: Path) -> None:
    covered = {
        "bad-trailing-comma.json",
        "enrollment-batch-epoch.json",
        "enrollment-iso.json",
        "mixed-batch.json",
        "usergroup-callback.json",
    }
    assert {p.name for p in samples_dir.glob("*.json")} == covered


def test_enrollment_epoch_sample(samples_dir: Path) -> None:
    envelope = parse_unverified(load(samples_dir, "enrollment-batch-epoch.json"))
    event = envelope.events[0]
    assert envelope.account_id == 1010
    assert isinstance(event, EnrollmentEvent)
    assert event.event_info == "1727414643000-047210-84242-0"
    # Epoch milliseconds in the timestamp, epoch seconds in dateEnrolled: the same instant.
    assert event.timestamp == datetime(2024, 9, 27, 5, 24, 3, tzinfo=UTC)
    assert event.data.date_enrolled == datetime(2024, 9, 27, 5, 24, 3, tzinfo=UTC)
    assert event.data.user_id == 4279332
    assert event.data.enrollment_source == "ADMIN_ENROLL"
    assert not event.is_realtime


def test_enrollment_iso_sample(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "enrollment-iso.json")).events[0]
    assert isinstance(event, EnrollmentEvent)
    assert event.timestamp == datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    assert event.timestamp.utcoffset() is not None
    assert event.data.date_enrolled == datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    assert event.data.lo_instance_id == "course:12345678_14450088"


def test_mixed_batch_classes(samples_dir: Path) -> None:
    events = parse_unverified(load(samples_dir, "mixed-batch.json")).events
    expected: list[type] = [
        CompletionEvent,
        ProgressEvent,
        CiStatsEvent,
        InstanceEvent,
        GenericEvent,
    ]
    assert [type(e) for e in events] == expected


def test_mixed_batch_completion_values(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "mixed-batch.json")).events[0]
    assert isinstance(event, CompletionEvent)
    assert event.data.has_passed is True
    assert event.data.date_completed == datetime(2024, 11, 8, 3, 49, tzinfo=UTC)
    assert event.is_realtime


def test_mixed_batch_progress_values(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "mixed-batch.json")).events[1]
    assert isinstance(event, ProgressEvent)
    assert event.timestamp == datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)
    assert event.data.progress_percent == 50
    assert event.event_info is None


def test_mixed_batch_ci_stats_values(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "mixed-batch.json")).events[2]
    assert isinstance(event, CiStatsEvent)
    assert (event.data.enrollment_count, event.data.seat_limit) == (10, 30)


def test_mixed_batch_epoch_millisecond_timestamp(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "mixed-batch.json")).events[3]
    assert isinstance(event, InstanceEvent)
    assert event.timestamp == datetime(2024, 11, 8, 3, 49, 52, tzinfo=UTC)


def test_unknown_event_name_is_generic_with_dict_data(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "mixed-batch.json")).events[4]
    assert isinstance(event, GenericEvent)
    assert event.event_name == "ALTERNATE_COMPLETION_NOT_YET_NAMED"
    assert event.data == {"userId": 42, "sourceCourse": "course:1", "targetCourse": "course:2"}
    assert not event.is_realtime


def test_usergroup_callback_values(samples_dir: Path) -> None:
    event = parse_unverified(load(samples_dir, "usergroup-callback.json")).events[0]
    assert isinstance(event, UserGroupEvent)
    assert event.data.status == "SUCCESS"
    assert event.data.request.metadata.event_id == "sync-2026-03-30T10:15:00Z-ug-12345"
    assert [m.id for m in event.data.request.data] == ["11101219", "11101220"]


def test_usergroup_metadata_keeps_unknown_fields(samples_dir: Path) -> None:
    envelope = parse_unverified(load(samples_dir, "usergroup-callback.json"))
    metadata = envelope.to_wire()["events"][0]["data"]["request"]["metadata"]
    assert metadata["sourceSystem"] == "HRIS"
    assert metadata["event_id"] == "sync-2026-03-30T10:15:00Z-ug-12345"


def test_trailing_comma_sample_says_where(samples_dir: Path) -> None:
    with pytest.raises(PayloadError) as info:
        parse_unverified(load(samples_dir, "bad-trailing-comma.json"))
    assert "line 1 column" in str(info.value)
    assert "trailing comma" in str(info.value)


def test_unenrollment_sample_is_typed_once_fixed(samples_dir: Path) -> None:
    fixed = load(samples_dir, "bad-trailing-comma.json").replace(
        b'"SELF_ENROLL",}', b'"SELF_ENROLL"}'
    )
    event = parse_unverified(fixed).events[0]
    assert isinstance(event, UnenrollmentEvent)
    assert event.timestamp == datetime(2024, 9, 27, 5, 24, 3, tzinfo=UTC)
