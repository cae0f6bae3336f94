"""Turning pydantic's validation errors into one-line :class:`~hookwire.PayloadError` messages."""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from ._event_names import (
    DATETIME_OFFSET,
    DATETIME_UTC,
    FAMILY_OF_NAME,
    GENERIC,
    KNOWN,
    KNOWN_NAME_ERROR,
)
from .errors import PayloadError

__all__ = ["payload_error"]

# Parts of an error location and error types that only name the dispatch by event name
# or the branches of a datetime's validation.
_DISPATCH_LOCATIONS: Final[frozenset[str]] = frozenset(
    {KNOWN, GENERIC, DATETIME_UTC, DATETIME_OFFSET, *FAMILY_OF_NAME}
)
_DISPATCH_ERRORS: Final[frozenset[str]] = frozenset(
    {"union_tag_invalid", "union_tag_not_found", KNOWN_NAME_ERROR}
)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in _DISPATCH_LOCATIONS)


def payload_error(exc: ValidationError) -> PayloadError:
    """Turn pydantic's error into a :class:`PayloadError` naming the first bad field."""
    errors = exc.errors(include_url=False, include_input=False)
    # Both dispatch branches may report one fault: count each (location, message) once.
    faults = {
        (_location(tuple(e["loc"])), e["msg"]): e["type"]
        for e in errors
        if e["type"] not in _DISPATCH_ERRORS
    } or {(_location(tuple(errors[0]["loc"])), errors[0]["msg"]): errors[0]["type"]}
    (location, message), kind = next(iter(faults.items()))
    if kind == "json_invalid":
        return PayloadError(f"the body is not JSON: {message.removeprefix('Invalid JSON: ')}")
    if not location:
        return PayloadError(f"the body is not an envelope: {message}")
    extra = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
    return PayloadError(f"{location}: {message}{extra}", location=location)
