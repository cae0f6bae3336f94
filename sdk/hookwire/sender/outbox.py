"""The outbox: ``sender.publish`` stores an event and its deliveries durably.

An event becomes one delivery per active webhook of its account subscribed to
its name. Real-time events are due at once; batch (non-real-time) events are
due at the end of the ``batch_interval`` window they were published in, so
each webhook's batch events go out together at set times.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, event

from ..errors import NotFoundError, PayloadError, RegistryError
from ..events import event_spec
from .models import (
    StoredEvent,
    check_account_id,
    check_aware,
    check_limit,
    is_possible_id,
    shown_id,
)
from .store import Store

__all__ = ["Events", "Outbox", "wire_timestamp"]

log = logging.getLogger("hookwire.sender")

_WAKE_ON_COMMIT = "hookwire_wake_on_commit"


def wire_timestamp(moment: datetime) -> str:
    """The wire form of a timestamp: ISO-8601 UTC with milliseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _payload_error(location: str) -> Callable[[str], PayloadError]:
    return lambda message: PayloadError(message, location=location)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "text with a lone surrogate, which is not valid Unicode"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class Outbox:
    """Validates, stores and fans out published events."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        batch_interval: float,
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._batch_interval = batch_interval
        self._wake = wake

    def _flush_time(self, now: datetime) -> datetime:
        interval = self._batch_interval
        if interval <= 0:
            return now
        window_end = (math.floor(now.timestamp() / interval) + 1) * interval
        return datetime.fromtimestamp(window_end, UTC)

    def publish(
        self,
        event_name: str,
        *,
        data: Mapping[str, Any] | Any,
        account_id: int,
        event_id: str | None = None,
        timestamp: datetime | None = None,
        connection: Connection | None = None,
    ) -> str:
        """Store one event and its deliveries; return the event id.

        ``data`` is validated against the event's model (wire or Python field
        names). Without ``connection`` the event is committed before this
        returns; with it, it joins the caller's transaction and is committed
        (or rolled back) with it. An ``event_id`` that is stored already is not
        stored again.
        """
        spec = event_spec(event_name)
        check_account_id(account_id, _payload_error("accountId"))
        try:
            model = spec.data_model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise PayloadError(
                f"data for {event_name} is invalid: {where}: {first['msg']}",
                location=f"data.{where}" if where else "data",
            ) from exc
        now = self._clock()
        moment = now
        if timestamp is not None:
            moment = check_aware(timestamp, "timestamp", _payload_error("timestamp"))
        event_id = event_id if event_id is not None else f"evt_{uuid.uuid4().hex}"
        if not is_possible_id(event_id):
            raise PayloadError(
                "event_id must be a non-empty string of at most 200 printable characters",
                location="eventId",
            )
        try:
            stamp = wire_timestamp(moment)
        except OverflowError:
            raise PayloadError(
                "timestamp is out of range once converted to UTC", location="timestamp"
            ) from None
        try:
            wire = {
                "eventId": event_id,
                "eventName": event_name,
                "timestamp": stamp,
                "data": model.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
            payload = json.dumps(wire, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            size = len(payload.encode())
        except (ValueError, TypeError, RecursionError) as exc:
            # Extra fields are kept as given; some values have no JSON form.
            raise PayloadError(
                f"data for {event_name} cannot be sent as JSON ({_reason(exc)}); use only "
                "strings, numbers, booleans, null, lists and objects",
                location="data",
            ) from None
        due = now if spec.realtime else self._flush_time(now)
        with self._store.transaction(connection) as conn:
            if not self._store.insert_event(
                conn,
                {
                    "id": event_id,
                    "account_id": account_id,
                    "name": event_name,
                    "timestamp": moment,
                    "realtime": spec.realtime,
                    "payload": payload,
                    "created_at": now,
                },
            ):
                return event_id
            rows = [
                {
                    "event_id": event_id,
                    "webhook_id": webhook_id,
                    "status": "pending",
                    "request_id": None,
                    "size": size,
                    "created_at": now,
                    "due_at": due,
                    "updated_at": now,
                }
                for webhook_id, names in self._store.subscribers(conn, account_id)
                if event_name in json.loads(names)
            ]
            self._store.insert_deliveries(conn, rows)
        if connection is None:
            self._wake()
        elif not connection.info.get(_WAKE_ON_COMMIT):
            # One wake-up per caller transaction, however many events it publishes.
            connection.info[_WAKE_ON_COMMIT] = True
            event.listen(connection, "commit", self._wake_after_commit, once=True)
        return event_id

    def _wake_after_commit(self, connection: Connection) -> None:
        connection.info.pop(_WAKE_ON_COMMIT, None)
        self._wake()


class Events:
    """``sender.events``: the stored events, for ``hookwire events list``."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def list(self, account_id: int | None = None, limit: int = 50) -> list[StoredEvent]:
        """The newest events first (of one account if given)."""
        if account_id is not None:
            check_account_id(account_id, RegistryError)
        return self._store.list_events(account_id, check_limit(limit, RegistryError))

    def get(self, event_id: str) -> StoredEvent:
        """One stored event; :class:`~hookwire.errors.NotFoundError` if none."""
        found = self._store.get_event(event_id) if is_possible_id(event_id) else None
        if found is None:
            raise NotFoundError(
                f"no event {shown_id(event_id)}; list them with sender.events.list()"
            )
        return found
