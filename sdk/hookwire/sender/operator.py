"""Operator events: what the sender tells its operator about the health of webhooks.

A webhook starts failing, keeps failing past thresholds (1 h and 12 h by
default), recovers, has a request given up (its deliveries dead), has queued
deliveries die unsent (older than the retry window when a dispatcher or
``purge`` reaches them), or is disabled by the sender (a 410 answer, or failing
for the whole retry window). Each of these is decided once, in the store
transaction that records the attempt or kills the deliveries
(``store.transitions``), and becomes an :class:`OperatorEvent`:

- stored as an event of the operator account (:data:`OPERATOR_ACCOUNT_ID`),
  under an id that names the transition, so the same transition is never
  stored twice, whichever dispatcher records it;
- queued, in that same transaction, for the reserved operator webhook
  (:data:`OPERATOR_WEBHOOK_ID`) when the sender has one
  (``Sender(operator_url=..., operator_secret=...)``): the dispatcher signs,
  orders and retries it like any delivery;
- handed, once the transaction has committed, to the callbacks registered with
  ``sender.on_operator_event``; they run in a thread of their own, one event at a
  time and in order, so a slow callback never holds up a dispatcher turn.

Whether the store has the operator webhook is read in each turn's transaction, so a
dispatcher opened before ``Sender(operator_url=...)`` ran delivers operator events too.

The operator webhook's own attempts produce no operator events, so a failing
operator URL cannot feed itself.

Example::

    sender = Sender(url, operator_url="https://ops.example/hooks", operator_secret=secret)

    @sender.on_operator_event
    def page_someone(event: OperatorEvent) -> None:
        if event.name == WEBHOOK_DISABLED:
            print(f"webhook {event.webhook_id} was disabled: {event.reason}")
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_FAILING_THRESHOLDS",
    "DELIVERIES_EXPIRED",
    "DELIVERY_DEAD",
    "MAX_LISTED_EVENT_IDS",
    "OPERATOR_ACCOUNT_ID",
    "OPERATOR_EVENT_NAMES",
    "OPERATOR_WEBHOOK_ID",
    "WEBHOOK_DISABLED",
    "WEBHOOK_FAILING",
    "WEBHOOK_RECOVERED",
    "WEBHOOK_STILL_FAILING",
    "OperatorCallback",
    "OperatorEvent",
    "OperatorEvents",
    "OperatorTurn",
    "check_thresholds",
]

log = logging.getLogger("hookwire.sender")

WEBHOOK_FAILING: Final = "HOOKWIRE_WEBHOOK_FAILING"
"""A webhook's first failed attempt after a success (or its first attempt ever failed)."""
WEBHOOK_STILL_FAILING: Final = "HOOKWIRE_WEBHOOK_STILL_FAILING"
"""A webhook has failed for one of the failing thresholds (once per threshold and streak)."""
WEBHOOK_RECOVERED: Final = "HOOKWIRE_WEBHOOK_RECOVERED"
"""A webhook's first success after a run of failures."""
DELIVERY_DEAD: Final = "HOOKWIRE_DELIVERY_DEAD"
"""A request was given up: the deliveries it carried are dead (one event per request)."""
WEBHOOK_DISABLED: Final = "HOOKWIRE_WEBHOOK_DISABLED"
"""The sender switched a webhook off: a 410 answer, or failing for the whole retry window."""
DELIVERIES_EXPIRED: Final = "HOOKWIRE_DELIVERIES_EXPIRED"
"""Deliveries of a webhook died unsent or unfinished, older than the retry window
(``RetryPolicy.max_age``) when a dispatcher or ``purge`` reached them; no attempt
decided it, so the event has no ``lastAttempt``."""
OPERATOR_EVENT_NAMES: Final = (
    WEBHOOK_FAILING,
    WEBHOOK_STILL_FAILING,
    WEBHOOK_RECOVERED,
    DELIVERY_DEAD,
    WEBHOOK_DISABLED,
    DELIVERIES_EXPIRED,
)
"""Every operator event name; none is in the LMS catalogue, so none can be published."""

