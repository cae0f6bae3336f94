"""One published event, checked: its catalogue entry, its data, its wire JSON; and
``publish_many``'s items read as ``publish``'s arguments.

Every refusal is a :class:`~hookwire.errors.PayloadError` (an
:class:`~hookwire.errors.UnknownEventError` for a name not in the catalogue)
whose ``location`` names the field in wire names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import PayloadError, UnknownEventError
from ..events import EventSpec, event_spec
from ..hints import Hint
from .models import Publication, shown_id

__all__ = [
    "ARGUMENTS",
    "REQUIRED",
    "event_spec_of",
    "payload_error_at",
    "publish_arguments",
    "publish_many_items",
    "validated_data",
    "wire_payload",
]

#: ``publish``'s keyword arguments, as ``publish_many`` takes them per event.
ARGUMENTS = ("event_name", "data", "account_id", "event_id", "timestamp")
#: The arguments an event cannot do without.
REQUIRED = ("event_name", "data", "account_id")

# json.dumps with these options, without building an encoder per event.
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def payload_error_at(location: str) -> Callable[[str], PayloadError]:
    """A factory of :class:`PayloadError` at ``location``, for the checks that take one."""
    return lambda message: PayloadError(message, location=location)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "text with a lone surrogate, which is not valid Unicode"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


# json.dumps with these options, without building an encoder per event.
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

# publish's keyword arguments, as publish_many takes them per event.
_ARGUMENTS = ("event_name", "data", "account_id", "event_id", "timestamp")
_REQUIRED = ("event_name", "data", "account_id")


def validated_data(spec: EventSpec, data: Mapping[str, Any] | Any) -> BaseModel:
    """``data`` validated against the event's model (wire or Python field names)."""
    try:
        return spec.data_model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PayloadError(
            f"data for {spec.name} is invalid: {where}: {first['msg']}",
            location=f"data.{where}" if where else "data",
        ) from exc


def wire_payload(event_id: str, event_name: str, stamp: str, model: BaseModel) -> tuple[str, int]:
    """The event as it goes on the wire (compact JSON, extra fields kept as given), and
    its size in bytes as UTF-8."""
    try:
        wire = {
            "eventId": event_id,
            "eventName": event_name,
            "timestamp": stamp,
            "data": model.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        payload = _to_json(wire)
        return payload, len(payload.encode())
    except (ValueError, TypeError, RecursionError) as exc:
        # Extra fields are kept as given; some values have no JSON form.
        raise PayloadError(
            f"data for {event_name} cannot be sent as JSON ({_reason(exc)}); use only "
            "strings, numbers, booleans, null, lists and objects",
            location="data",
        ) from None


def event_spec_of(event_name: object) -> EventSpec:
    """The catalogue entry of a published event's name; :class:`UnknownEventError` if none."""
    if not isinstance(event_name, str):
        raise UnknownEventError(
            f"unknown event name {shown_id(event_name)}; event names are strings",
            event_name=shown_id(event_name),
            location="eventName",
            hint=Hint.EVENT_NAMES,
        )
    try:
        return event_spec(event_name)
    except UnknownEventError as exc:
        raise UnknownEventError(
            exc.message, event_name=exc.event_name, location="eventName", hint=exc.hint
        ) from None


def publish_many_items(events: Iterable[object]) -> list[object]:
    """``publish_many``'s ``events`` as a list; a single event or a non-iterable is refused."""
    if not isinstance(events, str | bytes | bytearray | Mapping | Publication):
        try:
            iterator = iter(events)
        except TypeError:
            pass
        else:
            return list(iterator)
    raise PayloadError(
        "events must be an iterable of mappings or Publication records, not "
        f"{type(events).__name__}",
        location="events",
    )


def publish_arguments(item: object, where: str) -> tuple[Any, Any, Any, Any, Any]:
    """An item of ``publish_many``'s ``events`` as ``publish``'s arguments, in order."""
    if isinstance(item, Publication):
        return (item.event_name, item.data, item.account_id, item.event_id, item.timestamp)
    if not isinstance(item, Mapping):
        raise PayloadError(
            f"{where} must be a mapping of publish's keyword arguments or a Publication, "
            f"not {type(item).__name__}",
            location=where,
        )
    unknown = [repr(key)[:40] for key in item if key not in ARGUMENTS]
    if unknown:
        raise PayloadError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown)[:3])}; an event takes "
            "event_name, data, account_id, event_id and timestamp",
            location=where,
        )
    missing = [key for key in REQUIRED if key not in item]
    if missing:
        raise PayloadError(
            f"{where} lacks {', '.join(missing)}; an event needs event_name, data and account_id",
            location=where,
        )
    return (
        item["event_name"],
        item["data"],
        item["account_id"],
        item.get("event_id"),
        item.get("timestamp"),
    )
