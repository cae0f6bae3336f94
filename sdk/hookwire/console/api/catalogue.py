"""``/event-types``: the event catalogue a webhook subscribes to, with schemas and examples.

Every name in :data:`hookwire.CATALOGUE`: whether it is sent in real time or
in batches, the catalogue's line on when it is sent, the JSON Schema of its
``data`` (wire names) and an example event from :mod:`hookwire.samples`. The
catalogue is fixed for a release, so the answers are built once.
"""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from ...errors import NotFoundError
from ...events import CATALOGUE, EventSpec
from ...samples import sample_event
from ..routing import ApiModel, Call, route

__all__ = ["EventType", "EventTypeList"]

_EXAMPLE_TIME = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
"""When every example event happens: a fixed time, so examples are the same in each answer."""


class EventType(ApiModel):
    """One event name of the catalogue."""

    name: str
    delivery: Literal["realtime", "batch"]
    family: str
    description: str
    data_schema: dict[str, Any]
    example: dict[str, Any]


class EventTypeList(ApiModel):
    """Every event name of the catalogue, real-time ones first."""

    items: list[EventType]


def _example(spec: EventSpec) -> dict[str, Any]:
    """A sample event of this name, the same in every answer (seeded by the name)."""
    rng = random.Random(zlib.crc32(spec.name.encode()))
    return sample_event(spec.name, rng, timestamp=_EXAMPLE_TIME)


@cache
def _event_types() -> dict[str, EventType]:
    return {
        name: EventType(
            name=name,
            delivery="realtime" if spec.realtime else "batch",
            family=spec.family,
            description=spec.description,
            data_schema=spec.data_model.model_json_schema(by_alias=True),
            example=_example(spec),
        )
        for name, spec in CATALOGUE.items()
    }


@route(
    "GET",
    "/event-types",
    capability="read",
    summary="List the event names a webhook can subscribe to",
    response=EventTypeList,
    tag="event-types",
)
def list_event_types(call: Call) -> EventTypeList:
    """Every catalogued event name with its delivery, description, data schema and example."""
    return EventTypeList(items=list(_event_types().values()))


@route(
    "GET",
    "/event-types/<event_name>",
    capability="read",
    summary="Show one event name: its delivery, description, data schema and example",
    response=EventType,
    tag="event-types",
)
def get_event_type(call: Call) -> EventType:
    """One catalogued event name; an unknown name answers 404."""
    name = str(call.params["event_name"])
    found = _event_types().get(name)
    if found is None:
        raise NotFoundError(f"no event type {name[:80]!r}; list them with GET /event-types")
    return found
