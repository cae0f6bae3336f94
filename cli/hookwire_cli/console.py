"""``hookwire console``: serve the management console, and manage who may use it.

``serve`` runs the console alone for operators; ``api-key`` makes, lists and
revokes operator API keys; ``link`` makes a single-use access link for an
account's admin; ``end-sessions`` ends an account's sessions. The secret key
that signs links and cookies comes from ``HOOKWIRE_CONSOLE_SECRET_KEY`` (never
an option: a command line shows in the process list).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from sqlalchemy import Engine

from hookwire.console import keys, sessions
from hookwire.console.server import RedactingRequestHandler, access_link, create_app

from ._common import URL, echo_json, json_option
from ._store import (
    DURATION,
    check_database_url,
    database_errors,
    db_option,
    open_sender,
    print_table,
    when,
)

__all__ = ["console"]


@click.group()
def console() -> None:
    """Serve the management console and manage who may use it.

    \b
    Start it for operators on this machine:
      export HOOKWIRE_CONSOLE_SECRET_KEY="$(hookwire secret new)"
      hookwire console api-key create --name ops
      hookwire console serve --db sqlite:///hookwire.db
    """


@contextmanager
def _engine(db: str) -> Iterator[Engine]:
    """The database of the sender on ``db``, where the console keeps its tables."""
    with open_sender(db) as sender:
        yield sender.engine


@console.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port."
)
def serve(*, db: str, host: str, port: int) -> None:
    """Serve the console (API and pages) until Ctrl-C.

    This runs werkzeug's threaded development server, meant for an operator on
    this machine (the default address, 127.0.0.1). To serve others, run
    ``hookwire.console.server:create_app`` under a production WSGI server
    such as gunicorn, behind HTTPS. The secret key comes from
    HOOKWIRE_CONSOLE_SECRET_KEY.
    """
    from werkzeug.serving import run_simple

    with database_errors():
        app = create_app(check_database_url(db))
    run_simple(host, port, app, threaded=True, request_handler=RedactingRequestHandler)


@console.group("api-key")
def api_key() -> None:
    """Make, list and revoke operator API keys (sent as a Bearer token)."""


@api_key.command("create")
@click.option("--name", required=True, help="What the audit log calls the key (key:NAME).")
@click.option(
    "--account",
    "accounts",
    type=int,
    multiple=True,
    metavar="ID",
    help="An account the key sees (repeat for more); left out, the key sees every account.",
)
@click.option("--read-only", is_flag=True, help="The key reads but cannot change anything.")
@db_option
def create_key(*, name: str, accounts: tuple[int, ...], read_only: bool, db: str) -> None:
    """Make an API key and print it, once.

    The key goes to standard output alone; what it is goes to standard error,
    so ``KEY=$(hookwire console api-key create --name ci)`` keeps just the key.
    """
    with _engine(db) as engine:
        info, token = keys.create_key(
            engine, name=name, accounts=accounts or None, read_only=read_only
        )
    scope = "every account" if info.accounts is None else _accounts(info.accounts)
    access = "read-only" if read_only else "read, manage and publish"
    click.echo(f"Created API key {info.id} ({name}): {access}, {scope}.", err=True)
    click.echo(token)
    click.echo("Keep it now: it is not stored and will not be shown again.", err=True)


def _accounts(accounts: frozenset[int] | None) -> str:
    if accounts is None:
        return "all"
    return ",".join(str(a) for a in sorted(accounts))


@api_key.command("list")
@db_option
@json_option
def list_keys(*, db: str, as_json: bool) -> None:
    """List the API keys (never the keys themselves), revoked ones too."""
    with _engine(db) as engine:
        found = keys.list_keys(engine)
    if as_json:
        echo_json(
            [
                {
                    "id": k.id,
                    "name": k.name,
                    "accounts": None if k.accounts is None else sorted(k.accounts),
                    "readOnly": k.read_only,
                    "createdAt": k.created_at,
                    "lastUsedAt": k.last_used_at,
                    "revokedAt": k.revoked_at,
                }
                for k in found
            ]
        )
        return
    rows = [
        (
            k.id,
            k.name,
            _accounts(k.accounts),
            "read-only" if k.read_only else "full",
            when(k.created_at),
            when(k.last_used_at),
            "active" if k.active else f"revoked {when(k.revoked_at)}",
        )
        for k in found
    ]
    print_table(
        ("ID", "NAME", "ACCOUNTS", "ACCESS", "CREATED", "LAST USED", "STATE"),
        rows,
        empty="No API keys yet; make one with `hookwire console api-key create --name NAME`.",
    )


@api_key.command("revoke")
@click.argument("key_id", metavar="ID")
@db_option
def revoke_key(*, key_id: str, db: str) -> None:
    """Revoke an API key now: requests with it are refused from then on."""
    with _engine(db) as engine:
        info = keys.revoke_key(engine, key_id)
    click.echo(f"Revoked API key {info.id} ({info.name}) at {when(info.revoked_at)}.")


@console.command("link")
@click.option("--account", type=int, required=True, metavar="ID", help="The account it opens.")
@click.option("--read-only", is_flag=True, help="The session reads but cannot change anything.")
@click.option(
    "--ttl",
    type=DURATION,
    default=None,
    help="How long the link works: 15m (the default) up to 7d.",
)
@click.option(
    "--base-url",
    type=URL,
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where the console is served.",
)
def link(*, account: int, read_only: bool, ttl: timedelta | None, base_url: str) -> None:
    """Print a single-use link that opens one account's console.

    Opening the link starts a session in the browser; the link then stops
    working. It is signed with HOOKWIRE_CONSOLE_SECRET_KEY, which must be the
    serving console's key. No database is needed: the link is checked when it
    is opened.
    """
    click.echo(access_link(account, read_only=read_only, ttl=ttl, base_url=base_url))


@console.command("end-sessions")
@click.option("--account", type=int, required=True, metavar="ID", help="The account.")
@db_option
def end_sessions(*, account: int, db: str) -> None:
    """End every session of an account now (its admins must open a new link)."""
    with _engine(db) as engine:
        ended = sessions.end_sessions(engine, account)
    noun = "session" if ended == 1 else "sessions"
    click.echo(f"Ended {ended} {noun} of account {account}.")
