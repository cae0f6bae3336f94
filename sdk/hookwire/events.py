"""Typed models of the envelope, its events and each event family's data.

Python attributes are snake_case; the wire names (``accountId``, ``loInstanceId``)
are their aliases, and :meth:`Envelope.to_wire` gives the wire form back.
Timestamps and dates accept ISO-8601 strings, epoch seconds and epoch
milliseconds, and always come out as aware UTC datetimes. Unknown event names
parse as a plain :class:`Event` whose ``data`` is a dict; unknown fields are
kept, not dropped.

Example::

    >>> envelope = Envelope.model_validate_json(body)
    >>> for event in envelope.events:
    ...     if isinstance(event, CompletionEvent) and event.data.has_passed:
    ...         print(event.data.user_id, event.data.date_completed)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ._event_names import BATCH as _BATCH
from ._event_names import DATETIME_OFFSET as _OFFSET
from ._event_names import DATETIME_UTC as _UTC
from ._event_names import FAMILY_OF_NAME as _FAMILY_OF_NAME
from ._event_names import GENERIC as _GENERIC
from ._event_names import KNOWN as _KNOWN
from ._event_names import KNOWN_NAME_ERROR as _KNOWN_NAME_ERROR
from ._event_names import REALTIME as _REALTIME
from ._event_names import WHEN as _WHEN
from .errors import UnknownEventError
from .hints import Hint

__all__ = [
    "CATALOGUE",
    "CiStatsData",
    "CiStatsEvent",
    "CompletionData",
    "CompletionEvent",
    "EnrollmentData",
    "EnrollmentEvent",
    "Envelope",
    "Event",
    "EventSpec",
    "GenericEvent",
    "InstanceData",
    "InstanceEvent",
    "LearningObjectData",
    "LearningObjectEvent",
    "ProgressData",
    "ProgressEvent",
    "UnenrollmentData",
    "UnenrollmentEvent",
    "UserGroupData",
    "UserGroupEvent",
    "event_spec",
]


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _Utc:
    """Validates a datetime into aware UTC, with no Python call for UTC JSON input.

    JSON's zero offsets (``Z``, epoch numbers) come as pydantic-core's UTC tzinfo,
    equal to :data:`datetime.UTC`, and pass as they are; naive or offset values,
    and all Python input (a zone may have a zero offset), go through :func:`_to_utc`.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        converted = core_schema.no_info_after_validator_function(_to_utc, handler(source))
        from_json = core_schema.union_schema(
            [(core_schema.datetime_schema(tz_constraint=0), _UTC), (converted, _OFFSET)],
            mode="left_to_right",
        )
        return core_schema.json_or_python_schema(
            json_schema=from_json,
            python_schema=converted,
            serialization=core_schema.simple_ser_schema("datetime"),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(core_schema.datetime_schema())


UtcDatetime = Annotated[datetime, _Utc]
"""A datetime from an ISO string, epoch seconds or epoch milliseconds, always aware UTC."""


class WireModel(BaseModel):
    """Base of every model: camelCase aliases on the wire, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )


# --- data models, one per event family -------------------------------------------------


class LearnerRecordData(WireModel):
    """Fields shared by the events about one learner's record of one learning object."""

    user_id: int
    lo_id: str
    lo_instance_id: str
    lo_type: str | None = None


class EnrollmentData(LearnerRecordData):
    """``*_ENROLLMENT(_BATCH)`` and ``LEARNING_PATH_COMPLETION_ROLLBACK(_BATCH)``."""

    enrollment_source: str | None = None
    date_enrolled: UtcDatetime | None = None


class CompletionData(LearnerRecordData):
    """``*_COMPLETED(_BATCH)``; ``has_passed`` is absent on certifications."""

    enrollment_source: str | None = None
    date_completed: UtcDatetime | None = None
    has_passed: bool | None = None


class UnenrollmentData(LearnerRecordData):
    """``*_UNENROLLMENT(_BATCH)``."""

    enrollment_source: str | None = None


class ProgressData(LearnerRecordData):
    """``LEARNER_PROGRESS``: how far a learner is, as a whole percentage."""

    date_started: UtcDatetime | None = None
    progress_percent: int


class LearningObjectData(WireModel):
    """``LEARNING_OBJECT_DRAFT``, ``_DELETION`` and ``_MODIFICATION(_BATCH)``."""

    lo_id: str
    lo_type: str | None = None


class InstanceData(WireModel):
    """``LEARNING_OBJECT_INSTANCE_MODIFICATION(_BATCH)`` and ``_DELETION``."""

    lo_instance_id: str
    lo_id: str
    lo_type: str | None = None


class CiStatsData(WireModel):
    """``CI_STATS``: seats of one course instance."""

    lo_instance_id: str
    waitlist_count: int
    enrollment_count: int
    seat_limit: int


class UserGroupMember(WireModel):
    """One entry of a user-group request: ``{"type": "user", "id": "11101219"}``."""

    type: str
    id: str


class UserGroupMetadata(WireModel):
    """The caller's metadata echoed back; ``event_id`` is snake_case on the wire too."""

    event_id: str | None = Field(default=None, alias="event_id")


class UserGroupRequest(WireModel):
    """The original asynchronous user-group request."""

    metadata: UserGroupMetadata = Field(default_factory=UserGroupMetadata)
    data: list[UserGroupMember] = Field(default_factory=list)


class UserGroupData(WireModel):
    """``RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED`` and ``_REMOVED``."""

    status: str
    request: UserGroupRequest = Field(default_factory=UserGroupRequest)


# --- events ----------------------------------------------------------------------------


class Event(WireModel):
    """One event. Unknown event names parse as this class with ``data`` as a dict."""

    event_id: str
    event_name: str
    timestamp: UtcDatetime
    event_info: str | None = None
    data: Any = Field(default_factory=dict)

    @property
    def is_realtime(self) -> bool:
        """True for real-time events, False for batch events and unknown names."""
        spec = CATALOGUE.get(self.event_name)
        return spec.realtime if spec else False


class GenericEvent(Event):
    """An event whose name is not in the catalogue; ``data`` is kept as a dict."""

    data: dict[str, Any] = Field(default_factory=dict)


class EnrollmentEvent(Event):
    """An enrollment (or completion rollback); ``data`` is :class:`EnrollmentData`."""

    data: EnrollmentData


class CompletionEvent(Event):
    """A completion; ``data`` is :class:`CompletionData`."""

    data: CompletionData


class UnenrollmentEvent(Event):
    """An unenrollment; ``data`` is :class:`UnenrollmentData`."""

    data: UnenrollmentData


class ProgressEvent(Event):
    """``LEARNER_PROGRESS``; ``data`` is :class:`ProgressData`."""

    data: ProgressData


class LearningObjectEvent(Event):
    """A learning object was drafted, deleted or modified."""

    data: LearningObjectData


class InstanceEvent(Event):
    """A learning object instance was modified or deleted."""

    data: InstanceData


class CiStatsEvent(Event):
    """``CI_STATS``; ``data`` is :class:`CiStatsData`."""

    data: CiStatsData


class UserGroupEvent(Event):
    """A user-group callback; ``eventId`` is the caller's own request id."""

    data: UserGroupData


# --- the catalogue ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What the catalogue knows of one event name."""

    name: str
    family: str
    realtime: bool
    event_type: type[Event]
    description: str = ""
    """When the event is sent, in one line."""

    @property
    def data_model(self) -> type[WireModel]:
        """The pydantic model of this event's ``data``."""
        model: type[WireModel] = self.event_type.model_fields["data"].annotation  # type: ignore[assignment]
        return model


_FAMILIES: Final[dict[str, type[Event]]] = {
    "enrollment": EnrollmentEvent,
    "completion": CompletionEvent,
    "unenrollment": UnenrollmentEvent,
    "progress": ProgressEvent,
    "learning_object": LearningObjectEvent,
    "instance": InstanceEvent,
    "ci_stats": CiStatsEvent,
    "user_group": UserGroupEvent,
}

CATALOGUE: Final[Mapping[str, EventSpec]] = {
    name: EventSpec(name, family, realtime, _FAMILIES[family], _WHEN[name])
    for realtime, table in ((True, _REALTIME), (False, _BATCH))
    for name, family in table.items()
}
"""Every documented event name, real-time ones first, in the documentation's order."""


def event_spec(name: str) -> EventSpec:
    """Return the catalogue entry for ``name``; raise :class:`UnknownEventError` if none."""
    spec = CATALOGUE.get(name)
    if spec is None:
        raise UnknownEventError(
            f"unknown event name {name!r}",
            event_name=name,
            hint=Hint.EVENT_NAMES,
        )
    return spec


def _only_unknown_names(event: GenericEvent) -> GenericEvent:
    # A catalogued event whose data is invalid must fail, not pass as a generic event.
    if event.event_name in _FAMILY_OF_NAME:
        raise PydanticCustomError(_KNOWN_NAME_ERROR, "a catalogued event name")
    return event


_NAME_PATHS: Final[list[list[str | int]]] = [["eventName"], ["event_name"]]


class _ByEventName:
    """Validates an event into the class its ``eventName`` selects.

    Catalogued names go through a tagged union keyed on ``eventName``, which
    pydantic-core resolves without building Python objects; anything else falls
    through to :class:`GenericEvent`. This is about a third cheaper per event
    than a callable discriminator, which needs each event as a Python dict.
    """

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        families = {family: handler.generate_schema(t) for family, t in _FAMILIES.items()}
        known = core_schema.tagged_union_schema(
            choices={name: families[family] for name, family in _FAMILY_OF_NAME.items()},
            discriminator=_NAME_PATHS,
        )
        generic = core_schema.no_info_after_validator_function(
            _only_unknown_names, handler.generate_schema(GenericEvent)
        )
        return core_schema.union_schema(
            [(known, _KNOWN), (generic, _GENERIC)], mode="left_to_right"
        )


AnyEvent = Annotated[Event, _ByEventName]
"""Any event, typed by its name: a catalogued name gives its family's class, others GenericEvent."""


class Envelope(WireModel):
    """One delivery: an account and its events, in the order they must be handled."""

    account_id: int
    events: list[AnyEvent]

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready wire form (camelCase names, ISO timestamps).

        Fields the input carried are kept as they came, an explicit ``null``
        included; optional fields it left out stay out.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


event_adapter: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)
"""Validates one event dict into its typed class (used by senders to check data)."""
