"""The ``hookwire`` command group; each command lives in a module of its own."""

from __future__ import annotations

import click

from hookwire import __version__

from ._common import HookwireGroup
from .deliveries import deliveries
from .demo import demo
from .dispatch import dispatch
from .events import events
from .init import init
from .listen import listen
from .replay import replay
from .secret import secret
from .sign import sign
from .trigger import trigger
from .verify import verify
from .webhooks import webhooks


@click.group(cls=HookwireGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hookwire")
def main() -> None:
    """hookwire: send, receive, verify, record and replay learning-platform webhooks.

    \b
    Start with the whole loop on this machine:
      hookwire demo
    """


main.add_command(secret)
main.add_command(sign)
main.add_command(verify)
main.add_command(trigger)
main.add_command(listen)
main.add_command(replay)
main.add_command(init)
main.add_command(webhooks)
main.add_command(events)
main.add_command(deliveries)
main.add_command(dispatch)
main.add_command(demo)
