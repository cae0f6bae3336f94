"""The catalogue's names: each documented event name and the family of its data.

:mod:`hookwire.events` builds ``CATALOGUE`` and the dispatch by event name from these
tables; the dispatch's branch tags are here too, so error reports can leave them out.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BATCH",
    "DATETIME_OFFSET",
    "DATETIME_UTC",
    "FAMILY_OF_NAME",
    "GENERIC",
    "KNOWN",
    "KNOWN_NAME_ERROR",
    "REALTIME",
    "WHEN",
]

REALTIME: Final[dict[str, str]] = {
    "CI_STATS": "ci_stats",
    "COURSE_ENROLLMENT": "enrollment",
    "COURSE_COMPLETED": "completion",
    "LEARNING_PATH_ENROLLMENT": "enrollment",
    "LEARNING_PATH_COMPLETED": "completion",
    "CERTIFICATION_ENROLLMENT": "enrollment",
    "CERTIFICATION_COMPLETED": "completion",
    "COURSE_UNENROLLMENT": "unenrollment",
    "LEARNING_PATH_UNENROLLMENT": "unenrollment",
    "CERTIFICATION_UNENROLLMENT": "unenrollment",
    "LEARNING_OBJECT_DRAFT": "learning_object",
    "LEARNING_OBJECT_DELETION": "learning_object",
    "LEARNING_OBJECT_MODIFICATION": "learning_object",
    "LEARNING_OBJECT_INSTANCE_MODIFICATION": "instance",
    "LEARNING_OBJECT_INSTANCE_DELETION": "instance",
    "LEARNING_PATH_COMPLETION_ROLLBACK": "enrollment",
    "RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED": "user_group",
    "RESPONSE:ASYNCAPI_USERGROUP_USER_REMOVED": "user_group",
}
"""The real-time event names, in the documentation's order, and their families."""

BATCH: Final[dict[str, str]] = {
    "COURSE_ENROLLMENT_BATCH": "enrollment",
    "COURSE_COMPLETED_BATCH": "completion",
    "LEARNING_PATH_ENROLLMENT_BATCH": "enrollment",
    "LEARNING_PATH_COMPLETED_BATCH": "completion",
    "CERTIFICATION_ENROLLMENT_BATCH": "enrollment",
    "CERTIFICATION_COMPLETED_BATCH": "completion",
    "LEARNER_PROGRESS": "progress",
    "COURSE_UNENROLLMENT_BATCH": "unenrollment",
    "LEARNING_PATH_UNENROLLMENT_BATCH": "unenrollment",
    "CERTIFICATION_UNENROLLMENT_BATCH": "unenrollment",
    "LEARNING_OBJECT_MODIFICATION_BATCH": "learning_object",
    "LEARNING_OBJECT_INSTANCE_MODIFICATION_BATCH": "instance",
    "LEARNING_PATH_COMPLETION_ROLLBACK_BATCH": "enrollment",
}
"""The batch event names, in the documentation's order, and their families."""

FAMILY_OF_NAME: Final[dict[str, str]] = {**REALTIME, **BATCH}
"""Every catalogued event name and its family."""


_WHEN_REALTIME: Final[dict[str, str]] = {
    "CI_STATS": "The seats of a course instance changed: enrollments, waitlist or seat limit.",
    "COURSE_ENROLLMENT": "A learner was enrolled in a course, by themselves or by an admin.",
    "COURSE_COMPLETED": "A learner completed a course; hasPassed says whether they passed.",
    "LEARNING_PATH_ENROLLMENT": (
        "A learner was enrolled in a learning path, by themselves or by an admin."
    ),
    "LEARNING_PATH_COMPLETED": (
        "A learner completed a learning path; hasPassed says whether they passed."
    ),
    "CERTIFICATION_ENROLLMENT": (
        "A learner was enrolled in a certification, by themselves or by an admin."
    ),
    "CERTIFICATION_COMPLETED": "A learner completed a certification.",
    "COURSE_UNENROLLMENT": "A learner was unenrolled from a course.",
    "LEARNING_PATH_UNENROLLMENT": "A learner was unenrolled from a learning path.",
    "CERTIFICATION_UNENROLLMENT": "A learner was unenrolled from a certification.",
    "LEARNING_OBJECT_DRAFT": "A learning object was created as a draft.",
    "LEARNING_OBJECT_DELETION": "A learning object was deleted.",
    "LEARNING_OBJECT_MODIFICATION": "A learning object was modified (edited or published).",
    "LEARNING_OBJECT_INSTANCE_MODIFICATION": "An instance of a learning object was modified.",
    "LEARNING_OBJECT_INSTANCE_DELETION": "An instance of a learning object was deleted.",
    "LEARNING_PATH_COMPLETION_ROLLBACK": (
        "A learner's completion of a learning path was undone; the enrollment stands again."
    ),
    "RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED": (
        "The answer to an asynchronous request to add users to a user group."
    ),
    "RESPONSE:ASYNCAPI_USERGROUP_USER_REMOVED": (
        "The answer to an asynchronous request to remove users from a user group."
    ),
}


def _when_batch(name: str) -> str:
    if name == "LEARNER_PROGRESS":
        return (
            "A learner's progress in a learning object, as a whole percentage; sent in "
            "batches at set times, and may lag up to 15 minutes."
        )
    return f"As {name.removesuffix('_BATCH')}, collected and sent in batches at set times."


WHEN: Final[dict[str, str]] = {
    **_WHEN_REALTIME,
    **{name: _when_batch(name) for name in BATCH},
}
"""When each catalogued event is sent, in one line."""

KNOWN = "known"
"""The dispatch branch of catalogued event names."""
GENERIC = "generic"
"""The dispatch branch of every other event name."""
KNOWN_NAME_ERROR = "known_event_name"
"""The error type the generic branch gives a catalogued name."""
DATETIME_UTC = "utc-datetime"
"""The datetime branch of JSON input already in UTC."""
DATETIME_OFFSET = "offset-datetime"
"""The datetime branch of JSON input with an offset or none, converted to UTC."""
