"""The store: the one place that talks SQL (SQLite in WAL mode, or PostgreSQL).

Read it top to bottom:

- ``engine``: the engine for a URL (SQLite's pragmas, a private SQLite file,
  database errors cut to their first line);
- ``runner``: :class:`~.runner.Database`, the one runner every statement goes
  through, with the engine's dialect and its transactions;
- ``setup``: creating and migrating the schema (``..schema`` holds the tables);
- ``sql_common``, ``sql_sqlite``, ``sql_postgres``: every hot statement, by name,
  once per dialect under the same names (what finishes a turn is FINISH on
  PostgreSQL, INSERT_ATTEMPTS and the FINISH_* statements on SQLite);
- one module per concern, each a part holding the shared ``Database``:
  ``registry`` (webhooks, secrets), ``outbox`` (events, deliveries, the
  delivery log), ``dispatch`` (the claim), ``results`` (what attempts did,
  leases given back, expiry), ``splits`` (a request refused as too large made
  two, before ``results`` records it), ``transitions`` (the operator events attempts
  cause, decided as ``results`` records them) and ``log`` (the delivery log's
  cursor pages and a webhook's stats, read without taking SQLite's write lock).

:class:`Store` composes the parts and names every query as a method of its own;
the registry, the outbox, the delivery log and the dispatcher call those methods
and never build SQL themselves. Dialects are told apart only in this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from ...errors import ConfigurationError
from ..log_pages import DeliveryFilter, DeliveryPage, EventFilter, EventPage, WebhookStats
from ..models import Delivery, DeliveryStatus, StoredEvent, Webhook
from ..operator import OperatorTurn
from ..work import Job, Outcome
from . import log
from . import sql_postgres as pg
from . import sql_sqlite as lite
from .dispatch import Dispatch
from .engine import make_engine
from .outbox import Outbox
from .registry import Registry
from .results import Results
from .runner import Database
from .setup import schema_version, set_up

__all__ = ["Database", "Store", "make_engine"]


class Store:
    """Every query of the sender, by name, over one SQLAlchemy engine.

    The schema is created (or migrated) the first time the store is opened.
    """

    def __init__(self, url: str | Engine) -> None:
        self.engine = url if isinstance(url, Engine) else make_engine(url)
        self.db = Database(self.engine)
        self.dialect = self.db.dialect
        self.is_postgres = self.db.is_postgres
        try:
            set_up(self.db)
        except ConfigurationError:
            if not isinstance(url, Engine):  # an engine we made: leave no connection open
                self.engine.dispose()
            raise
        self.registry = Registry(self.db)
        self.outbox = Outbox(self.db)
        self.results = Results(self.db)
        self.dispatch = Dispatch(self.db, self.results)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """Yield a connection in a transaction: the caller's (joined, uncommitted) or a new one."""
        with self.db.transaction(connection) as conn:
            yield conn

    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        return schema_version(self.db)

    @property
    def checkpoints(self) -> bool:
        """Whether :meth:`checkpoint` does anything (SQLite's write-ahead log)."""
        return not self.db.is_postgres

    def checkpoint(self) -> None:
        """SQLite: copy what the write-ahead log holds into the database file, without
        waiting for readers or writers (a passive checkpoint). Nothing on PostgreSQL.

        A running dispatcher calls this from a thread of its own, so the commit that
        fills the log (``wal_autocheckpoint``) does not stall on the copy itself.
        """
        if self.db.is_postgres:
            return
        with self.engine.connect() as conn:
            self.db.rows(conn, lite.CHECKPOINT)

    def notify_work(self, conn: Connection) -> None:
        """PostgreSQL: tell the dispatchers listening on this store (``..wake``) that work
        is due, when ``conn``'s transaction commits (``sql_postgres.NOTIFY_WORK``).
        Nothing on SQLite, whose dispatchers watch ``PRAGMA data_version`` instead."""
        if self.db.is_postgres:
            self.db.run(conn, pg.NOTIFY_WORK)

    # The dispatcher (``dispatch``, ``results``).

    def claim(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        max_batch: int,
        max_batch_bytes: int,
        outcomes: Sequence[Outcome] = (),
        expire_before: datetime | None = None,
        operator: OperatorTurn | None = None,
    ) -> list[Job]:
        """Finish ``outcomes``, then lease up to ``limit`` webhooks with due work to ``owner``
        (see :meth:`.dispatch.Dispatch.claim`); with ``operator``, decide operator events."""
        return self.dispatch.claim(
            owner=owner,
            now=now,
            lease=lease,
            limit=limit,
            max_batch=max_batch,
            max_batch_bytes=max_batch_bytes,
            outcomes=outcomes,
            expire_before=expire_before,
            operator=operator,
        )

    def release(self, webhook_ids: Sequence[str], *, owner: str, now: datetime) -> None:
        """Give up the leases of ``owner`` on these webhooks (their requests stay open)."""
        self.results.release(webhook_ids, owner=owner, now=now)

    def expire(
        self, *, before: datetime, now: datetime, operator: OperatorTurn | None = None
    ) -> int:
        """Declare dead the unfinished work older than ``before`` (see
        :meth:`.results.Results.expire`); how many deliveries died."""
        return self.results.expire(before=before, now=now, operator=operator)

    def record_attempt(self, outcome: Outcome) -> None:
        """Store a lone attempt (a test delivery) with a request row of its own."""
        self.results.record_attempt(outcome)

    # Webhooks and secrets (``registry``).

    def count_webhooks(self, account_id: int) -> int:
        """How many webhooks the account has, active or not."""
        return self.registry.count_webhooks(account_id)

    def insert_webhook(
        self, values: Mapping[str, Any], *, secret: str | None, limit: int
    ) -> Webhook | None:
        """Insert a webhook (and its first secret) unless the account has ``limit`` already."""
        return self.registry.insert_webhook(values, secret=secret, limit=limit)

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        """The webhook with this id, or ``None``."""
        return self.registry.get_webhook(webhook_id)

    def list_webhooks(self, account_id: int | None = None) -> list[Webhook]:
        """All webhooks (of one account), oldest first."""
        return self.registry.list_webhooks(account_id)

    def update_webhook(
        self,
        webhook_id: str,
        values: Mapping[str, Any],
        *,
        secrets: tuple[str | None] | None = None,
    ) -> Webhook | None:
        """Change columns of a webhook (and with ``secrets``, its secrets); ``None`` if none."""
        return self.registry.update_webhook(webhook_id, values, secrets=secrets)

    def delete_webhook(self, webhook_id: str) -> bool:
        """Delete a webhook with its secrets, deliveries, requests and attempts."""
        return self.registry.delete_webhook(webhook_id)

    def basic_password(self, webhook_id: str) -> str | None:
        """The stored basic auth password of a webhook (to send it, never to show it)."""
        return self.registry.basic_password(webhook_id)

    def rotate_secret(
        self, webhook_id: str, secret: str, *, now: datetime, expires: datetime
    ) -> None:
        """Add a new secret; secrets still valid keep signing until ``expires`` at the latest."""
        self.registry.rotate_secret(webhook_id, secret, now=now, expires=expires)

    def valid_secrets(
        self, webhook_ids: Iterable[str], *, now: datetime, connection: Connection | None = None
    ) -> dict[str, list[str]]:
        """Each webhook's secrets valid at ``now``, newest first."""
        return self.registry.valid_secrets(webhook_ids, now=now, connection=connection)

    def secrets_created_at(self, webhook_id: str) -> datetime | None:
        """When the newest secret of a webhook was made."""
        return self.registry.secrets_created_at(webhook_id)

    # Events, deliveries and the delivery log (``outbox``).

    def subscribers(self, conn: Connection, account_id: int) -> list[tuple[str, str]]:
        """The account's active webhooks as ``(id, events JSON)`` pairs."""
        return self.outbox.subscribers(conn, account_id)

    def insert_event(self, conn: Connection, values: dict[str, Any]) -> bool:
        """Insert an event unless its id is stored already; True when it was new."""
        return self.outbox.insert_event(conn, values)

    def insert_events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events (distinct ids) in one statement, skipping stored ids; the new ids."""
        return self.outbox.insert_events(conn, rows)

    def insert_deliveries(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert deliveries in one statement, in the given order (which ``seq`` keeps)."""
        self.outbox.insert_deliveries(conn, rows)

    def list_events(self, account_id: int | None, limit: int) -> list[StoredEvent]:
        """The newest events (of one account) first."""
        return self.outbox.list_events(account_id, limit)

    def get_event(self, event_id: str) -> StoredEvent | None:
        """One stored event, or ``None``."""
        return self.outbox.get_event(event_id)

    def list_deliveries(
        self, webhook_id: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[Delivery]:
        """The newest deliveries first, optionally of one webhook or in one status."""
        return self.outbox.list_deliveries(webhook_id, status, limit)

    def get_delivery(self, public_id: str) -> Delivery | None:
        """One delivery with every attempt of every request it travelled in."""
        return self.outbox.get_delivery(public_id)

    def delivery_counts(self, webhook_id: str | None) -> dict[str, int]:
        """How many deliveries are in each status (every status listed, zeros included)."""
        return self.outbox.delivery_counts(webhook_id)

    def resend(
        self,
        *,
        delivery_ids: Sequence[str] | None = None,
        webhook_id: str | None = None,
        since: datetime | None = None,
        now: datetime,
    ) -> int:
        """Queue deliveries again; failed ones make their open request due now (see
        :meth:`.outbox.Outbox.resend`)."""
        return self.outbox.resend(
            delivery_ids=delivery_ids, webhook_id=webhook_id, since=since, now=now
        )

    def purge(self, *, before: datetime) -> dict[str, int]:
        """Drop finished deliveries, requests, attempts and events older than ``before``."""
        return self.outbox.purge(before=before)

    # The delivery log's pages (``log``): read-only transactions.

    def delivery_page(
        self, wanted: DeliveryFilter, *, cursor: str | None, limit: int
    ) -> DeliveryPage:
        """One page of deliveries, newest first (see ``Deliveries.page``)."""
        with self.db.reading() as conn:
            return log.delivery_page(conn, wanted, cursor=cursor, limit=limit)

    def event_page(self, wanted: EventFilter, *, cursor: str | None, limit: int) -> EventPage:
        """One page of stored events, newest first (see ``Events.page``)."""
        with self.db.reading() as conn:
            return log.event_page(conn, wanted, cursor=cursor, limit=limit)

    def webhook_stats(
        self, webhook_id: str, *, now: datetime, window: timedelta
    ) -> WebhookStats | None:
        """A webhook's stats over ``window`` before ``now``; None if there is no such webhook."""
        with self.db.reading() as conn:
            return log.webhook_stats(conn, webhook_id, now=now, window=window)
