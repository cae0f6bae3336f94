"""Turning database rows into the sender's records, the claim's typed rows, and making ids.

Rows are read by name, never by position: a hot query's rows become one of the
NamedTuples below at the store's boundary (``Queued._make(row)``), whose fields read
as fast as an index (a name looked up on SQLAlchemy's ``Row`` costs about twenty
times as much, and a turn reads thousands).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from .models import Attempt, Delivery, StoredEvent, Webhook

__all__ = [
    "DueWebhook",
    "Queued",
    "Request",
    "attempt_from_row",
    "delivery_from_row",
    "delivery_id",
    "delivery_seq",
    "event_from_row",
    "new_id",
    "webhook_from_row",
]


# Ids are not secrets; a seeded generator avoids a system call per id (which, in
# the dispatcher, would hand the GIL to the store's thread mid-request).
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Two digits at a time: ids are made per request and per attempt on the dispatcher's loop.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
# Random bytes to digits in one C call: a byte b is the digit b % 62 (bytes 248-255 make
# 8 digits a little likelier, so 16 digits carry 95.2 bits instead of 95.3).
_DIGIT_OF_BYTE = bytes(ord(_ALPHABET[b % 62]) for b in range(256))
# The time part of the last id made: ids come in bursts within one millisecond.
_last_time = [(-1, "")]


def _base62(number: int, width: int) -> str:
    """``number`` in ``width`` base-62 digits (``width`` even), most significant first."""
    pairs = []
    for _ in range(width // 2):
        number, pair = divmod(number, 3844)
        pairs.append(_PAIRS[pair])
    return "".join(reversed(pairs))


def delivery_id(seq: int) -> str:
    """The public id of the delivery stored at ``seq``."""
    return f"dlv_{seq}"


def delivery_seq(public_id: str) -> int | None:
    """The ``seq`` behind a ``dlv_<seq>`` id, or ``None`` if it is not one."""
    digits = public_id.removeprefix("dlv_") if isinstance(public_id, str) else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None


def new_id(prefix: str, *, now: float | None = None) -> str:
    """A fresh id such as ``msg_0SFxk2Lm4VqZ...``: time-ordered, then 95 random bits.

    The first eight characters are the creation time in milliseconds, in an
    alphabet whose ASCII order is its numeric order, so ids sort by creation
    time and new rows land at the end of their index instead of on random pages.
    """
    millis = int((time.time() if now is None else now) * 1000)
    last = _last_time[0]  # one read: another thread may replace it meanwhile
    if millis != last[0]:
        last = _last_time[0] = (millis, _base62(millis, 8))
    digits = _ids.randbytes(16).translate(_DIGIT_OF_BYTE).decode("ascii")
    return f"{prefix}_{last[1]}{digits}"


def webhook_from_row(row: Any) -> Webhook:
    """Build a :class:`Webhook` (without its secrets) from a webhooks row."""
    return Webhook(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        description=row.description,
        target_url=row.target_url,
        events=tuple(json.loads(row.events)),
        auth=row.auth,
        basic_username=row.basic_username,
        active=bool(row.active),
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def event_from_row(row: Any) -> StoredEvent:
    """Build a :class:`StoredEvent` from an events row."""
    payload = json.loads(row.payload)
    return StoredEvent(
        id=row.id,
        name=row.name,
        account_id=row.account_id,
        timestamp=row.timestamp,
        realtime=bool(row.realtime),
        data=payload.get("data", {}),
        created_at=row.created_at,
    )


def attempt_from_row(row: Any) -> Attempt:
    """Build an :class:`Attempt` from an attempts row joined with its request's event ids."""
    return Attempt(
        id=row.id,
        request_id=row.request_id,
        webhook_id=row.webhook_id,
        started_at=row.started_at,
        status_code=row.status_code,
        latency_ms=float(row.latency_ms),
        error=row.error,
        response_body=row.response_body,
        event_ids=tuple(json.loads(row.event_ids)),
    )


class DeliveryRow(NamedTuple):
    """A deliveries row joined with its event's name and account, read by name
    (a NamedTuple's fields are read far faster than a SQLAlchemy ``Row``'s)."""

    seq: int
    event_id: str
    webhook_id: str
    status: str
    request_id: str | None
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    event_name: str
    account_id: int


def delivery_from_row(row: Any, attempts: tuple[Attempt, ...] = ()) -> Delivery:
    """Build a :class:`Delivery` from a deliveries row joined with its event."""
    return Delivery(
        id=delivery_id(row.seq),
        event_id=row.event_id,
        event_name=row.event_name,
        webhook_id=row.webhook_id,
        account_id=row.account_id,
        status=row.status,
        request_id=row.request_id,
        created_at=row.created_at,
        due_at=row.due_at,
        updated_at=row.updated_at,
        attempts=attempts,
    )


@dataclass(slots=True)
class Request:
    """An open request as a job needs it; ``seqs`` are its deliveries, in order;
    ``trace_contexts`` its events' stored trace contexts, in order (empty when none has one)."""

    id: str
    body: str
    event_ids: tuple[str, ...]
    attempts: int
    oldest_event_at: datetime
    seqs: list[int]
    trace_contexts: tuple[str | None, ...] = ()


class Queued(NamedTuple):
    """A queued delivery as the claim reads it (``QUEUED_LATERAL``, ``QUEUED_SQLITE``).

    ``due_at`` is as stored: a datetime on PostgreSQL, SQLite's text elsewhere
    (both compare in time order against a cutoff of the same kind).
    """

    seq: int
    event_id: str
    webhook_id: str
    size: int
    due_at: Any
    payload: str
    trace_context: str | None


class DueWebhook(NamedTuple):
    """A claimed webhook as the claim reads it (its columns: ``sql_common.job_columns``).

    ``secrets`` is as stored: PostgreSQL's array of secrets, newest first, or
    SQLite's JSON text of ``[id, secret]`` pairs (see ``store.dispatch.secrets_of``).
    """

    id: str
    account_id: int
    target_url: str
    auth: str
    basic_username: str | None
    basic_password: str | None
    failing_since: datetime | None
    secrets: Any
    open_request: str | None
