"""The option parsing ``hookwire webhooks add`` and ``edit`` share: events and credentials."""

from __future__ import annotations

from typing import Final

import click

from hookwire.sender import BasicAuth

from ._auth import basic_auth_option

__all__ = [
    "AUTH_KINDS",
    "auth_choice",
    "event_names",
    "webhook_basic_auth_option",
    "webhook_credentials",
]

AUTH_KINDS: Final = ("signature", "signature-ed25519", "basic", "none")
"""The values of ``--auth``."""


webhook_basic_auth_option = basic_auth_option("USER:PASSWORD for --auth basic.")
"""``--basic-auth`` as ``add`` and ``edit`` describe it."""


def event_names(values: tuple[str, ...]) -> list[str]:
    """Names from repeated ``--event`` options, each of which may hold a comma list."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def webhook_credentials(auth: str, basic_auth: tuple[str, str] | None) -> str | BasicAuth | None:
    """What ``Sender.webhooks`` takes as ``auth`` for the ``--auth`` kind (``none``: ``None``)."""
    if auth == "basic":
        if basic_auth is None:
            raise click.UsageError(
                "--auth basic needs --basic-auth USER:PASSWORD (or HOOKWIRE_BASIC_AUTH)"
            )
        return BasicAuth(*basic_auth)
    return None if auth == "none" else auth


def auth_choice(ctx: click.Context, auth: str | None, basic_auth: object) -> str | None:
    """The auth kind asked for; ``--basic-auth`` typed on the command line implies basic."""
    typed = ctx.get_parameter_source("basic_auth") == click.core.ParameterSource.COMMANDLINE
    if auth is None:
        return "basic" if typed else None
    if typed and basic_auth is not None and auth != "basic":
        raise click.UsageError(f"--basic-auth goes with --auth basic, not --auth {auth}")
    return auth