OPERATOR_WEBHOOK_ID: Final = "wh_operator"
"""The id of the reserved webhook that carries operator events to the operator URL.

It is reached by id like any webhook (``sender.webhooks.get``, ``retire``,
``test``, ``delete``) but is neither listed nor counted among an account's webhooks."""
OPERATOR_ACCOUNT_ID: Final = 0
"""The ``accountId`` of operator events and of their envelopes: the sender itself.
The account a webhook belongs to travels in each event's ``data.accountId``."""
DEFAULT_FAILING_THRESHOLDS: Final = (timedelta(hours=1), timedelta(hours=12))
"""After how long a failing webhook is announced again (``HOOKWIRE_WEBHOOK_STILL_FAILING``)."""
MAX_LISTED_EVENT_IDS: Final = 100
"""The most event ids one operator event lists; ``eventCount`` always counts them all."""

OperatorCallback = Callable[["OperatorEvent"], object]
"""A function that takes each :class:`OperatorEvent` (``sender.on_operator_event``)."""


def _wire_time(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z``, as the wire's timestamps are."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_time(value: object) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


@dataclass(frozen=True, kw_only=True, slots=True)
class OperatorEvent:
    """One thing the operator should know about a webhook, with the facts behind it.

    ``at`` is when the attempt that caused it started (for
    ``DELIVERIES_EXPIRED``, which no attempt caused: when the deliveries died);
    ``status_code`` and ``error`` are that attempt's answer (``status_code``
    None when no answer came), ``request_id`` its request (None without an
    attempt). ``failing_since`` is when the webhook's run of failures began (for
    ``RECOVERED``: the run that just ended). ``threshold`` is the duration a
    ``STILL_FAILING`` event announces. ``request_id``, ``event_ids`` (at most
    :data:`MAX_LISTED_EVENT_IDS`) and ``event_count`` describe the request of
    that attempt (for ``DELIVERIES_EXPIRED``: the events whose deliveries died);
    ``dead_deliveries`` is how many deliveries a disabling or an expiry killed,
    and ``reason`` why the sender disabled the webhook (``"expired"`` for an
    expiry).
    """

    name: str
    event_id: str
    webhook_id: str
    account_id: int
    at: datetime
    status_code: int | None
    error: str | None
    request_id: str | None
    attempts: int
    failing_since: datetime | None = None
    threshold: timedelta | None = None
    event_ids: tuple[str, ...] = ()
    event_count: int = 0
    dead_deliveries: int = 0
    reason: str | None = None

    def data(self) -> dict[str, Any]:
        """The event's ``data`` as it goes on the wire (camelCase, times in ISO-8601 UTC)."""
        return {
            "webhookId": self.webhook_id,
            "accountId": self.account_id,
            "lastAttempt": None
            if self.request_id is None
            else {
                "at": _wire_time(self.at),
                "statusCode": self.status_code,
                "error": self.error,
                "requestId": self.request_id,
                "attempts": self.attempts,
            },
            "failingSince": _wire_time(self.failing_since),
            "thresholdSeconds": (
                None if self.threshold is None else int(self.threshold.total_seconds())
            ),
            "eventIds": list(self.event_ids),
            "eventCount": self.event_count,
            "deadDeliveries": self.dead_deliveries,
            "reason": self.reason,
        }

    def payload(self) -> str:
        """The whole wire event (``eventId``, ``eventName``, ``timestamp``, ``data``) as JSON."""
        wire = {
            "eventId": self.event_id,
            "eventName": self.name,
            "timestamp": _wire_time(self.at),
            "data": self.data(),
        }
        return json.dumps(wire, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_wire(
        cls,
        event_id: str,
        name: str,
        data: Mapping[str, Any],
        timestamp: datetime | None = None,
    ) -> OperatorEvent:
        """Read an operator event back from a verified envelope's event (its id, name,
        data, and timestamp: the ``at`` of an event that no attempt caused).

        Example::

            for event in receiver.verify(body, headers).events:
                if event.event_name in OPERATOR_EVENT_NAMES:
                    alert = OperatorEvent.from_wire(
                        event.event_id, event.event_name, event.data, event.timestamp
                    )
        """
        last = data.get("lastAttempt") or {}
        seconds = data.get("thresholdSeconds")
        request_id = last.get("requestId")
        return cls(
            name=name,
            event_id=event_id,
            webhook_id=str(data.get("webhookId", "")),
            account_id=int(data.get("accountId", 0)),
            at=_read_time(last.get("at")) or timestamp or datetime.fromtimestamp(0, UTC),
            status_code=last.get("statusCode"),
            error=last.get("error"),
            request_id=None if request_id is None else str(request_id),
            attempts=int(last.get("attempts", 0)),
            failing_since=_read_time(data.get("failingSince")),
            threshold=None if seconds is None else timedelta(seconds=int(seconds)),
            event_ids=tuple(data.get("eventIds") or ()),
            event_count=int(data.get("eventCount", 0)),
            dead_deliveries=int(data.get("deadDeliveries", 0)),
            reason=data.get("reason"),
        )


@dataclass(slots=True)
class OperatorTurn:
    """What one dispatcher turn needs to decide operator events, and what it decided.

    The store decides the events of a turn's outcomes when the store has an active
    operator webhook (read in the turn's transaction) or when ``callbacks`` is true
    (the process has callbacks to hand them to). It appends to ``fired`` inside the
    turn's transaction; the dispatcher reads it only once that transaction has
    committed.
    """

    thresholds: tuple[timedelta, ...]
    callbacks: bool = True
    fired: list[OperatorEvent] = field(default_factory=list)


def check_thresholds(thresholds: object) -> tuple[timedelta, ...]:
    """``failing_thresholds`` sorted, without repeats; a :class:`ConfigurationError` if it
    is not an iterable of positive timedeltas."""
    if isinstance(thresholds, str | bytes) or not isinstance(thresholds, Iterable):
        raise ConfigurationError("failing_thresholds must be a tuple of timedeltas")
    found = tuple(thresholds)
    if not all(isinstance(t, timedelta) and t > timedelta(0) for t in found):
        raise ConfigurationError("failing_thresholds must hold positive timedeltas only")
    return tuple(sorted(set(found)))


class OperatorEvents:
    """A sender's operator-event settings and callbacks.

    Every dispatcher turn that records outcomes asks the store whether it has an
    active operator webhook; the events are decided when it has one or when
    callbacks are registered here. Callbacks run in a thread of their own (started
    when events arrive, ended when none are left), one event at a time and in the
    order the turns committed them.
    """

    def __init__(self, thresholds: tuple[timedelta, ...]) -> None:
        self.thresholds = thresholds
        self._callbacks: list[OperatorCallback] = []
        self._pending: deque[OperatorEvent] = deque()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None

    def subscribe(self, callback: OperatorCallback) -> None:
        """Call ``callback`` with every operator event from now on."""
        if not callable(callback):
            raise ConfigurationError("an operator event callback must be callable")
        self._callbacks.append(callback)

    def turn(self) -> OperatorTurn:
        """An :class:`OperatorTurn` for one dispatcher turn."""
        return OperatorTurn(self.thresholds, callbacks=bool(self._callbacks))

    def notify(self, fired: Iterable[OperatorEvent]) -> None:
        """Queue each committed event for the callbacks and return at once; the callback
        thread hands them out in order (a callback that raises is logged)."""
        if not self._callbacks:
            return
        with self._lock:
            self._pending.extend(fired)
            if self._pending and self._worker is None:
                # Not a daemon: events handed out before the interpreter exits still reach
                # the callbacks.
                self._worker = threading.Thread(
                    target=self._hand_out, name="hookwire-operator-callbacks"
                )
                self._worker.start()

    @property
    def settled(self) -> bool:
        """Whether every event queued so far has been handed to the callbacks."""
        return self._worker is None

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until every event queued so far has been handed to the callbacks (at most
        ``timeout`` seconds); whether it has."""
        with self._settled:
            return self._settled.wait_for(lambda: self._worker is None, timeout)

    def _hand_out(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._worker = None
                    self._settled.notify_all()
                    return
                event = self._pending.popleft()
            for callback in list(self._callbacks):
                try:
                    callback(event)
                except Exception:
                    log.exception(
                        "an operator event callback failed on %s for webhook %s",
                        event.name,
                        event.webhook_id,
                    )
