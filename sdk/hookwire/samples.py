"""Realistic sample events for every catalogue name, for ``hookwire trigger``, demos and tests.

Everything random comes from the :class:`random.Random` passed in, so a seed
gives the same events every time. Values look like the vendor's: ``loId``
``"course:7374992"``, ``loInstanceId`` ``"<loId>_<n>"``, ``loType`` matching the
kind of learning object, ``enrollmentSource`` ``SELF_ENROLL`` or
``ADMIN_ENROLL``, dates in ISO-8601 with seconds ``00``. All dicts use wire
(camelCase) names and validate with the catalogue's models.

Example::

    >>> import random
    >>> envelope = sample_envelope(["COURSE_COMPLETED"], 1010, random.Random(7))
    >>> envelope["events"][0]["data"]["loId"].startswith("course:")
    True
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .events import event_spec

__all__ = ["sample_data", "sample_envelope", "sample_event"]

_LO_TYPES: Final[tuple[str, ...]] = ("course", "learningProgram", "certification")
_PREFIX_TYPES: Final[dict[str, str]] = {
    "COURSE_": "course",
    "LEARNING_PATH_": "learningProgram",
    "CERTIFICATION_": "certification",
}
_SOURCE_SYSTEMS: Final[tuple[str, ...]] = ("HRIS", "Workday", "SuccessFactors")


def _lo_type(event_name: str, rng: random.Random) -> str:
    for prefix, lo_type in _PREFIX_TYPES.items():
        if event_name.startswith(prefix):
            return lo_type
    if event_name == "CI_STATS":
        # Seats belong to instances of courses.
        return "course"
    return rng.choice(_LO_TYPES)


def _iso(moment: datetime) -> str:
    """The vendor's ISO form: milliseconds and a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _date_before(now: datetime, rng: random.Random, *, max_days: int) -> str:
    """A date up to ``max_days`` before ``now``, whole minutes (the vendor sends seconds 00)."""
    moment = now - timedelta(minutes=rng.randint(1, max_days * 24 * 60))
    return _iso(moment.replace(second=0, microsecond=0))


def _learner_record(event_name: str, rng: random.Random) -> dict[str, Any]:
    lo_type = _lo_type(event_name, rng)
    lo_id = f"{lo_type}:{rng.randint(100_000, 9_999_999)}"
    return {
        "userId": rng.randint(10_000_000, 12_999_999),
        "loId": lo_id,
        "loInstanceId": f"{lo_id}_{rng.randint(1_000_000, 14_999_999)}",
        "loType": lo_type,
    }


def _source(rng: random.Random) -> str:
    return rng.choice(("SELF_ENROLL", "ADMIN_ENROLL"))


def _enrollment(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    return {
        **_learner_record(name, rng),
        "enrollmentSource": _source(rng),
        "dateEnrolled": _date_before(now, rng, max_days=30),
    }


def _completion(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    data = {
        **_learner_record(name, rng),
        "enrollmentSource": _source(rng),
        "dateCompleted": _date_before(now, rng, max_days=2),
    }
    # Certifications have no pass mark: the vendor leaves hasPassed out.
    if not name.startswith("CERTIFICATION_"):
        data["hasPassed"] = rng.random() < 0.85
    return data


def _unenrollment(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    return {**_learner_record(name, rng), "enrollmentSource": _source(rng)}


def _progress(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    return {
        **_learner_record(name, rng),
        "dateStarted": _date_before(now, rng, max_days=60),
        "progressPercent": rng.randrange(5, 100, 5),
    }


def _learning_object(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    record = _learner_record(name, rng)
    return {"loId": record["loId"], "loType": record["loType"]}


def _instance(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    record = _learner_record(name, rng)
    return {
        "loInstanceId": record["loInstanceId"],
        "loId": record["loId"],
        "loType": record["loType"],
    }


def _ci_stats(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    seat_limit = rng.choice((20, 25, 30, 50, 100))
    enrolled = rng.randint(0, seat_limit)
    waitlist = rng.randint(1, 15) if enrolled == seat_limit else 0
    return {
        "loInstanceId": _instance(name, rng, now)["loInstanceId"],
        "waitlistCount": waitlist,
        "enrollmentCount": enrolled,
        "seatLimit": seat_limit,
    }


def _user_group(name: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    first_user = rng.randint(11_000_000, 11_999_999)
    request_id = f"sync-{now.strftime('%Y-%m-%dT%H:%M:00Z')}-ug-{rng.randint(10_000, 99_999)}"
    return {
        "status": "SUCCESS" if rng.random() < 0.9 else "FAILURE",
        "request": {
            "metadata": {
                "event_id": request_id,
                "sourceSystem": rng.choice(_SOURCE_SYSTEMS),
                "batchId": f"hr_{now.strftime('%Y_%m_%d')}_{rng.randint(1, 9999):04d}",
            },
            "data": [{"type": "user", "id": str(first_user + n)} for n in range(rng.randint(1, 4))],
        },
    }


_MAKERS: Final[dict[str, Callable[[str, random.Random, datetime], dict[str, Any]]]] = {
    "enrollment": _enrollment,
    "completion": _completion,
    "unenrollment": _unenrollment,
    "progress": _progress,
    "learning_object": _learning_object,
    "instance": _instance,
    "ci_stats": _ci_stats,
    "user_group": _user_group,
}


def sample_data(
    event_name: str, rng: random.Random, *, now: datetime | None = None
) -> dict[str, Any]:
    """Return a realistic ``data`` object (wire names) for ``event_name``.

    Dates inside it fall before ``now`` (the current time if left out).
    Raises :class:`~hookwire.UnknownEventError` for a name not in the catalogue.
    """
    spec = event_spec(event_name)
    moment = datetime.now(UTC) if now is None else now.astimezone(UTC)
    return _MAKERS[spec.family](event_name, rng, moment)


def _event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def sample_event(
    event_name: str,
    rng: random.Random,
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Return one wire event of ``event_name`` with realistic data.

    ``event_id`` defaults to a UUID drawn from ``rng`` (for user-group callbacks,
    to the request id echoed in the data, as the vendor does); ``timestamp`` to
    the current time. Raises :class:`~hookwire.UnknownEventError` for an
    unknown name.
    """
    moment = datetime.now(UTC) if timestamp is None else timestamp.astimezone(UTC)
    data = sample_data(event_name, rng, now=moment)
    if event_id is None:
        metadata = data.get("request", {}).get("metadata", {})
        event_id = metadata.get("event_id") or _event_id(rng)
    elif "request" in data:
        data["request"]["metadata"]["event_id"] = event_id
    millis = int(moment.timestamp() * 1000)
    return {
        "eventId": event_id,
        "eventName": event_name,
        "timestamp": _iso(moment),
        "eventInfo": f"{millis}-{rng.randint(0, 999_999):06d}-{rng.randint(1, 99_999)}-0",
        "data": data,
    }


def sample_envelope(
    event_names: Iterable[str],
    account_id: int,
    rng: random.Random,
    *,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Return one wire envelope for ``account_id`` holding one sample event per name, in order.

    Raises :class:`~hookwire.UnknownEventError` for an unknown name.
    """
    moment = datetime.now(UTC) if timestamp is None else timestamp
    return {
        "accountId": account_id,
        "events": [sample_event(name, rng, timestamp=moment) for name in event_names],
    }
