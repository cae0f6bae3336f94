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

from store import Store

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


def register(listener: WebhookListener, store: Store) -> None:
    """Attach this module's handlers to ``listener``, backed by ``store``."""

    @listener.on_any
    def every_event(event: Event) -> None:
        log_event(event)

    @listener.on(*names("enrollment", exclude="ROLLBACK"))
    def enrollment(event: EnrollmentEvent) -> None:
        data = event.data
        record = store.learner(data.user_id, data.lo_instance_id)
        if record is not None and is_stale(event, record.last_event_at):
            return
        if record is not None and record.status in (IN_PROGRESS, COMPLETED):
            log.info("ignored enrollment %s: the learner already progressed", event.event_id)
            return
        store.save_learner(
            data.user_id, data.lo_instance_id, status=ENROLLED, progress=0,
            last_event_at=event.timestamp,
        )  # fmt: skip

    @listener.on(*names("enrollment", exclude="ENROLLMENT"))
    def completion_rollback(event: EnrollmentEvent) -> None:
        data = event.data
        record = store.learner(data.user_id, data.lo_instance_id)
        if record is not None and is_stale(event, record.last_event_at):
            return
        progress = record.progress if record is not None else 0
        store.save_learner(
            data.user_id, data.lo_instance_id, status=IN_PROGRESS, progress=progress,
            last_event_at=event.timestamp,
        )  # fmt: skip

    @listener.on(*names("progress"))
    def progress(event: ProgressEvent) -> None:
        # No stale check by timestamp: progress lags by up to 15 minutes by design.
        data = event.data
        record = store.learner(data.user_id, data.lo_instance_id)
        if record is not None and record.status == COMPLETED:
            log.info("ignored progress %s: the learner already completed", event.event_id)
            return
        previous = record.progress if record is not None else 0
        store.save_learner(
            data.user_id, data.lo_instance_id, status=IN_PROGRESS,
            progress=max(previous, data.progress_percent),
            last_event_at=record.last_event_at if record is not None else None,
        )  # fmt: skip

    @listener.on(*names("completion"))
    def completion(event: CompletionEvent) -> None:
        data = event.data
        record = store.learner(data.user_id, data.lo_instance_id)
        if record is not None and is_stale(event, record.last_event_at):
            return
        store.save_learner(
            data.user_id, data.lo_instance_id, status=COMPLETED, progress=100,
            last_event_at=event.timestamp,
        )  # fmt: skip

    @listener.on(*names("unenrollment"))
    def unenrollment(event: UnenrollmentEvent) -> None:
        data = event.data
        record = store.learner(data.user_id, data.lo_instance_id)
        if record is not None and is_stale(event, record.last_event_at):
            return
        store.save_learner(
            data.user_id, data.lo_instance_id, status=UNENROLLED, progress=0,
            last_event_at=event.timestamp,
        )  # fmt: skip

    def save_item(event: Event, key: str, state: str) -> None:
        if not is_stale(event, store.item_last_event_at(key)):
            store.save_item(key, state=state, last_event_at=event.timestamp)

    @listener.on(*names("learning_object"))
    def learning_object(event: LearningObjectEvent) -> None:
        save_item(event, event.data.lo_id, event.event_name)

    @listener.on(*names("instance"))
    def instance(event: InstanceEvent) -> None:
        save_item(event, event.data.lo_instance_id, event.event_name)

    @listener.on(*names("ci_stats"))
    def seats(event: CiStatsEvent) -> None:
        data = event.data
        state = f"{data.enrollment_count}/{data.seat_limit} enrolled, {data.waitlist_count} waiting"
        save_item(event, f"seats:{data.lo_instance_id}", state)

    @listener.on(*names("user_group"))
    def user_group(event: UserGroupEvent) -> None:
        members = ", ".join(member.id for member in event.data.request.data)
        log.info("user group request %s: %s (%s)", event.event_id, event.data.status, members)
