"""The outbox: ``sender.publish`` stores an event and its deliveries durably.

``sender.publish_many`` does the same for many events in one transaction. An
event becomes one delivery per active webhook of its account subscribed to
its name; both return a :class:`~hookwire.sender.Published` record per event
that says which webhooks that call queued it for. Real-time events are due at
once; batch (non-real-time) events are due at the end of the
``batch_interval`` window they were published in, so each webhook's batch
events go out together at set times.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, event

from ..errors import PayloadError, UnknownEventError
from .models import (
    Publication,
    Published,
    check_account_id,
    check_aware,
    is_possible_id,
)
from .publication import (
    event_spec_of,
    payload_error_at,
    publish_arguments,
    publish_many_items,
    validated_data,
    wire_payload,
)
from .store import Store
from .tracing import PUBLISH_MANY_SPAN, PUBLISH_SPAN, UNTRACED, Publishing, SenderTracing

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "Outbox", "wire_timestamp"]

log = logging.getLogger("hookwire.sender")

DEFAULT_MAX_EVENT_BYTES = 256 * 1024
"""The largest event ``publish`` takes, as UTF-8 JSON: well under the 1 MiB a listener
takes by default, so a request of one event is never too large for it."""

_WAKE_ON_COMMIT = "hookwire_wake_on_commit"
_MILLIS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


def wire_timestamp(moment: datetime) -> str:
    """The wire form of a timestamp: ISO-8601 UTC with milliseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_event_id(now: datetime) -> str:
    """A fresh event id: ``evt_`` and a UUIDv7 in hex, whose first 48 bits are ``now`` in ms.

    Generated ids sort by creation time, so new events land at the end of the
    events' primary key index instead of on random pages (which the database
    would then rewrite at every commit); 74 random bits follow.
    """
    millis = math.floor(now.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10))
    value = (
        (millis & _MILLIS_MASK) << 80
        | 0x7 << 76  # version 7
        | ((rand >> 62) & 0xFFF) << 64
        | 0b10 << 62  # the RFC 9562 variant
        | rand & _RAND_B_MASK
    )
    return f"evt_{value:032x}"


