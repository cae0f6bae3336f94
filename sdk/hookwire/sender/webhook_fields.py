"""The registry's per-field checks: what a webhook's name, description, event names and
basic-auth credentials may be, and the longest each may be.

``sender.webhooks`` runs them on what it is given, and the console runs each alone
to place its message beside its field; they are public in ``hookwire.sender.registry``,
which imports them from here. They are apart from the registry because they read no
store: a field is checked the same way wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import RegistryError
from ..events import event_spec
from .models import check_text

__all__ = [
    "MAX_CREDENTIAL",
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "check_basic_password",
    "check_basic_username",
    "check_description",
    "check_event_names",
    "check_name",
]

MAX_NAME = 200
"""The longest webhook name, in characters."""
MAX_DESCRIPTION = 2000
"""The longest description, in characters."""
MAX_CREDENTIAL = 1000
"""The longest basic-auth username or password, in characters."""


def check_basic_username(username: object) -> str:
    """A basic-auth username as the registry keeps it; :class:`~hookwire.errors.RegistryError`
    if it is empty, holds ':' or control characters, or is too long."""
    text = check_text(username, "the basic auth username", RegistryError, max_length=MAX_CREDENTIAL)
    if not text or ":" in text:
        raise RegistryError("the basic auth username must be non-empty and contain no ':'")
    return text


def check_basic_password(password: object) -> str:
    """A basic-auth password as the registry keeps it; the refusal never quotes its value."""
    text = check_text(password, "the basic auth password", RegistryError, max_length=MAX_CREDENTIAL)
    if not text:
        raise RegistryError("the basic auth password is empty; give one")
    return text


def check_event_names(names: Iterable[str]) -> list[str]:
    """The event names a webhook triggers on, without repeats; a
    :class:`~hookwire.errors.RegistryError` names what is wrong."""
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise RegistryError(
            f"events must be a list of event names, not {type(names).__name__}; "
            'e.g. events=["COURSE_COMPLETED"]'
        )
    chosen = list(dict.fromkeys(names))
    if not chosen:
        raise RegistryError("a webhook needs at least one event name to trigger on")
    for name in chosen:
        if not isinstance(name, str):
            raise RegistryError(f"event names must be strings, not {type(name).__name__}")
        event_spec(name)
    return chosen


def check_name(name: object) -> str:
    """A webhook name as the registry keeps it (stripped); refused when empty or too long."""
    text = check_text(name, "the webhook name", RegistryError, max_length=MAX_NAME).strip()
    if not text:
        raise RegistryError("the webhook name is empty; give it a name")
    return text


def check_description(description: object) -> str:
    """A description as the registry keeps it ("" for None); refused when too long."""
    if description is None:
        return ""
    return check_text(
        description,
        "the description",
        RegistryError,
        max_length=MAX_DESCRIPTION,
        multiline=True,
    )
