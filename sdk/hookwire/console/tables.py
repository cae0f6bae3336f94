"""The console's tables: API keys, access-link nonces, sessions, idempotency keys, the audit log.

They live in the sender's own database beside the sender's tables, with their
own schema version (``console_schema_version`` in ``hookwire_meta``), created
on first use the way the sender creates its own. Every name is prefixed
``hookwire_console_``. Secrets are never stored: an API key or a session id is
kept as its SHA-256 digest.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError

from ..errors import ConfigurationError
from ..sender.schema import UtcDateTime, meta

__all__ = [
    "CONSOLE_SCHEMA_VERSION",
    "api_keys",
    "audit",
    "ensure_schema",
    "idempotency",
    "metadata",
    "nonces",
    "sessions",
]

CONSOLE_SCHEMA_VERSION = 1
_VERSION_KEY = "console_schema_version"

metadata = MetaData()

api_keys = Table(
    "hookwire_console_api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    # SHA-256 of the whole key, hex: the key itself is shown once and never stored.
    Column("digest", String(64), nullable=False, unique=True),
    # JSON list of account ids, or NULL for every account.
    Column("accounts", Text, nullable=True),
    Column("read_only", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

nonces = Table(
    "hookwire_console_nonces",
    metadata,
    # An access link's nonce, recorded when the link is exchanged: a link works once.
    Column("nonce", String(64), primary_key=True),
    Column("used_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "hookwire_console_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    # SHA-256 of the session token the cookie carries.
    Column("digest", String(64), nullable=False, unique=True),
    Column("account_id", Integer, nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
)

idempotency = Table(
    "hookwire_console_idempotency",
    metadata,
    # Who sent the key (a principal's name) and the key: one answer per pair.
    Column("actor", String(200), primary_key=True),
    Column("key", String(255), primary_key=True),
    # SHA-256 of method, path and body: the same key with another request is a conflict.
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

audit = Table(
    "hookwire_console_audit",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("webhook_id", String(40), nullable=True),
    # JSON object of what changed (field names, never secret values).
    Column("detail", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_hookwire_console_audit_account", "account_id", "at", "id"),
)


def ensure_schema(engine: Engine) -> None:
    """Create the console's tables when missing and check their version."""
    try:
        with engine.begin() as conn:
            metadata.create_all(conn, checkfirst=True)
            key = meta.c.key == _VERSION_KEY
            found = conn.execute(select(meta.c.value).where(key)).scalar()
            if found is None:
                conn.execute(
                    insert(meta).values(key=_VERSION_KEY, value=str(CONSOLE_SCHEMA_VERSION))
                )
            elif int(found) > CONSOLE_SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the database has console schema version {found}, newer than this hookwire "
                    f"understands ({CONSOLE_SCHEMA_VERSION}); upgrade hookwire"
                )
            elif int(found) < CONSOLE_SCHEMA_VERSION:
                conn.execute(update(meta).where(key).values(value=str(CONSOLE_SCHEMA_VERSION)))
    except DatabaseError as exc:
        raise ConfigurationError(
            f"cannot open the console's tables: {exc.orig or exc}".splitlines()[0]
        ) from exc