@lru_cache(maxsize=1024)
def _event_names(stored: str) -> frozenset[str]:
    """A webhook's stored event list (JSON) as a set; most webhooks share a few lists."""
    return frozenset(json.loads(stored))


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One validated event: its ``hookwire_events`` row, its wire size and when it is due."""

    id: str
    account_id: int
    name: str
    row: dict[str, Any]
    size: int
    due: datetime


class Outbox:
    """Validates, stores and fans out published events."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        batch_interval: float,
        wake: Callable[[], None],
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        tracing: SenderTracing | None = None,
    ) -> None:
        self._store = store
        self._tracing = tracing
        self._clock = clock
        self._batch_interval = batch_interval
        self._max_event_bytes = max_event_bytes
        self._wake = wake
        # The last timestamp's wire form: publish_many's events share their ``now``.
        self._stamped: tuple[datetime | None, str] = (None, "")

    def _flush_time(self, now: datetime) -> datetime:
        interval = self._batch_interval
        if interval <= 0:
            return now
        window_end = (math.floor(now.timestamp() / interval) + 1) * interval
        return datetime.fromtimestamp(window_end, UTC)

    def _prepare(
        self,
        event_name: str,
        data: Mapping[str, Any] | Any,
        account_id: int,
        event_id: str | None,
        timestamp: datetime | None,
        *,
        now: datetime,
        trace_context: str | None = None,
    ) -> _Prepared:
        """Validate one event as ``publish`` takes it; its row, wire size and due time.

        ``trace_context`` is the publish span's context, stored with the event.
        """
        spec = event_spec_of(event_name)
        check_account_id(account_id, payload_error_at("accountId"))
        model = validated_data(spec, data)
        moment = now
        if timestamp is not None:
            moment = check_aware(timestamp, "timestamp", payload_error_at("timestamp"))
        event_id = event_id if event_id is not None else _new_event_id(now)
        if not is_possible_id(event_id):
            raise PayloadError(
                "event_id must be a non-empty string of at most 200 printable characters",
                location="eventId",
            )
        seen, stamp = self._stamped
        if seen is not moment:
            try:
                stamp = wire_timestamp(moment)
            except OverflowError:
                raise PayloadError(
                    "timestamp is out of range once converted to UTC", location="timestamp"
                ) from None
            self._stamped = (moment, stamp)  # one object swapped: safe across threads
        payload, size = wire_payload(event_id, event_name, stamp, model)
        if size > self._max_event_bytes:
            # Refused here, not by every retry: a listener that answers 413 would block
            # the webhook's queue behind this event.
            raise PayloadError(
                f"the {event_name} event is {size} bytes as JSON, over the sender's "
                f"max_event_bytes ({self._max_event_bytes}); publish less data per event",
                location="data",
            )
        row = {
            "id": event_id,
            "account_id": account_id,
            "name": event_name,
            "timestamp": moment,
            "realtime": spec.realtime,
            "payload": payload,
            "created_at": now,
            "trace_context": trace_context,
        }
        due = now if spec.realtime else self._flush_time(now)
        return _Prepared(event_id, account_id, event_name, row, size, due)

    def _prepare_item(
        self, index: int, item: object, now: datetime, trace_context: str | None
    ) -> _Prepared:
        """``_prepare`` for ``events[index]``, whose errors name the item."""
        where = f"events.{index}"
        arguments = publish_arguments(item, where)
        try:
            return self._prepare(*arguments, now=now, trace_context=trace_context)
        except PayloadError as exc:
            location = f"{where}.{exc.location}" if exc.location else where
            if isinstance(exc, UnknownEventError):
                raise UnknownEventError(
                    f"{where}: {exc.message}",
                    event_name=exc.event_name,
                    location=location,
                    hint=exc.hint,
                ) from exc
            raise PayloadError(f"{where}: {exc.message}", location=location, hint=exc.hint) from exc

    def _deliveries(
        self, conn: Connection, stored: Sequence[_Prepared]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, ...]]]:
        """The delivery rows of newly stored events, and the webhook ids of each event's rows.

        An event gets one row per active webhook of its account subscribed to
        its name; the rows come in ``stored``'s order, and the second list holds
        each event's webhook ids in that order too (what ``publish`` reports).
        Each account's active webhooks are looked up once, however many of its
        events there are; an event list's stored text is parsed once per
        process, and the webhooks of an (account, name) pair are picked once per call.
        """
        subscribed: dict[int, list[tuple[str, frozenset[str]]]] = {}
        for account_id in {prepared.account_id for prepared in stored}:
            subscribed[account_id] = [
                (webhook_id, _event_names(names))
                for webhook_id, names in self._store.subscribers(conn, account_id)
            ]
        receivers: dict[tuple[int, str], tuple[str, ...]] = {}
        rows: list[dict[str, Any]] = []
        queued: list[tuple[str, ...]] = []
        for prepared in stored:
            key = (prepared.account_id, prepared.name)
            webhook_ids = receivers.get(key)
            if webhook_ids is None:
                webhook_ids = receivers[key] = tuple(
                    webhook_id
                    for webhook_id, names in subscribed[prepared.account_id]
                    if prepared.name in names
                )
            queued.append(webhook_ids)
            created = prepared.row["created_at"]
            rows.extend(
                {
                    "event_id": prepared.id,
                    "webhook_id": webhook_id,
                    "status": "pending",
                    "request_id": None,
                    "size": prepared.size,
                    "created_at": created,
                    "due_at": prepared.due,
                    "updated_at": created,
                }
                for webhook_id in webhook_ids
            )
        return rows, queued

    def _woken(self, connection: Connection | None) -> None:
        """Wake this process's dispatchers now, or when the caller's transaction commits.

        (Dispatchers in other processes learn of the work from the transaction
        itself: on PostgreSQL the deliveries' insert notifies them at commit, and
        on SQLite they notice the commit.)
        """
        if connection is None:
            self._wake()
            return
        # One wake-up per caller transaction, however many events it publishes. The flag
        # lives on the pooled connection, so a rollback (or the connection closing with
        # its transaction open) clears it, or a later transaction would never wake.
        connection.info[_WAKE_ON_COMMIT] = True
        if not event.contains(connection, "commit", self._wake_after_commit):
            event.listen(connection, "commit", self._wake_after_commit)
            event.listen(connection, "rollback", self._forget_wake)

    def publish(
        self,
        event_name: str,
        *,
        data: Mapping[str, Any] | Any,
        account_id: int,
        event_id: str | None = None,
        timestamp: datetime | None = None,
        connection: Connection | None = None,
    ) -> Published:
        """Store one event and its deliveries; return what was stored and queued.

        ``data`` is validated against the event's model (wire or Python field
        names). Without ``connection`` the event is committed before this
        returns; with it, it joins the caller's transaction and is committed
        (or rolled back) with it. The record holds the event id and the
        webhooks a delivery was queued for, in order. An ``event_id`` that is
        stored already is not stored again: the record says ``duplicate=True``
        with no webhooks.
        """
        with self._publishing(PUBLISH_SPAN) as traced:
            prepared = self._prepare(
                event_name,
                data,
                account_id,
                event_id,
                timestamp,
                now=self._clock(),
                trace_context=traced.trace_context,
            )
            traced.describe((prepared.name,), (prepared.account_id,), 1)
            with self._store.transaction(connection) as conn:
                if not self._store.insert_event(conn, prepared.row):
                    traced.queued(0)
                    return Published(prepared.id, (), True)
                rows, (webhook_ids,) = self._deliveries(conn, [prepared])
                self._store.insert_deliveries(conn, rows)
            traced.queued(len(rows))
        self._woken(connection)
        return Published(prepared.id, webhook_ids, False)

    def _publishing(self, name: str) -> Publishing:
        """The span of one publish call (one that does nothing when the sender does not trace)."""
        return UNTRACED if self._tracing is None else self._tracing.publishing(name)

    def publish_many(
        self,
        events: Iterable[Publication | Mapping[str, Any]],
        *,
        connection: Connection | None = None,
    ) -> list[Published]:
        """Store many events and their deliveries in one transaction; a record per item, in order.

        Each item is a :class:`~hookwire.sender.Publication` or a mapping of
        ``publish``'s keyword arguments (``event_name``, ``data``,
        ``account_id``, optional ``event_id`` and ``timestamp``). All or
        nothing: every item is validated as ``publish`` validates before
        anything is stored, and the first invalid one raises the error
        ``publish`` would, its message and ``location`` prefixed with
        ``events.<index>``. Deliveries are stored in input order, so each
        webhook receives the events in that order. An id repeated in
        ``events`` or stored already is stored once and fanned out once: the
        first place of a new id gets the webhooks its deliveries were queued
        for, and every other place of it, like every place of an id stored
        before this call, gets ``duplicate=True`` and no webhooks.
        """
        items = publish_many_items(events)
        if not items:
            return []
        now = self._clock()
        ids: list[str] = []
        distinct: dict[str, _Prepared] = {}
        queued: dict[str, tuple[str, ...]] = {}
        with self._publishing(PUBLISH_MANY_SPAN) as traced:
            for index, item in enumerate(items):
                prepared = self._prepare_item(index, item, now, traced.trace_context)
                ids.append(prepared.id)
                distinct.setdefault(prepared.id, prepared)
            if traced.recording:
                traced.describe(
                    list(dict.fromkeys(p.name for p in distinct.values())),
                    list(dict.fromkeys(p.account_id for p in distinct.values())),
                    len(items),
                )
            with self._store.transaction(connection) as conn:
                new = self._store.insert_events(conn, [p.row for p in distinct.values()])
                if new:
                    stored = [p for event_id, p in distinct.items() if event_id in new]
                    rows, receivers = self._deliveries(conn, stored)
                    self._store.insert_deliveries(conn, rows)
                    queued = dict(zip((p.id for p in stored), receivers, strict=True))
            traced.queued(sum(map(len, queued.values())))
        if new:
            self._woken(connection)
        # A new id's first place takes its webhooks; pop leaves its later places duplicates.
        published: list[Published] = []
        for event_id in ids:
            webhook_ids = queued.pop(event_id, None)
            if webhook_ids is None:
                published.append(Published(event_id, (), True))
            else:
                published.append(Published(event_id, webhook_ids, False))
        return published

    def _wake_after_commit(self, connection: Connection) -> None:
        if connection.info.pop(_WAKE_ON_COMMIT, False):
            self._wake()

    def _forget_wake(self, connection: Connection) -> None:
        connection.info.pop(_WAKE_ON_COMMIT, None)
