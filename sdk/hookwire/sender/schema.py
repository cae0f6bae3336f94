"""The sender's tables, and the schema version that lets a later release migrate them.

Versioning is plain versioned SQL run by the store (``MIGRATIONS``), not
Alembic: the tables live inside the embedding application's own database
(that is what makes the transactional outbox possible), so hookwire must
create and upgrade them itself, on first use, without a migration environment
or an extra dependency. ``hookwire_meta`` holds ``schema_version``; a database
newer than the code is refused rather than written to.

Every table is prefixed ``hookwire_`` so it can sit beside the application's
tables. Timestamps are stored in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

__all__ = [
    "ADDED_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "UtcDateTime",
    "attempts",
    "deliveries",
    "events",
    "meta",
    "metadata",
    "request_deliveries",
    "requests",
    "sqlite_text",
    "stored_time",
    "webhook_secrets",
    "webhooks",
]

SCHEMA_VERSION = 4

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: a delivery points at its request (request_id) only once the request's first
    # attempt is recorded. No table changes, and version-1 rows read correctly; the
    # new version keeps an older hookwire, which finds a request's deliveries by
    # request_id, from taking over this one's requests (it would send them twice).
    2: (),
    # 3: the attempt log by webhook and time: a webhook's stats (the console's health
    # column) and deleting a webhook's attempts read it instead of the whole log.
    3: (
        "CREATE INDEX IF NOT EXISTS ix_hookwire_attempts_webhook "
        "ON hookwire_attempts (webhook_id, started_at)",
    ),
    # 4: an event's trace context (``ADDED_COLUMNS``).
    4: (),
}
"""SQL statements that take the schema from version ``n - 1`` to ``n``, keyed by ``n``.

Columns a version adds are in ``ADDED_COLUMNS``: SQLite has no ``ADD COLUMN IF
NOT EXISTS``, so the store adds each one only where it is missing."""


def sqlite_text(value: datetime) -> str:
    """The text a datetime is stored as on SQLite: SQLAlchemy's ``DATETIME`` text, in UTC."""
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def utc_iso(value: datetime) -> str:
    """ISO 8601 with an offset, in UTC: how a datetime travels inside JSON parameters
    (a naive value is taken as UTC, as :class:`UtcDateTime` takes it)."""
    return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def stored_time(value: datetime | str) -> datetime:
    """An aware UTC datetime from a stored value: SQLite's text or PostgreSQL's datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python; UTC without an offset in SQLite, timestamptz elsewhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        """Bind in one step (the publish and claim hot paths bind many datetimes).

        On SQLite this writes the very text SQLAlchemy's ``DATETIME`` writes
        (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), without going through
        :meth:`process_bind_param` and then the dialect's own formatter.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)  # type: ignore[return-value]
        # A store turn binds the same ``now`` object a dozen times. The pair is
        # swapped as one object (safe across threads), and holding the datetime
        # keeps its identity from being reused.
        last: list[tuple[datetime | None, str | None]] = [(None, None)]

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            seen, text = last[0]
            if seen is value:
                return text
            text = sqlite_text(value)
            last[0] = (value, text)
            return text

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC (naive on SQLite, so stored strings compare in time order)."""
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        return (
            None
            if value is None
            else stored_time(value if isinstance(value, datetime) else str(value))
        )


_OPEN_ONLY = text("status = 'open'")
_QUEUED = text("status = 'pending' AND request_id IS NULL")
_Seq = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

meta = Table(
    "hookwire_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

webhooks = Table(
    "hookwire_webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", BigInteger, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("target_url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event names
    Column("auth", String(24), nullable=False),
    Column("basic_username", Text),
    Column("basic_password", Text),  # needed in clear to send; never logged or shown
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("failing_since", UtcDateTime),
    # The lease: which dispatcher owns this webhook's one in-flight request, until when.
    # A released lease keeps its time, so "oldest lease first" is a round-robin.
    Column("lease_owner", String(80)),
    Column("lease_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

webhook_secrets = Table(
    "hookwire_webhook_secrets",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), nullable=False, index=True),
    Column("secret", Text, nullable=False),  # whsec_ or whsk_: needed to sign
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
)

events = Table(
    "hookwire_events",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("account_id", BigInteger, nullable=False),
    Column("name", String(120), nullable=False),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("realtime", Boolean, nullable=False),
    Column("payload", Text, nullable=False),  # the wire event as JSON
    Column("created_at", UtcDateTime, nullable=False),
    # The W3C trace context of the publish, as JSON ({"traceparent", "tracestate"}); NULL
    # when the publish was not traced.
    Column("trace_context", Text),
    Index("ix_hookwire_events_created", "created_at"),
)

deliveries = Table(
    "hookwire_deliveries",
    metadata,
    # seq is the publish order the dispatcher keeps per webhook.
    # seq is also the delivery's public id ("dlv_<seq>"): no second key to index.
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("event_id", String(200), nullable=False, index=True),
    Column("webhook_id", String(40), nullable=False),
    Column("status", String(12), nullable=False),
    Column("request_id", String(40)),
    Column("size", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The dispatcher's hot query: a webhook's queued deliveries in publish order.
    Index(
        "ix_hookwire_deliveries_queued",
        "webhook_id",
        "seq",
        sqlite_where=_QUEUED,
        postgresql_where=_QUEUED,
    ),
    Index("ix_hookwire_deliveries_webhook", "webhook_id", "seq"),
)

requests = Table(
    "hookwire_requests",
    metadata,
    Column("id", String(40), primary_key=True),  # the webhook-id header
    Column("webhook_id", String(40), nullable=False),
    Column("status", String(12), nullable=False),  # open, succeeded, dead
    Column("body", Text, nullable=False),  # resent as is on every retry
    Column("event_ids", Text, nullable=False),  # JSON list
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("oldest_event_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Only unfinished requests are looked up by webhook: a partial index stays small.
    Index(
        "ix_hookwire_requests_open",
        "webhook_id",
        sqlite_where=_OPEN_ONLY,
        postgresql_where=_OPEN_ONLY,
    ),
)

request_deliveries = Table(
    "hookwire_request_deliveries",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("delivery_seq", BigInteger, primary_key=True),
    Index("ix_hookwire_request_deliveries_delivery", "delivery_seq"),
)

attempts = Table(
    "hookwire_attempts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("request_id", String(40), nullable=False, index=True),
    Column("webhook_id", String(40), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("status_code", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("error", Text),
    Column("response_body", Text, nullable=False),
    Index("ix_hookwire_attempts_webhook", "webhook_id", "started_at"),
)

ADDED_COLUMNS: dict[int, tuple[Column[Any], ...]] = {
    4: (events.c.trace_context,),
}
"""The columns version ``n`` adds to existing tables, keyed by ``n`` (with ``MIGRATIONS``)."""
