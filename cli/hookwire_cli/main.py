"""The ``hookwire`` command group; each command lives in a module of its own.

The group imports a command's module only when that command runs, so
``hookwire --help`` and ``hookwire --version`` start without aiohttp,
SQLAlchemy, rich or pydantic. :data:`COMMANDS` names each command's module and
the short help ``--help`` lists; tests/test_light_install.py checks it against
the commands themselves.
"""

from __future__ import annotations

import importlib
from typing import Final, NamedTuple

from hookwire import __version__
from hookwire.extras import MissingExtraError, requires_extra

with requires_extra("cli", "the hookwire command", "click"):
    import click

from ._common import HookwireGroup

__all__ = ["COMMANDS", "LazyCommand", "LazyGroup", "main"]

#: The packages the 'cli' extra installs for the commands (a missing one names the extra).
_CLI_PACKAGES: Final = ("click", "rich", "aiohttp", "sqlalchemy", "yarl")


class LazyCommand(NamedTuple):
    """Where a command lives, and the short help ``hookwire --help`` shows for it.

    ``from_docstring`` says where click finds the command's short help: in its
    docstring (cut with ``...`` to fit a narrow terminal) or in an explicit
    ``short_help=`` (wrapped instead).
    """

    module: str
    short_help: str
    from_docstring: bool = True

    def stand_in(self, name: str) -> click.Command:
        """A bare command that click lists exactly as it lists the real one."""
        if self.from_docstring:
            return click.Command(name, help=self.short_help)
        return click.Command(name, short_help=self.short_help)

    def load(self, name: str) -> click.Command:
        """Import the command's module and return the command; a missing extra is one line."""
        try:
            with requires_extra("cli", f"hookwire {name}", *_CLI_PACKAGES):
                module = importlib.import_module(f"{__package__}.{self.module}")
        except MissingExtraError as exc:
            raise click.ClickException(str(exc)) from exc
        command: click.Command = getattr(module, name)
        return command


#: Every command: its name -> its module and short help, sorted by name.
COMMANDS: Final[dict[str, LazyCommand]] = {
    "check": LazyCommand(
        "check", "Grade a live listener: auth, timing, events, limits.", from_docstring=False
    ),
    "console": LazyCommand("console", "Serve the management console and manage who may use it."),
    "deliveries": LazyCommand(
        "deliveries", "Inspect the delivery log and send failed deliveries again."
    ),
    "demo": LazyCommand("demo", "Run the whole webhook loop on this machine in a few seconds."),
    "dispatch": LazyCommand("dispatch", "Deliver the outbox's events until SIGINT or SIGTERM."),
    "events": LazyCommand("events", "Publish events to the sender's outbox and list them."),
    "init": LazyCommand("init", "Create a ready Flask webhook listener project in DIRECTORY."),
    "listen": LazyCommand(
        "listen", "Receive webhooks locally: verify, print, record, forward.", from_docstring=False
    ),
    "replay": LazyCommand(
        "replay", "Re-send recorded requests, re-signed, to a URL.", from_docstring=False
    ),
    "secret": LazyCommand("secret", "Make secrets and keys."),
    "sign": LazyCommand(
        "sign", "Print the webhook-* headers (or a curl command) for a body.", from_docstring=False
    ),
    "trigger": LazyCommand("trigger", "Send signed sample events to a URL.", from_docstring=False),
    "verify": LazyCommand(
        "verify", "Check a request's signature and print its events.", from_docstring=False
    ),
    "webhooks": LazyCommand("webhooks", "Register and manage the webhooks the sender delivers to."),
}


class LazyGroup(HookwireGroup):
    """A :class:`HookwireGroup` that imports a command's module only when it is needed.

    ``--help`` lists :data:`COMMANDS` from the table; running (or asking for
    the help of) one command imports that command's module alone.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted, without importing any of them."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name``, its module imported now; None if there is none."""
        lazy = COMMANDS.get(cmd_name)
        if lazy is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        return lazy.load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Write the Commands section as click would, from the table instead of the modules."""
        stand_ins = [lazy.stand_in(name) for name, lazy in COMMANDS.items()]
        listing = click.Group(commands=[*stand_ins, *self.commands.values()])
        listing.format_commands(ctx, formatter)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hookwire")
def main() -> None:
    """hookwire: send, receive, verify, record and replay learning-platform webhooks.

    \b
    Start with the whole loop on this machine:
      hookwire demo
    """
