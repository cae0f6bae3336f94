"""One handler per event family, applying the rules the webhook documentation recommends.

- Every event is logged with its eventId, timestamp and eventInfo.
- A stale event (older than the last one applied to the same record) is dropped,
  except LEARNER_PROGRESS, which may lag by up to 15 minutes and is never judged by
  its timestamp.
- Progress that arrives after a completion is ignored.
- An enrollment that arrives after progress on the same (userId, loInstanceId) is ignored.

De-duplication by eventId happens before these handlers run (hookwire does it),
so each handler sees each event once. Replace the bodies with your own work and
keep them fast: the sender waits at most 5 seconds for the answer.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hookwire import (
    CATALOGUE,
    CiStatsEvent,
    CompletionEvent,
    EnrollmentEvent,
    Event,
    InstanceEvent,
    LearningObjectEvent,
    ProgressEvent,
    UnenrollmentEvent,
    UserGroupEvent,
)
from hookwire.flask import WebhookListener

from store import LearnerRecord, Store

log = logging.getLogger("listener.events")

ENROLLED, IN_PROGRESS, COMPLETED, UNENROLLED = "enrolled", "in_progress", "completed", "unenrolled"


def names(family: str, *, exclude: str = "") -> list[str]:
    """Every event name of one family in hookwire's catalogue."""
    return [
        spec.name
        for spec in CATALOGUE.values()
        if spec.family == family and not (exclude and exclude in spec.name)
    ]


def log_event(event: Event) -> None:
    """The documented minimum: eventId, timestamp and eventInfo of every event."""
    log.info(
        "event %s %s at %s (eventInfo=%s)",
        event.event_id,
        event.event_name,
        event.timestamp.isoformat(),
        event.event_info,
    )


def is_stale(event: Event, last: datetime | None) -> bool:
    """True when an event is older than the last one applied to the same record."""
    if last is not None and event.timestamp < last:
        log.info("dropped stale event %s (older than %s)", event.event_id, last.isoformat())
        return True
    return False


class Handlers:
    """What each event family does to the store: one method per family."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _learner(
        self, event: Event, user_id: int, instance: str
    ) -> tuple[LearnerRecord | None, bool]:
        """The learner's stored record, and whether ``event`` is older than it (stale)."""
        record = self.store.learner(user_id, instance)
        stale = record is not None and is_stale(event, record.last_event_at)
        return record, stale

    def enrollment(self, event: EnrollmentEvent) -> None:
        """Enrolled, unless the learner already progressed."""
        data = event.data
        record, stale = self._learner(event, data.user_id, data.lo_instance_id)
        if stale:
            return
        if record is not None and record.status in (IN_PROGRESS, COMPLETED):
            log.info("ignored enrollment %s: the learner already progressed", event.event_id)
            return
        self.store.save_learner(
            data.user_id, data.lo_instance_id, status=ENROLLED, progress=0,
            last_event_at=event.timestamp,
        )  # fmt: skip

    def completion_rollback(self, event: EnrollmentEvent) -> None:
        """Back to in progress, keeping the progress made."""
        data = event.data
        record, stale = self._learner(event, data.user_id, data.lo_instance_id)
        if stale:
            return
        progress = record.progress if record is not None else 0
        self.store.save_learner(
            data.user_id, data.lo_instance_id, status=IN_PROGRESS, progress=progress,
            last_event_at=event.timestamp,
        )  # fmt: skip

    def progress(self, event: ProgressEvent) -> None:
        """The highest progress seen, unless the learner already completed."""
        # No stale check by timestamp: progress lags by up to 15 minutes by design.
        data = event.data
        record = self.store.learner(data.user_id, data.lo_instance_id)
        if record is not None and record.status == COMPLETED:
            log.info("ignored progress %s: the learner already completed", event.event_id)
            return
        previous = record.progress if record is not None else 0
        self.store.save_learner(
            data.user_id, data.lo_instance_id, status=IN_PROGRESS,
            progress=max(previous, data.progress_percent),
            last_event_at=record.last_event_at if record is not None else None,
        )  # fmt: skip

    def completion(self, event: CompletionEvent) -> None:
        """Completed, at 100%."""
        self._settle(event, event.data.user_id, event.data.lo_instance_id, COMPLETED, 100)

    def unenrollment(self, event: UnenrollmentEvent) -> None:
        """Unenrolled, progress reset."""
        self._settle(event, event.data.user_id, event.data.lo_instance_id, UNENROLLED, 0)

    def _settle(
        self, event: Event, user_id: int, instance: str, status: str, progress: int
    ) -> None:
        """Save the learner's new status unless ``event`` is stale."""
        if not self._learner(event, user_id, instance)[1]:
            self.store.save_learner(
                user_id, instance, status=status, progress=progress, last_event_at=event.timestamp
            )

    def _save_item(self, event: Event, key: str, state: str) -> None:
        if not is_stale(event, self.store.item_last_event_at(key)):
            self.store.save_item(key, state=state, last_event_at=event.timestamp)

    def learning_object(self, event: LearningObjectEvent) -> None:
        """The learning object's last change."""
        self._save_item(event, event.data.lo_id, event.event_name)

    def instance(self, event: InstanceEvent) -> None:
        """The instance's last change."""
        self._save_item(event, event.data.lo_instance_id, event.event_name)

    def seats(self, event: CiStatsEvent) -> None:
        """Seats taken and waiting, per instance."""
        data = event.data
        state = f"{data.enrollment_count}/{data.seat_limit} enrolled, {data.waitlist_count} waiting"
        self._save_item(event, f"seats:{data.lo_instance_id}", state)

    def user_group(self, event: UserGroupEvent) -> None:
        """Logged: what to do with a user group request is the integrator's choice."""
        members = ", ".join(member.id for member in event.data.request.data)
        log.info("user group request %s: %s (%s)", event.event_id, event.data.status, members)


def register(listener: WebhookListener, store: Store) -> None:
    """Attach the handlers to ``listener``, backed by ``store``."""
    handlers = Handlers(store)
    listener.on_any(log_event)
    listener.on(*names("enrollment", exclude="ROLLBACK"))(handlers.enrollment)
    listener.on(*names("enrollment", exclude="ENROLLMENT"))(handlers.completion_rollback)
    listener.on(*names("progress"))(handlers.progress)
    listener.on(*names("completion"))(handlers.completion)
    listener.on(*names("unenrollment"))(handlers.unenrollment)
    listener.on(*names("learning_object"))(handlers.learning_object)
    listener.on(*names("instance"))(handlers.instance)
    listener.on(*names("ci_stats"))(handlers.seats)
    listener.on(*names("user_group"))(handlers.user_group)
