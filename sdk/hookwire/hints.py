"""What to do next about an error, as keys that each front end words its own way.

A :class:`~hookwire.errors.WebhookError` whose advice is a call to make carries
it as ``error.hint``: ``str(error)`` ends with the hint's Python wording
(:attr:`Hint.python`), ``error.message`` is the text before it, and the
``hookwire`` command prints the message with its own wording of the same key
(a command or an option), never by matching text.

Example::

    try:
        sender.webhooks.get(webhook_id)
    except NotFoundError as error:
        print(error.message, error.hint)  # no webhook 'wh_x' list-webhooks
        print(error)  # no webhook 'wh_x'; list them with sender.webhooks.list()
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["Hint", "split_hint"]


class Hint(StrEnum):
    """What to do next about an error, as a key that each front end words its own way.

    :attr:`python` is the wording for Python callers, the one ``str(error)``
    ends with; the ``hookwire`` command has its own wording for every key.
    """

    LIST_WEBHOOKS = "list-webhooks"
    LIST_DELIVERIES = "list-deliveries"
    LIST_EVENTS = "list-events"
    EVENT_NAMES = "event-names"
    ALLOW_PRIVATE = "allow-private"

    @property
    def python(self) -> str:
        """The advice for a Python caller, with the punctuation that joins it to a message."""
        return _PYTHON_ADVICE[self]


_PYTHON_ADVICE: Final[dict[Hint, str]] = {
    Hint.LIST_WEBHOOKS: "; list them with sender.webhooks.list()",
    Hint.LIST_DELIVERIES: "; list them with sender.deliveries.list()",
    Hint.LIST_EVENTS: "; list them with sender.events.list()",
    Hint.EVENT_NAMES: "; see hookwire.CATALOGUE for the known names",
    Hint.ALLOW_PRIVATE: " (or create the Sender with allow_private_targets=True for local tests)",
}


def split_hint(text: str) -> tuple[str, Hint | None]:
    """Read an error kept as text (``str(error)``) back into its message and its hint.

    For records that keep an error only as text, such as an attempt's ``error``
    in the delivery log: a text that ends with a :class:`Hint`'s Python wording
    gives the text before it and that hint; any other text is returned whole,
    with None.
    """
    for hint in Hint:
        if text.endswith(hint.python):
            return text[: -len(hint.python)], hint
    return text, None
