"""What every group of store queries shares: the engine and its transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from sqlalchemy import Connection, Engine

__all__ = ["StoreBase", "sqlite_connection"]


class StoreBase:
    """The engine and the transaction helper the query groups build on."""

    engine: Engine
    dialect: str

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where claims use ``FOR UPDATE SKIP LOCKED``."""
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """Yield a connection in a transaction: the caller's (joined, uncommitted) or a new one."""
        if connection is not None:
            yield connection
            return
        with self.engine.begin() as conn:
            yield conn


def sqlite_connection(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under ``conn``, in ``conn``'s transaction.

    The hot SQLite statements of the dispatcher and the outbox run on it
    directly, with plain tuples: on these short statements SQLAlchemy's
    per-statement and per-row processing costs more than SQLite's own work.
    """
    return cast(sqlite3.Connection, conn.connection.driver_connection)
