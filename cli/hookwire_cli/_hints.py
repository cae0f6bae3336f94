"""What a command says to do next after a library error, chosen by the error's hint.

The library words each :class:`~hookwire.hints.Hint` for Python callers
(``list them with sender.webhooks.list()``); the command line prints the
error's ``message`` and its own wording of the same key, naming a
``hookwire`` command or option instead. An error kept as text (a delivery
attempt's, a dispatcher log line) is split into message and hint by the
library's :func:`~hookwire.hints.split_hint`; the command keeps no patterns of
its own.

Example::

    try:
        sender.webhooks.get(webhook_id)
    except WebhookError as exc:
        click.echo(cli_message(exc))  # no webhook 'wh_x'; list them with `hookwire webhooks list`
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hookwire.errors import WebhookError
from hookwire.hints import Hint, split_hint

__all__ = ["CLI_HINTS", "cli_message", "cli_text"]

#: The command line's wording of every hint, with the punctuation that joins it to a message.
CLI_HINTS: Final[Mapping[Hint, str]] = {
    Hint.LIST_WEBHOOKS: "; list them with `hookwire webhooks list`",
    Hint.LIST_DELIVERIES: "; list them with `hookwire deliveries list`",
    Hint.LIST_EVENTS: "; list them with `hookwire events list`",
    Hint.EVENT_NAMES: "; `hookwire trigger --list` shows the known names",
    Hint.ALLOW_PRIVATE: " (or pass --allow-private for a local listener)",
}


def cli_message(exc: WebhookError) -> str:
    """The error's message followed by what to do next, worded for the command line."""
    if exc.hint is None:
        return str(exc)
    return exc.message + CLI_HINTS[exc.hint]


def cli_text(text: str) -> str:
    """An error kept as text (an attempt's ``error``), its hint worded for the command line."""
    message, hint = split_hint(text)
    return text if hint is None else message + CLI_HINTS[hint]
