"""Realistic events and envelopes for tests, with the fields a test cares about set.

:func:`make_event` starts from :func:`hookwire.samples.sample_event` (the
generator behind ``hookwire trigger`` and ``hookwire samples``) and applies
overrides; :func:`make_envelope` wraps events for one account. Both return
plain wire dicts (camelCase names), ready for :func:`~hookwire.testing.signed_request`.

Overrides are keyword arguments, in snake_case or in the wire's camelCase:

- ``event_id`` / ``eventId``, ``timestamp``, ``event_info`` / ``eventInfo``
  and ``data`` set the event's own fields (``data`` replaces the whole object);
- any other name sets that field of ``data``: ``user_id=7`` sets ``data.userId``.

Example::

    >>> event = make_event("COURSE_COMPLETED", user_id=7, has_passed=False, rng=1)
    >>> event["data"]["userId"], event["data"]["hasPassed"]
    (7, False)
    >>> make_envelope(event, account_id=1010)["accountId"]
    1010
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from .._payload_errors import payload_error
from ..events import CATALOGUE, Envelope, event_spec
from ..samples import sample_event

__all__ = ["DEFAULT_ACCOUNT_ID", "make_envelope", "make_event"]

DEFAULT_ACCOUNT_ID: Final[int] = 1010
"""The account of :func:`make_envelope` when none is given (the vendor's sample account)."""

_EVENT_FIELDS: Final[frozenset[str]] = frozenset({"eventId", "timestamp", "eventInfo", "data"})


def _rng(rng: random.Random | int | None) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(rng)


def _wire_value(value: Any) -> Any:
    """Datetimes as the vendor writes them (ISO-8601, milliseconds, ``Z``); the rest as given."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _data_fields(event_name: str) -> dict[str, str]:
    """The wire names of ``event_name``'s data fields (each maps to itself)."""
    model = event_spec(event_name).data_model
    return {field.alias or name: name for name, field in model.model_fields.items()}


def make_event(
    name: str,
    *,
    rng: random.Random | int | None = None,
    validate: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Return one wire event named ``name``, with realistic data and ``overrides`` applied.

    ``rng`` is a :class:`random.Random` or a seed: the same seed gives the
    same ids and data (pass ``timestamp`` too for the same dates). A
    ``timestamp`` override given as a datetime also dates the data (its
    ``dateEnrolled`` and such fall before it); datetimes are written as ISO
    strings, other values go in as given.

    With ``validate`` (the default) the event must be a catalogued name whose
    data passes its model, and every data override must name one of the
    model's fields; otherwise :class:`~hookwire.UnknownEventError`,
    :class:`~hookwire.PayloadError` or :class:`TypeError` (an unknown field)
    is raised. ``validate=False`` builds bad events on purpose: any name
    (an unknown one starts from empty data), any field, any value.

    Example::

        make_event("COURSE_ENROLLMENT", user_id=7, event_id="evt-1")
        make_event("COURSE_COMPLETED", hasPassed="maybe", validate=False)
    """
    generator = _rng(rng)
    top: dict[str, Any] = {}
    data_overrides: dict[str, Any] = {}
    for key, value in overrides.items():
        wire = to_camel(key)
        (top if wire in _EVENT_FIELDS else data_overrides)[wire] = _wire_value(value)
    moment = overrides.get("timestamp")
    known = name in CATALOGUE
    if validate or known:
        event = sample_event(
            name,
            generator,
            event_id=top.get("eventId"),
            timestamp=moment if isinstance(moment, datetime) else None,
        )
    else:
        event = {"eventId": top.get("eventId") or _uuid(generator), "eventName": name}
        event["timestamp"] = _wire_value(datetime.now(UTC))
        event["data"] = {}
    if validate:
        fields = _data_fields(name)
        unknown = [wire for wire in data_overrides if wire not in fields]
        if unknown:
            raise TypeError(
                f"{name} has no data field {', '.join(map(repr, unknown))}; its fields are "
                f"{', '.join(fields)} (pass validate=False to set one anyway)"
            )
    event.update(top)
    event["data"] = {**event["data"], **data_overrides}
    if validate:
        _check_event(event)
    return event


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _check_event(event: dict[str, Any]) -> None:
    try:
        event_spec(event["eventName"]).event_type.model_validate(event)
    except ValidationError as exc:
        raise payload_error(exc) from exc


def make_envelope(
    *events: Mapping[str, Any] | str,
    account_id: int = DEFAULT_ACCOUNT_ID,
    rng: random.Random | int | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Return a wire envelope for ``account_id`` holding ``events`` in order.

    Each event is a dict (from :func:`make_event`, or written by hand) or an
    event name, built with :func:`make_event` from ``rng``. With ``validate``
    the envelope must parse as :class:`~hookwire.Envelope`, or
    :class:`~hookwire.PayloadError` is raised naming the bad field.

    Example::

        make_envelope("COURSE_ENROLLMENT", make_event("COURSE_COMPLETED", user_id=7))
    """
    generator = _rng(rng)
    built = [
        make_event(event, rng=generator, validate=validate)
        if isinstance(event, str)
        else dict(event)
        for event in events
    ]
    envelope: dict[str, Any] = {"accountId": account_id, "events": built}
    if validate:
        try:
            Envelope.model_validate(envelope)
        except ValidationError as exc:
            raise payload_error(exc) from exc
    return envelope
