"""What the store-backed commands share: the ``--db`` option and opening a :class:`Sender`.

``webhooks``, ``events``, ``deliveries``, ``dispatch`` all work on the sender's
database, named by ``--db`` or ``HOOKWIRE_DATABASE_URL`` (default
``sqlite:///hookwire.db`` in the current directory). :func:`open_sender`
checks the URL first, so a typo is one clear line rather than a driver error,
and turns a database error during the command (a read-only file, a full disk,
a trigger that refuses the write) into one line: the driver's first line, with
a hint where one helps, and never a traceback, the SQL statement or its
parameters (they hold passwords and secrets).

Example::

    @click.command()
    @db_option
    @allow_private_option
    def count(db: str, allow_private: bool) -> None:
        with open_sender(db, allow_private=allow_private) as sender:
            click.echo(len(sender.webhooks.list()))
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from hookwire.errors import ConfigurationError
from hookwire.sender import Sender

from ._common import one_line
from ._durations import DURATION_FORMS, parse_duration

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DURATION",
    "DurationType",
    "allow_private_option",
    "check_database_url",
    "database_error_message",
    "database_errors",
    "db_option",
    "open_sender",
    "print_table",
    "when",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The store every store-backed command uses when neither --db nor the env var is given.
DEFAULT_DATABASE_URL: Final = "sqlite:///hookwire.db"

_SCHEMES: Final = ("sqlite", "postgresql")


def check_database_url(url: str) -> str:
    """Return ``url`` if it names a SQLite or PostgreSQL store; else raise ConfigurationError."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.partition("+")[0] not in _SCHEMES:
        # Never echo the URL itself: it may carry a password.
        found = f"starts with {scheme!r}" if sep else "is not a URL"
        raise ConfigurationError(
            f"the --db value {found}; give sqlite:///path/to.db or "
            "postgresql+psycopg://user@host/dbname"
        )
    return url


def db_option(func: F) -> F:
    """``--db URL`` (parameter ``db``), also read from ``HOOKWIRE_DATABASE_URL``."""
    return click.option(
        "--db",
        envvar="HOOKWIRE_DATABASE_URL",
        show_envvar=True,
        default=DEFAULT_DATABASE_URL,
        show_default=True,
        metavar="URL",
        help="The sender's database (sqlite:///file.db or postgresql+psycopg://...).",
    )(func)


def allow_private_option(func: F) -> F:
    """``--allow-private`` (parameter ``allow_private``): allow targets on private addresses."""
    return click.option(
        "--allow-private",
        is_flag=True,
        envvar="HOOKWIRE_ALLOW_PRIVATE_TARGETS",
        show_envvar=True,
        help="Allow targets on loopback and private addresses (local listeners, tests).",
    )(func)


# Driver messages meaning the database took no write, each with what to do about it.
_WRITE_REFUSALS: Final = {
    # SQLite: the file or its folder is not writable, or the URL says mode=ro.
    "readonly database": "check that the database file and its folder are writable",
    # PostgreSQL: a standby server, or default_transaction_read_only.
    "read-only transaction": "connect to a server that accepts writes",
    # SQLite: the disk (or max_page_count) is full; PostgreSQL: "could not extend file".
    "disk is full": "free some disk space, then run it again",
    "no space left on device": "free some disk space, then run it again",
}


def _driver_reason(exc: BaseException) -> str:
    """The first line the driver wrote: SQLAlchemy's own text adds the statement after it,
    and PostgreSQL's DETAIL line after it may quote the failing row."""
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, BaseException) else exc
    lines = str(source).splitlines()
    first = one_line(lines[0]) if lines else ""
    return first or type(source).__name__


def database_error_message(exc: BaseException) -> str:
    """One line for a database error, with a hint where the driver's reason is a known one.

    Only the driver's first line is used: never the SQL statement, its parameters
    or a quoted row, which can hold basic-auth passwords and signing secrets.
    """
    reason = _driver_reason(exc)
    lowered = reason.lower()
    for marker, hint in _WRITE_REFUSALS.items():
        if marker in lowered:
            return f"the sender's database refused the write: {reason}; {hint}"
    return f"the sender's database failed: {reason}"


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a database error raised inside into a one-line :class:`click.ClickException`.

    The database's error stays out of the printed chain (``from None``): its text
    may quote the failing row.
    """
    try:
        yield
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise click.ClickException(database_error_message(exc)) from None


@contextmanager
def open_sender(db: str, *, allow_private: bool = False, **options: Any) -> Iterator[Sender]:
    """Open the :class:`Sender` on ``db`` (created and migrated on first use), then close it.

    ``options`` go to :class:`~hookwire.sender.Sender` as they are. A URL that
    is not SQLite or PostgreSQL, or a database that cannot be opened, raises
    :class:`~hookwire.ConfigurationError` (one line, never the password).
    Library errors pass through: the command group words their hints for the
    command line (:mod:`hookwire_cli._hints`). A database error during
    the command (the write refused, the disk full) becomes one line too
    (:func:`database_errors`).
    """
    url = check_database_url(db)
    with database_errors():
        sender = Sender(url, allow_private_targets=allow_private, **options)
        try:
            yield sender
        finally:
            sender.close()


# --- text output shared by the store commands ----------------------------------------------


def when(moment: datetime | None) -> str:
    """A stored time as ISO-8601 UTC to the second (``2026-11-28T17:40:01Z``), or ``-``."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> None:
    """Print rows in aligned columns under a header line, or ``empty`` when there are none.

    Plain padded text rather than a terminal-width table, so the output reads
    the same in a pipe, a log or a doc.
    """
    if not rows:
        click.echo(empty)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    click.echo(click.style(line(headers), bold=True))
    for row in rows:
        click.echo(line(row))


class DurationType(click.ParamType[timedelta]):
    """A length of time such as ``90s``, ``15m``, ``24h``, ``7d`` or ``1w``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        """Parse the value or fail naming the accepted forms."""
        if isinstance(value, timedelta):
            return value
        try:
            found = parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if found is None:
            self.fail(f"{value!r} is not a duration; write e.g. {DURATION_FORMS}", param, ctx)
        return found


DURATION: Final = DurationType()
"""The shared :class:`DurationType` instance."""
