"""What every group of store queries shares: the engine and its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

__all__ = ["StoreBase"]


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
