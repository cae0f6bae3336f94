"""Creating the schema on first use, and migrating it (``schema.MIGRATIONS`` and
``schema.ADDED_COLUMNS``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, insert, inspect, select, text, update
from sqlalchemy.exc import DatabaseError

from ...errors import ConfigurationError
from .. import schema
from .runner import Database

__all__ = ["schema_version", "set_up"]

_ADVISORY_LOCK = 0x686F6F6B  # "hook": serialises schema setup across PostgreSQL clients
_VERSION = select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")


def set_up(db: Database) -> None:
    """Create the tables that are missing, then migrate them to ``schema.SCHEMA_VERSION``."""
    try:
        with db.transaction() as conn:
            if db.is_postgres:
                db.run(conn, text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
            schema.metadata.create_all(conn, checkfirst=True)
            _migrate(db, conn)
    except DatabaseError as exc:
        # OperationalError (cannot connect) and DatabaseError (a file that is no database).
        raise ConfigurationError(
            f"cannot open the sender's database: {exc.orig or exc}".splitlines()[0]
        ) from exc


def _migrate(db: Database, conn: Connection) -> None:
    found = db.run(conn, _VERSION).scalar()
    if found is None:
        db.run(
            conn,
            insert(schema.meta).values(key="schema_version", value=str(schema.SCHEMA_VERSION)),
        )
        return
    version = int(found)
    if version > schema.SCHEMA_VERSION:
        raise ConfigurationError(
            f"the database has sender schema version {version}, newer than this hookwire "
            f"understands ({schema.SCHEMA_VERSION}); upgrade hookwire"
        )
    for step in range(version + 1, schema.SCHEMA_VERSION + 1):
        for statement in schema.MIGRATIONS.get(step, ()):
            db.run(conn, text(statement))
        for column in schema.ADDED_COLUMNS.get(step, ()):
            _add_column(db, conn, column)
    if version < schema.SCHEMA_VERSION:
        db.run(
            conn,
            update(schema.meta)
            .where(schema.meta.c.key == "schema_version")
            .values(value=str(schema.SCHEMA_VERSION)),
        )


def _add_column(db: Database, conn: Connection, column: Column[Any]) -> None:
    """Add a nullable ``column`` to its existing table, unless the table has it already."""
    table = column.table.name
    if column.name in {found["name"] for found in inspect(conn).get_columns(table)}:
        return
    kind = column.type.compile(dialect=conn.dialect)
    db.run(conn, text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))


def schema_version(db: Database) -> int:
    """The schema version recorded in the database."""
    with db.engine.connect() as conn:
        found = db.run(conn, _VERSION).scalar()
    return int(found or 0)
