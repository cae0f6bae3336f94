"""What the listening core's checks of a request are made of.

:class:`~hookwire.listening.ListeningCore` reads a header by its lower-case name
from any mapping (:func:`header`), tells a JSON content type (:func:`is_json`) and
refuses a request with :class:`Refusal` before any handler runs. They hold no
settings of a core and no framework's types, so they are apart from the core's
flow in ``hookwire.listening``.
"""

from __future__ import annotations

from typing import Any

from .receiver import HeaderMapping

__all__ = ["Refusal", "header", "is_json"]


class Refusal(Exception):
    """An answer other than 202, decided before any handler runs."""

    def __init__(
        self, status: int, message: str, *, verified: bool | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.verified = verified
        self.extra = extra


def is_json(content_type: Any) -> bool:
    if content_type == "application/json":
        return True
    if not isinstance(content_type, str):
        return False
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def header(headers: HeaderMapping, name: str) -> Any:
    """One header by its lower-case ``name``, from any mapping whatever the names' case."""
    value = headers.get(name)
    if value is None:
        for key, found in headers.items():
            if isinstance(key, str) and key.lower() == name:
                return found
    return value
