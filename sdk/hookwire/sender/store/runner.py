"""The one runner every store query goes through: :class:`Database`.

A statement is either SQLAlchemy's (Core, for the cold queries, or ``text()``)
or SQL text for the driver (the hot SQLite statements, from ``sql_sqlite``).
:meth:`Database.run` runs either through SQLAlchemy, so its events, its error
handling (``engine.handle_error``) and its transaction see every statement.

A dispatcher turn's SQLite statements take the one shortcut, :meth:`Database.rows`,
:meth:`Database.write` and :meth:`Database.write_many`: plain tuples on the
driver's own connection, in the same transaction. On these short statements
SQLAlchemy's per-statement and per-row processing costs more than SQLite's own
work. Their errors still come out as SQLAlchemy's (``DBAPIError``), which is
what the dispatcher retries on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeAlias, TypeVarTuple, cast, overload

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from .engine import reading

__all__ = ["Database", "Params", "Statement"]

Statement: TypeAlias = "Executable | str"
"""What :meth:`Database.run` runs: a SQLAlchemy statement, or SQL text for the driver."""
Params: TypeAlias = "Mapping[str, Any] | Sequence[Any] | None"
_Ts = TypeVarTuple("_Ts")


def _as_sqlalchemy(exc: sqlite3.Error) -> StatementError:
    """A sqlite3 error of a driver-level statement as SQLAlchemy's (``DBAPIError``)."""
    return DBAPIError.instance(None, None, exc, sqlite3.Error)


class Database:
    """An engine, its dialect, its transactions, and the running of statements."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.is_postgres = self.dialect == "postgresql"
        """True on PostgreSQL (claims use ``FOR UPDATE SKIP LOCKED``), False on SQLite."""

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """Yield a connection in a transaction: the caller's (joined, uncommitted) or a new one."""
        if connection is not None:
            yield connection
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """Yield a connection in a transaction that only reads: on SQLite a deferred one,
        so a reader (a console page, the API) never takes the write lock."""
        with reading(self.engine) as conn:
            yield conn

    @overload
    def run(
        self, conn: Connection, statement: TypedReturnsRows[*_Ts], params: Any = None
    ) -> CursorResult[*_Ts]: ...

    @overload
    def run(
        self, conn: Connection, statement: Statement, params: Any = None
    ) -> CursorResult[*tuple[Any, ...]]: ...

    def run(self, conn: Connection, statement: Statement, params: Any = None) -> CursorResult[Any]:
        """Run one statement in ``conn``'s transaction, through SQLAlchemy.

        SQL text (SQLite's outbox statements) goes to ``exec_driver_sql`` with
        plain tuples: no compiling, no per-row parameter processing.
        """
        if isinstance(statement, str):
            return conn.exec_driver_sql(statement, params)
        return conn.execute(statement, params)

    # The dispatcher turn's shortcut on SQLite: the driver's own connection.

    def rows(self, conn: Connection, sql: str, params: Params = ()) -> list[Any]:
        """The rows (plain tuples) of a driver-level SQLite query in ``conn``'s transaction."""
        try:
            return _driver(conn).execute(sql, params or ()).fetchall()
        except sqlite3.Error as exc:
            raise _as_sqlalchemy(exc) from exc

    def write(self, conn: Connection, sql: str, params: Params = ()) -> None:
        """Run a driver-level SQLite statement in ``conn``'s transaction."""
        try:
            _driver(conn).execute(sql, params or ())
        except sqlite3.Error as exc:
            raise _as_sqlalchemy(exc) from exc

    def write_many(
        self, conn: Connection, sql: str, rows: Iterable[Mapping[str, Any] | Sequence[Any]]
    ) -> None:
        """Run a driver-level SQLite statement once per row, in ``conn``'s transaction."""
        try:
            _driver(conn).executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _as_sqlalchemy(exc) from exc


def _driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn``, in ``conn``'s transaction."""
    return cast(sqlite3.Connection, conn.connection.driver_connection)
