"""Connecting: the engine for a URL, SQLite's pragmas, a private SQLite file, error texts cut.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout, and
every transaction that may write starts with ``BEGIN IMMEDIATE``: SQLite has one
writer, and taking the write lock up front means no transaction fails half-way
when it first writes. A connection marked :data:`READ_ONLY` starts a plain
(deferred) ``BEGIN`` instead.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from ...errors import ConfigurationError, error_line

__all__ = ["make_engine"]

log = logging.getLogger("hookwire.sender")


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


READ_ONLY = "hookwire_read_only"
"""The execution option of a connection that only reads (see :meth:`Database.reading`)."""


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """Yield a connection of ``engine`` in a transaction that only reads: on SQLite a
    deferred one, so a reader (a console page, the API) never takes the write lock."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        with conn.begin():
            yield conn


def _sqlite_begin(connection: Connection) -> None:
    # A connection that only reads starts a deferred transaction: in WAL mode a reader
    # neither waits for the writer nor holds up the dispatcher's writes.
    reads_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def _first_line_only(context: ExceptionContext) -> None:
    """Cut a database error's text to its first line, in the driver's error and SQLAlchemy's.

    PostgreSQL adds a ``DETAIL`` line that quotes the failing row of a CHECK or
    NOT NULL violation, passwords and secrets included; ``hide_parameters`` does
    not reach it. SQLAlchemy has built its message from the driver's by now, so
    both are rewritten. ``diag`` keeps the detail for code that reads it on purpose.
    """
    original = context.original_exception
    first = error_line(original)
    original.args = (first,)
    if context.sqlalchemy_exception is not None:
        kind = type(original)
        context.sqlalchemy_exception.args = (f"({kind.__module__}.{kind.__name__}) {first}",)


def _private_sqlite_file(url: str) -> None:
    """Create a new SQLite database file owner-only (0600), or warn if an existing one is not.

    The file holds signing secrets and basic-auth passwords. SQLite creates its
    ``-wal`` and ``-shm`` files with the database file's mode, so all three stay
    private. An existing file's mode is left as it is (it may be the application's
    own database), with a warning when other users can read it.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = os.stat(database).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "the sender's database %s can be read by other users (mode %s); it holds "
                "webhook secrets: chmod 600 it and its -wal and -shm files",
                database,
                oct(mode & 0o777),
            )
    except OSError:
        return  # a missing folder: SQLite's own error says so when it connects
    else:
        os.close(fd)


def make_engine(url: str) -> Engine:
    """Create the engine for a ``sqlite:///`` or ``postgresql+psycopg://`` URL.

    Statement parameters are hidden from SQLAlchemy's error texts and logs
    (``hide_parameters``), and error texts keep only their first line: both can
    carry basic-auth passwords and signing secrets. A new SQLite file is created
    owner-only, for the same reason.
    """
    try:
        if url.startswith("sqlite"):
            _private_sqlite_file(url)
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                hide_parameters=True,
            )
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
            )
        event.listen(engine, "handle_error", _first_line_only)
        return engine
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        from ...extras import install_hint, is_missing

        if is_missing(exc, ("psycopg",)):
            hint = install_hint("a postgresql+psycopg:// URL", "postgres")
            raise ConfigurationError(hint) from exc
        raise ConfigurationError(
            f"cannot use the database URL ({type(exc).__name__}); give sqlite:///path.db "
            "or postgresql+psycopg://user@host/db"
        ) from exc
