"""The ``hookwire`` command group; each command lives in a module of its own."""

from __future__ import annotations

import click

from hookwire import __version__

from .secret import secret


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hookwire")
def main() -> None:
    """hookwire: send, receive, verify, record and replay learning-platform webhooks.

    \b
    Start with the whole loop on this machine:
      hookwire demo
    """


main.add_command(secret)
