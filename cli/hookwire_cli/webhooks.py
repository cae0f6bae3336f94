"""``hookwire webhooks``: register, inspect, change, switch off and test webhooks.

Every subcommand works on the sender's store (``--db`` or
``HOOKWIRE_DATABASE_URL``). A new secret is printed exactly once, by ``add``,
``edit --auth`` and ``rotate-secret``; ``show`` and ``list`` never print one,
and ``signature-file`` writes the downloadable JSON a listener verifies with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import click

from hookwire.sender import KEEP, Sender, Webhook

from ._common import echo_json, json_option
from ._hints import cli_text
from ._store import (
    allow_private_option,
    db_option,
    open_sender,
    print_table,
)
from ._webhook_options import (
    AUTH_KINDS,
    auth_choice,
    event_names,
    webhook_basic_auth_option,
    webhook_credentials,
)
from ._webhook_secrets import rotate_secret, signature_file
from ._webhook_view import (
    new_key,
    print_webhook,
    report_changed,
    state,
    webhook_dict,
)
from .deliveries import attempt_dict

__all__ = ["webhooks"]


@click.group()
def webhooks() -> None:
    """Register and manage the webhooks the sender delivers to.

    The store is --db URL or HOOKWIRE_DATABASE_URL (default sqlite:///hookwire.db).

    \b
    Examples:
      hookwire webhooks add "LMS sync" --url https://lms.example.com/hooks \\
          --event COURSE_COMPLETED,COURSE_ENROLLMENT --account 1010
      hookwire webhooks list
      hookwire webhooks signature-file wh_... -o signature.json
    """


@webhooks.command("add")
@click.argument("name")
@click.option("--url", "target_url", required=True, help="Where the requests go (http or https).")
@click.option(
    "--event",
    "-e",
    "events",
    multiple=True,
    required=True,
    help="An event name to send (repeat, or separate with commas).",
)
@click.option("--account", type=int, default=1010, show_default=True, help="The accountId.")
@click.option(
    "--auth",
    type=click.Choice(AUTH_KINDS),
    help="How requests are authenticated [default: signature; basic with --basic-auth].",
)
@webhook_basic_auth_option
@click.option("--description", default="", help="A note for people reading the list.")
@click.option(
    "--retired", is_flag=True, help="Create it retired (nothing is sent until activated)."
)
@allow_private_option
@db_option
@json_option
@click.pass_context
def add(
    ctx: click.Context,
    *,
    name: str,
    target_url: str,
    events: tuple[str, ...],
    account: int,
    auth: str | None,
    basic_auth: tuple[str, str] | None,
    description: str,
    retired: bool,
    allow_private: bool,
    db: str,
    as_json: bool,
) -> None:
    """Register a webhook; with signature auth its new secret is printed this once.

    The target URL must be public unless --allow-private is given (a local
    listener). Events are catalogue names (`hookwire trigger --list`).

    \b
    Examples:
      hookwire webhooks add "LMS sync" --url https://lms.example.com/hooks \\
          --event COURSE_COMPLETED --event COURSE_ENROLLMENT --account 1010
      hookwire webhooks add local --url http://127.0.0.1:8000/webhooks \\
          --event LEARNER_PROGRESS --allow-private --json
      hookwire webhooks add legacy --url https://old.example.com/in \\
          --event CI_STATS --auth basic --basic-auth hooks:s3cret
    """
    kind = auth_choice(ctx, auth, basic_auth) or "signature"
    credentials = webhook_credentials(kind, basic_auth)
    with open_sender(db, allow_private=allow_private) as sender:
        webhook = sender.webhooks.create(
            name=name,
            target_url=target_url,
            events=event_names(events),
            account_id=account,
            auth=credentials,
            description=description,
            active=not retired,
        )
        key = new_key(sender, webhook)
    headline = f"Created webhook {webhook.id} ({webhook.auth} auth, {state(webhook)})."
    report_changed(webhook, key, headline, as_json=as_json)


@webhooks.command("list")
@click.option("--account", type=int, help="Only this account's webhooks.")
@db_option
@json_option
def list_webhooks(*, account: int | None, db: str, as_json: bool) -> None:
    """List the webhooks, oldest first (secrets are never shown).

    \b
    Examples:
      hookwire webhooks list
      hookwire webhooks list --account 1010 --json
    """
    with open_sender(db) as sender:
        found = sender.webhooks.list(account)
    if as_json:
        echo_json([webhook_dict(w) for w in found])
        return
    rows = [
        (
            w.id,
            str(w.account_id),
            state(w),
            w.auth,
            str(len(w.events)),
            w.name,
            w.target_url,
        )
        for w in found
    ]
    print_table(
        ("ID", "ACCOUNT", "STATE", "AUTH", "EVENTS", "NAME", "TARGET"),
        rows,
        empty="No webhooks yet; add one with `hookwire webhooks add`.",
    )


@webhooks.command("show")
@click.argument("webhook_id", metavar="ID")
@db_option
@json_option
def show(*, webhook_id: str, db: str, as_json: bool) -> None:
    """Show one webhook and how its deliveries stand (never its secret).

    \b
    Example:
      hookwire webhooks show wh_0123456789abcdef
    """
    with open_sender(db) as sender:
        webhook = sender.webhooks.get(webhook_id)
        counts = sender.deliveries.counts(webhook_id)
    if as_json:
        echo_json({**webhook_dict(webhook), "deliveries": counts})
        return
    print_webhook(webhook, counts)


@webhooks.command("edit")
@click.argument("webhook_id", metavar="ID")
@click.option("--name", help="A new name.")
@click.option("--description", help="A new description.")
@click.option("--url", "target_url", help="A new target URL.")
@click.option(
    "--event", "-e", "events", multiple=True, help="Replace the event names (repeat, or commas)."
)
@click.option(
    "--auth",
    type=click.Choice(AUTH_KINDS),
    help="Replace the credentials now (a new secret is printed once).",
)
@webhook_basic_auth_option
@allow_private_option
@db_option
@json_option
@click.pass_context
def edit(
    ctx: click.Context,
    *,
    webhook_id: str,
    name: str | None,
    description: str | None,
    target_url: str | None,
    events: tuple[str, ...],
    auth: str | None,
    basic_auth: tuple[str, str] | None,
    allow_private: bool,
    db: str,
    as_json: bool,
) -> None:
    """Change a webhook's name, description, target, events or credentials.

    A new --auth replaces the old credentials at once; to change a secret
    without a gap, use `hookwire webhooks rotate-secret` instead.

    \b
    Examples:
      hookwire webhooks edit wh_0123 --url https://lms.example.com/v2/hooks
      hookwire webhooks edit wh_0123 --event COURSE_COMPLETED,LEARNER_PROGRESS
      hookwire webhooks edit wh_0123 --auth basic --basic-auth hooks:n3w
    """
    kind = auth_choice(ctx, auth, basic_auth)
    given = {
        "name": name is not None,
        "description": description is not None,
        "url": target_url is not None,
        "events": bool(events),
        "auth": kind is not None,
    }
    if not any(given.values()):
        raise click.UsageError(
            "nothing to change; give --name, --description, --url, --event or --auth"
        )
    with open_sender(db, allow_private=allow_private) as sender:
        webhook = sender.webhooks.update(
            webhook_id,
            name=name,
            description=description,
            target_url=target_url,
            events=event_names(events) if events else None,
            auth=KEEP if kind is None else webhook_credentials(kind, basic_auth),
        )
        key = new_key(sender, webhook) if kind is not None else {}
    headline = f"Changed {', '.join(sorted(field for field, on in given.items() if on))}."
    report_changed(webhook, key, headline, as_json=as_json)


@webhooks.command("delete")
@click.argument("webhook_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@db_option
@json_option
def delete(*, webhook_id: str, yes: bool, db: str, as_json: bool) -> None:
    """Delete a webhook with its deliveries and attempt log (asks first unless --yes).

    To stop sending but keep the history, use `hookwire webhooks retire`.

    \b
    Example:
      hookwire webhooks delete wh_0123456789abcdef --yes
    """
    with open_sender(db) as sender:
        webhook = sender.webhooks.get(webhook_id)
        if not yes:
            click.confirm(
                f"Delete webhook {webhook.id} ({webhook.name!r}) and its delivery log?",
                abort=True,
                err=True,
            )
        sender.webhooks.delete(webhook_id)
    if as_json:
        echo_json({"deleted": webhook_id})
        return
    click.echo(f"Deleted webhook {webhook_id}.")


def _switch_command(
    name: str, switch: Callable[[Sender, str], Webhook], done: Callable[[Webhook], str]
) -> Callable[[Callable[..., None]], click.Command]:
    """Make ``retire``/``activate``: switch one webhook and say so; the help is the docstring."""

    def decorate(describe: Callable[..., None]) -> click.Command:
        @webhooks.command(name, help=describe.__doc__)
        @click.argument("webhook_id", metavar="ID")
        @db_option
        @json_option
        def command(*, webhook_id: str, db: str, as_json: bool) -> None:
            with open_sender(db) as sender:
                webhook = switch(sender, webhook_id)
            if as_json:
                echo_json(webhook_dict(webhook))
            else:
                click.echo(done(webhook))

        return command

    return decorate


@_switch_command(
    "retire",
    lambda sender, webhook_id: sender.webhooks.retire(webhook_id),
    lambda webhook: (
        f"Retired webhook {webhook.id}; switch it on again with "
        f"`hookwire webhooks activate {webhook.id}`."
    ),
)
def retire() -> None:
    """Switch a webhook off: nothing is queued for it or sent to it until activated.

    \b
    Example:
      hookwire webhooks retire wh_0123456789abcdef
    """


@_switch_command(
    "activate",
    lambda sender, webhook_id: sender.webhooks.activate(webhook_id),
    lambda webhook: f"Activated webhook {webhook.id}; events published from now on are sent to it.",
)
def activate() -> None:
    """Switch a webhook on again (also one the sender disabled after 410 or a week of failures).

    \b
    Example:
      hookwire webhooks activate wh_0123456789abcdef
    """


@webhooks.command("test")
@click.argument("webhook_id", metavar="ID")
@allow_private_option
@db_option
@json_option
def test(*, webhook_id: str, allow_private: bool, db: str, as_json: bool) -> None:
    """Send a signed HOOKWIRE_TEST request to the webhook now; exit 1 unless it answers 2xx.

    The attempt is kept in the webhook's delivery log.

    \b
    Examples:
      hookwire webhooks test wh_0123456789abcdef
      hookwire webhooks test wh_0123456789abcdef --allow-private --json
    """
    with open_sender(db, allow_private=allow_private) as sender:
        attempt = asyncio.run(sender.webhooks.test(webhook_id))
    if as_json:
        echo_json(attempt_dict(attempt))
    else:
        outcome = str(attempt.status_code) if attempt.status_code is not None else "no answer"
        line = f"{outcome}  {attempt.latency_ms:.0f} ms  request {attempt.request_id}"
        if attempt.error:
            line += f"  {cli_text(attempt.error)}"
        click.secho(line, fg="green" if attempt.succeeded else "red")
    if not attempt.succeeded:
        raise click.exceptions.Exit(1)


# The secret commands live in ._webhook_secrets.
webhooks.add_command(rotate_secret)
webhooks.add_command(signature_file)
