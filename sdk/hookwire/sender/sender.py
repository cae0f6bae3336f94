"""The :class:`Sender` facade: registry, outbox, delivery log and dispatcher over one store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from ..errors import (
    ConfigurationError,
    InvalidSecretError,
    InvalidTargetError,
    TargetBlockedError,
)
from . import wake
from .deliveries import Deliveries
from .dispatcher import Dispatcher, DispatcherSettings
from .models import Attempt, Publication, Published, Webhook
from .operator import (
    DEFAULT_FAILING_THRESHOLDS,
    OperatorCallback,
    OperatorEvents,
    check_thresholds,
)
from .outbox import DEFAULT_MAX_EVENT_BYTES, Outbox
from .probe import probe_attempt, probe_job
from .registry import Webhooks
from .retry import RetryPolicy
from .settings import check_settings
from .store import Store
from .stored_events import Events
from .tracing import SenderTracing
from .wake.signals import Wakers

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from ..metrics import Metrics

__all__ = ["Sender"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Sender:
    """The sending side: webhooks, a durable outbox and the dispatcher.

    Example::

        sender = Sender("sqlite:///hookwire.db")
        hook = sender.webhooks.create(name="sync", target_url="https://example.com/hooks",
                                      events=["COURSE_COMPLETED"], auth="signature",
                                      account_id=1010)
        sender.publish("COURSE_COMPLETED", data={...}, account_id=1010)
        await sender.run_dispatcher()      # or: await sender.drain()

    ``max_event_bytes`` is the largest event ``publish`` takes (as UTF-8 JSON,
    256 KiB by default, well under a listener's usual 1 MiB); a larger one is a
    :class:`~hookwire.PayloadError`.
    ``clock`` (returning an aware UTC datetime) replaces the real clock in tests.
    ``lease_seconds`` is how long a dispatcher owns a webhook's request before
    another may take it over; it must exceed ``connect_timeout + 2 * read_timeout``,
    the longest one attempt may take. ``poll_interval`` is how often an idle
    dispatcher looks for due work when nothing has woken it: publishes in this
    process wake it at once, and so do commits of other processes (a
    PostgreSQL notification, or a watch on the SQLite file), so the interval is
    the fallback and the pace of retries that come due.
    ``tracing``: with ``opentelemetry-api`` installed, publishes and attempts are
    traced through the application's global tracer provider once it sets one, and
    a request carries its trace context as ``traceparent``; pass a
    ``TracerProvider`` to use that one, or ``False`` for no spans and no header
    (docs/operations.md, "Traces").
    ``operator_url`` and ``operator_secret`` (``whsec_`` or ``whsk_``) send the
    sender's operator events (a webhook failing, still failing after each of
    ``failing_thresholds``, recovered, a request given up, a webhook disabled)
    as signed webhooks to the operator; :meth:`on_operator_event` hands them to
    Python callbacks (docs/operations.md, "Operator events").
    ``metrics``: a :class:`hookwire.metrics.Metrics` that dispatchers count attempts
    and deliveries into, with the queue's gauges read from this sender's database
    (docs/operations.md, "Metrics").
    """

    def __init__(
        self,
        url: str | Engine,
        *,
        retry: RetryPolicy | None = None,
        max_batch: int = 100,
        max_batch_bytes: int = 1_000_000,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        batch_interval: float = 60.0,
        max_webhooks_per_account: int = 5,
        allow_private_targets: bool = False,
        lease_seconds: float = 60.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 5.0,
        rotation_grace: timedelta = timedelta(hours=24),
        retention: timedelta = timedelta(days=7),
        concurrency: int = 64,
        poll_interval: float = 0.5,
        clock: Callable[[], datetime] | None = None,
        tracing: bool | TracerProvider = True,
        operator_url: str | None = None,
        operator_secret: str | None = None,
        failing_thresholds: Iterable[timedelta] = DEFAULT_FAILING_THRESHOLDS,
        metrics: Metrics | None = None,
    ) -> None:
        if not isinstance(url, str | Engine):
            raise ConfigurationError("url must be a database URL string or a SQLAlchemy Engine")
        if (operator_url is None) != (operator_secret is None):
            raise ConfigurationError("give operator_url and operator_secret together")
        thresholds = check_thresholds(failing_thresholds)
        check_settings(
            counts={
                "max_batch": max_batch,
                "max_batch_bytes": max_batch_bytes,
                "max_event_bytes": max_event_bytes,
                "max_webhooks_per_account": max_webhooks_per_account,
                "concurrency": concurrency,
            },
            seconds={
                "lease_seconds": lease_seconds,
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "poll_interval": poll_interval,
            },
            batch_interval=batch_interval,
            rotation_grace=rotation_grace,
            retention=retention,
            retry=retry,
            clock=clock,
        )
        self._metrics: Metrics | None = None
        if metrics is not None:
            from ..metrics import checked_metrics  # the metrics extra: for those who pass one

            self._metrics = checked_metrics(metrics)
        self._tracing = SenderTracing.of(tracing)
        self._clock = clock or _utcnow
        self.retry = retry or RetryPolicy()
        self.retention = retention
        self._rotation_grace = rotation_grace
        self._store = Store(url)
        try:  # whatever fails from here on, the store (and the metrics' hold on it) closes
            self._operator = OperatorEvents(thresholds)
            self._wakers: Wakers = set()
            dispatch_metrics = None
            if self._metrics is not None:
                dispatch_metrics = self._metrics.for_sender(self._store, self._clock)
            self._dispatcher_settings = DispatcherSettings(
                clock=self._clock,
                retry=self.retry,
                max_batch=max_batch,
                max_batch_bytes=max_batch_bytes,
                lease=timedelta(seconds=lease_seconds),
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                allow_private_targets=allow_private_targets,
                concurrency=concurrency,
                poll_interval=poll_interval,
                operator=self._operator,
                metrics=dispatch_metrics,
            )
            self._open_parts(
                batch_interval, max_event_bytes, max_webhooks_per_account, allow_private_targets
            )
            if operator_url is not None and operator_secret is not None:
                self._set_operator(operator_url, operator_secret)
        except BaseException:
            self.close()
            raise

    def _set_operator(self, url: str, secret: str) -> None:
        """``webhooks.set_operator``, its refusals as errors naming the setting at fault."""
        try:
            self.webhooks.set_operator(url, secret=secret)
        except InvalidSecretError as exc:
            raise InvalidSecretError(f"operator_secret: {exc}") from None
        except (InvalidTargetError, TargetBlockedError) as exc:
            raise ConfigurationError(f"operator_url: {exc}") from None

    def _open_parts(
        self, batch_interval: float, max_event_bytes: int, limit: int, allow_private: bool
    ) -> None:
        """The outbox, and the parts a caller reaches: ``webhooks``, ``events``, ``deliveries``."""
        self._outbox = Outbox(
            self._store,
            clock=self._clock,
            batch_interval=batch_interval,
            wake=self._wake,
            max_event_bytes=max_event_bytes,
            tracing=self._tracing,
        )
        self.webhooks = Webhooks(
            self._store,
            clock=self._clock,
            max_per_account=limit,
            allow_private_targets=allow_private,
            rotation_grace=self._rotation_grace,
            send_test=self._send_test,
            wake=self._wake_everywhere,
        )
        self.events = Events(self._store, clock=self._clock)
        self.deliveries = Deliveries(self._store, clock=self._clock, wake=self._wake_everywhere)

    def __repr__(self) -> str:
        url = self._store.engine.url.render_as_string(hide_password=True)
        return f"Sender({url!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, to open a transaction that ``publish(connection=...)`` joins."""
        return self._store.engine

    def _wake(self) -> None:
        for waker in list(self._wakers):
            waker()

    def _wake_everywhere(self) -> None:
        """After a committed change that made work due outside ``publish`` (a redelivery, a
        webhook switched on): wake this process's dispatchers, and other processes' too
        (a notification on PostgreSQL; on SQLite the commit itself is what they notice)."""
        self._wake()
        wake.notify(self._store)

    def on_operator_event(self, callback: OperatorCallback) -> OperatorCallback:
        """Call ``callback`` with each :class:`~hookwire.sender.OperatorEvent` from now on;
        returns it, so this also works as a decorator.

        Callbacks run in a thread of their own, in order, once the transaction that
        recorded the event has committed, once per event: a slow one delays later
        events, never the dispatcher. One that raises is logged (``hookwire.sender``)
        and the next carries on. ``drain`` and ``run_dispatcher`` return once the
        callbacks have had the events their turns decided.

        Example::

            @sender.on_operator_event
            def alert(event):
                print(event.name, event.webhook_id, event.status_code, event.error)
        """
        self._operator.subscribe(callback)
        return callback

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self._store, self._dispatcher_settings, wakers=self._wakers, tracing=self._tracing
        )

    def publish(
        self,
        event_name: str,
        *,
        data: Mapping[str, Any] | Any,
        account_id: int,
        event_id: str | None = None,
        timestamp: datetime | None = None,
        connection: Connection | None = None,
    ) -> Published:
        """Store an event for delivery to every active subscribed webhook; say what was queued.

        Returns a :class:`Published` record: the event id, the webhooks this call
        queued a delivery for (in order), and ``duplicate=True`` (no webhooks)
        when ``event_id`` was stored already, so nothing was stored or queued
        again. Raises :class:`~hookwire.errors.PayloadError` for an event it
        cannot send: its subclass :class:`~hookwire.errors.UnknownEventError`
        for a name outside the catalogue, ``PayloadError`` itself for invalid
        ``data``, ``account_id``, ``event_id`` or ``timestamp``. See
        :meth:`Outbox.publish <hookwire.sender.outbox.Outbox.publish>`.
        """
        return self._outbox.publish(
            event_name,
            data=data,
            account_id=account_id,
            event_id=event_id,
            timestamp=timestamp,
            connection=connection,
        )

    def publish_many(
        self,
        events: Iterable[Publication | Mapping[str, Any]],
        *,
        connection: Connection | None = None,
    ) -> list[Published]:
        """Store many events in one transaction, all or nothing; a :class:`Published` per item.

        Each item is a :class:`Publication` or a mapping of :meth:`publish`'s
        keyword arguments (``event_name``, ``data``, ``account_id``, optional
        ``event_id`` and ``timestamp``). Every item is validated first; an
        invalid one raises the error :meth:`publish` would, naming its index
        (``events.3``), and nothing is stored. Each webhook receives the events
        in input order; an id repeated or already stored is stored once. The
        records come in input order: a new id's first place holds the webhooks
        it was queued for; its later places, and every place of an id stored
        before the call, hold ``duplicate=True`` and no webhooks. See
        :meth:`Outbox.publish_many <hookwire.sender.outbox.Outbox.publish_many>`.
        """
        return self._outbox.publish_many(events, connection=connection)

    async def run_dispatcher(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until cancelled or until ``stop`` is set.

        On ``stop`` the requests in flight finish and are recorded, leases are
        released, and this returns.
        """
        await self._dispatcher().run(stop)
        await self._operator_settled()

    async def drain(self) -> None:
        """Deliver everything due now; return when nothing is due or in flight.

        Retries scheduled for later and batch events waiting for their flush
        are not due now; call again later (or use an injected clock).
        """
        await self._dispatcher().run(until_idle=True)
        await self._operator_settled()

    async def _operator_settled(self) -> None:
        """Wait until the operator callbacks have had every event handed out so far."""
        if not self._operator.settled:
            await asyncio.to_thread(self._operator.settle)

    def purge(self) -> dict[str, int]:
        """Daily upkeep: expire what waited past ``max_age``, then drop what is past retention.

        Unfinished deliveries older than the retry policy's ``max_age`` become
        dead (``"expired"`` counts them), even where no attempt will reach them,
        such as the queue of a retired webhook; each webhook's expiry is a
        ``DELIVERIES_EXPIRED`` operator event. Then finished deliveries, requests,
        attempts and events older than ``retention`` are deleted (counts per table).
        """
        now = self._clock()
        turn = self._operator.turn()
        expired = self._store.expire(before=now - self.retry.max_age, now=now, operator=turn)
        if turn.fired:
            self._operator.notify(turn.fired)  # committed: the callbacks may have them
            self._wake_everywhere()  # their deliveries to the operator webhook are due now
        return {"expired": expired, **self._store.purge(before=now - self.retention)}

    async def _send_test(self, webhook: Webhook) -> Attempt:
        job = probe_job(self._store, webhook, self._clock())
        outcome = await self._dispatcher().send_once(job)
        await asyncio.to_thread(self._store.record_attempt, outcome)
        return probe_attempt(job, outcome)

    def close(self) -> None:
        """Release the database connections; the metrics' queue gauges stop reading them."""
        if self._metrics is not None:
            self._metrics.release(self._store)  # waits for a scrape reading through the store
        self._store.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
