"""The catalogue's names: each documented event name and the family of its data.

:mod:`hookwire.events` builds ``CATALOGUE`` and the dispatch by event name from these
tables; the dispatch's branch tags are here too, so error reports can leave them out.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BATCH", "FAMILY_OF_NAME", "GENERIC", "KNOWN", "KNOWN_NAME_ERROR", "REALTIME"]

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

KNOWN = "known"
"""The dispatch branch of catalogued event names."""
GENERIC = "generic"
"""The dispatch branch of every other event name."""
KNOWN_NAME_ERROR = "known_event_name"
"""The error type the generic branch gives a catalogued name."""
