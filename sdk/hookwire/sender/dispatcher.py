"""The dispatcher: asyncio, one shared aiohttp session, and no SQL.

Each turn of the loop hands the finished outcomes to the store and asks it for
new jobs in the same trip to the store's thread, so the database sees few,
batched transactions however many webhooks are in flight. Jobs run in
parallel, one per webhook (the store leases a webhook to one request at a
time). The loop sleeps until a job finishes, new work wakes it (a publish in
this process, or a commit of another: :mod:`.wake`), or the poll interval
passes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter
from typing import TYPE_CHECKING

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from ..errors import InvalidSecretError, error_line
from ..signing import Signer
from . import http, verdict
from .checkpoints import Checkpoints
from .guard import GuardedResolver, guarded_socket
from .operator import DELIVERIES_EXPIRED, OperatorEvents
from .retry import RetryPolicy
from .rows import new_id
from .store import Store
from .tracing import SenderTracing
from .wake.signals import Signals, Wakers
from .work import Job, Outcome

if TYPE_CHECKING:
    from ..metrics._dispatch import DispatchMetrics

__all__ = ["Dispatcher", "DispatcherSettings"]

log = logging.getLogger("hookwire.sender")
ATTEMPT_LOG_FIELD = "hookwire_attempt"
"""The attribute of each attempt's log record (``hookwire.sender`` logger) holding its fields.

The value is a dict with ``webhookId``, ``requestId``, ``events`` (how many),
``status`` (the HTTP status, or ``None``), ``error`` (why no answer came, or
``None``), ``latencyMs`` and ``verdict``, for handlers that print or ship
attempts structured::

    fields = getattr(record, ATTEMPT_LOG_FIELD, None)
"""

_MAX_CACHED_KEYS = 4096


@dataclass(frozen=True, kw_only=True, slots=True)
class DispatcherSettings:
    """How a dispatcher works: the :class:`~hookwire.sender.Sender` settings it uses."""

    clock: Callable[[], datetime]
    retry: RetryPolicy
    max_batch: int
    max_batch_bytes: int
    lease: timedelta
    connect_timeout: float
    read_timeout: float
    allow_private_targets: bool
    concurrency: int
    poll_interval: float
    operator: OperatorEvents | None = None
    metrics: DispatchMetrics | None = None


class Dispatcher:
    """Sends due requests until stopped, or until nothing is due (``until_idle``)."""

    def __init__(
        self,
        store: Store,
        settings: DispatcherSettings,
        *,
        wakers: Wakers,
        tracing: SenderTracing | None = None,
    ) -> None:
        self._store = store
        self._tracing = tracing
        self._clock = settings.clock
        self._retry = settings.retry
        self._max_batch = settings.max_batch
        self._max_batch_bytes = settings.max_batch_bytes
        self._lease = settings.lease
        lease_seconds = settings.lease.total_seconds()
        # Leave a margin for clock skew between dispatchers and for recording the outcome.
        self._lease_budget = lease_seconds - min(5.0, 0.1 * lease_seconds)
        # sock_read alone lets a slow trickle run on; the total keeps an attempt inside its lease.
        self._attempt_seconds = settings.connect_timeout + 2 * settings.read_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=self._attempt_seconds,
            sock_connect=settings.connect_timeout,
            sock_read=settings.read_timeout,
        )
        self._check_targets = not settings.allow_private_targets
        self._concurrency = settings.concurrency
        self._poll_interval = settings.poll_interval
        self._wakers = wakers
        self._operator = settings.operator
        # Set by a turn that queued operator events after its claim (an expiry's): their
        # deliveries are due at once, so the next turn comes without a wait.
        self._queued_late = False
        self._metrics = settings.metrics
        self._metrics_failed: set[type[BaseException]] = set()  # the kinds already logged
        self._signers: dict[tuple[str, ...], Signer] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('d')[2:10]}"

    def session(self) -> aiohttp.ClientSession:
        """A client session with the sender's timeouts (and the target guard's resolver)."""
        connector = aiohttp.TCPConnector(
            limit=self._concurrency,
            resolver=GuardedResolver() if self._check_targets else None,
            socket_factory=guarded_socket if self._check_targets else None,
        )
        # No cookie jar: a target must not be able to make the sender store state and
        # send it back later (and skipping cookie handling is cheaper per request).
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Accept-Encoding",),
        )

    async def run(self, stop: asyncio.Event | None = None, *, until_idle: bool = False) -> None:
        """Dispatch until ``stop`` is set (finishing what is in flight) or, with
        ``until_idle``, until nothing is due and nothing is in flight."""
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(1, thread_name_prefix="hookwire-store")
        checkpoints = Checkpoints(self._store, loop)
        in_flight: dict[str, asyncio.Task[Outcome]] = {}
        finished: list[Outcome] = []
        claim: Future[list[Job]] | None = None
        # Opened last, just before the block that closes it (it may hold a connection).
        # drain() never sleeps with nothing in flight: it needs no cross-process watch.
        signals = Signals(
            loop, stop, self._wakers, None if until_idle else self._store, self._clock
        )
        try:
            async with self.session() as session:
                while True:
                    stopping = stop is not None and stop.is_set()
                    signals.rearm()
                    outcomes, finished = finished, []
                    free = 0 if stopping else self._concurrency - len(in_flight)
                    # Taken before the claim, so the deadline errs early against the stored lease.
                    deadline = loop.time() + self._lease_budget
                    try:
                        # A claim cannot be stopped once its thread runs it; kept, so that
                        # leases it takes after a cancel are released below.
                        claim = executor.submit(self._tick, outcomes, free)
                        jobs = await asyncio.wrap_future(claim)
                    except SQLAlchemyError as exc:
                        if until_idle:
                            raise
                        if stopping and not in_flight:
                            # Unrecorded attempts are resent after their leases end.
                            log.warning("stopping with the database down: %s", error_line(exc))
                            return
                        log.warning("the sender's database failed; retrying: %s", error_line(exc))
                        finished = outcomes + finished
                        jobs = []
                        await asyncio.sleep(self._poll_interval)
                    checkpoints.due()
                    for job in jobs:
                        task = asyncio.create_task(self._attempt(session, job, deadline))
                        task.add_done_callback(signals.land)
                        in_flight[job.webhook_id] = task
                    if not self._queued_late:  # else round again now: their work is due
                        if not in_flight and not finished and not jobs and (stopping or until_idle):
                            return
                        await signals.wait(self._poll_interval, idle=not in_flight)
                    for outcome in signals.outcomes():
                        finished.append(outcome)
                        del in_flight[outcome.job.webhook_id]
        finally:
            signals.close()
            for task in in_flight.values():
                task.cancel()
            executor.shutdown(wait=True)
            checkpoints.close()
            self._release(list(in_flight), claim)

    def _release(self, held: list[str], claim: Future[list[Job]] | None) -> None:
        """Give back the leases of cut-short work, so another dispatcher resends it at once."""
        if claim is not None and not claim.cancelled() and claim.exception() is None:
            # Cancelled while claiming: the claim finished in its thread regardless.
            held += [job.webhook_id for job in claim.result() if job.webhook_id not in held]
        if held:
            try:
                self._store.release(held, owner=self.owner, now=self._clock())
            except SQLAlchemyError as exc:
                log.warning("could not release leases (they will expire): %s", error_line(exc))

    def _tick(self, outcomes: list[Outcome], free: int) -> list[Job]:
        self._queued_late = False  # a claim that raises leaves no stale "go on at once"
        now = self._clock()
        started = perf_counter() if self._metrics is not None else 0.0
        operator = self._operator
        turn = operator.turn() if operator is not None else None
        jobs = self._store.claim(
            owner=self.owner,
            now=now,
            lease=self._lease,
            limit=free,
            max_batch=self._max_batch,
            max_batch_bytes=self._max_batch_bytes,
            outcomes=outcomes,
            expire_before=now - self._retry.max_age,
            operator=turn,
        )
        if self._metrics is not None:  # after the commit: each recorded outcome counts once
            self._count_turn(self._metrics, outcomes, perf_counter() - started)
        self._queued_late = turn is not None and any(
            event.name == DELIVERIES_EXPIRED for event in turn.fired
        )
        if operator is not None and turn is not None and turn.fired:
            # The turn has committed; the callbacks get the events in a thread of their
            # own, so a slow one holds up neither this turn nor the leases it took.
            operator.notify(turn.fired)
        return jobs

    def _count_turn(self, metrics: DispatchMetrics, outcomes: list[Outcome], took: float) -> None:
        """Count a committed turn; metrics that raise never stop the dispatcher (each kind
        of failure is logged once, not on every turn)."""
        try:
            metrics.turned(outcomes, took)
        except Exception as exc:
            if type(exc) not in self._metrics_failed:
                self._metrics_failed.add(type(exc))
                log.exception("counting a dispatcher turn failed; the dispatcher carries on")

    async def _attempt(self, session: aiohttp.ClientSession, job: Job, deadline: float) -> Outcome:
        """Send ``job`` once and judge the answer; never raises.

        Nothing a target sends may stop the dispatcher: an exception from
        sending, reading or judging becomes a failed attempt, recorded and
        retried like any other.
        """
        try:
            return await self._attempt_once(session, job, deadline)
        except Exception as exc:
            return self._unexpected(job, exc)

    async def _attempt_once(
        self, session: aiohttp.ClientSession, job: Job, deadline: float
    ) -> Outcome:
        # A request must end while its lease holds: after that another dispatcher may
        # claim the same work, and two sends of one delivery at once would break the
        # one-request-per-webhook rule. A slow claim or a loaded loop eats into the
        # budget that the session's own timeouts assume; then the request gets a
        # total timeout of what is left (aiohttp's own timer, not a second one).
        left = deadline - asyncio.get_running_loop().time()
        cut = left < self._attempt_seconds
        timeout = None
        if cut:
            timeout = aiohttp.ClientTimeout(
                total=max(left, 0.001),
                sock_connect=self._timeout.sock_connect,
                sock_read=self._timeout.sock_read,
            )
        response = await self._send(session, job, timeout)
        if cut and response.error == http.TIMEOUT_ERROR:
            response = dataclasses.replace(
                response, error="timeout: no response before the lease ran out"
            )
        outcome = self.judge(job, response)
        level = logging.INFO if outcome.verdict == "succeeded" else logging.WARNING
        if log.isEnabledFor(level):
            _log_attempt(level, job, response, outcome)
        return outcome

    def _unexpected(self, job: Job, exc: Exception) -> Outcome:
        """A failed attempt for an exception no layer expected; its traceback is logged."""
        log.error("an attempt at webhook %s failed unexpectedly", job.webhook_id, exc_info=exc)
        return verdict.unexpected(job, exc, now=self._clock(), retry=self._retry)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        job: Job,
        limits: aiohttp.ClientTimeout | None = None,
    ) -> http.Response:
        # The attempt's span; its context goes out as traceparent for the listener.
        attempt = self._tracing.attempt(job) if self._tracing is not None else None
        if attempt is None:
            return await self._post(session, job, limits, None)
        try:
            response = await self._post(session, job, limits, attempt.headers)
        except BaseException as exc:  # cancelled, or failed unexpectedly: the span ends too
            attempt.end(exc)
            raise
        attempt.end(response)
        return response

    async def _post(
        self,
        session: aiohttp.ClientSession,
        job: Job,
        limits: aiohttp.ClientTimeout | None,
        trace: dict[str, str] | None,
    ) -> http.Response:
        try:
            signer = self._signer(job.secrets) if job.secrets else None
        except InvalidSecretError:
            now = self._clock()
            return http.Response(now, None, 0.0, "the webhook's secret is unusable; rotate it", "")
        return await http.send(
            session,
            job,
            clock=self._clock,
            check_targets=self._check_targets,
            signer=signer,
            limits=limits,
            trace=trace,
        )

    def _signer(self, secrets: tuple[str, ...]) -> Signer:
        # A webhook's secrets are parsed and keyed once, not on every request.
        signer = self._signers.get(secrets)
        if signer is None:
            if len(self._signers) >= _MAX_CACHED_KEYS:
                self._signers.clear()
            signer = self._signers[secrets] = Signer(secrets)
        return signer

    async def send_once(self, job: Job) -> Outcome:
        """Send one job now with a session of its own (a test delivery); never raises."""
        try:
            async with self.session() as session:
                response = await self._send(session, job)
            return self.judge(job, response)
        except Exception as exc:
            return self._unexpected(job, exc)

    def judge(self, job: Job, response: http.Response) -> Outcome:
        """Decide what an attempt's response means (see :func:`.verdict.judge`)."""
        return verdict.judge(job, response, self._retry)


def _log_attempt(level: int, job: Job, response: http.Response, outcome: Outcome) -> None:
    """One line per attempt, with the same facts as fields on the record."""
    status = response.status_code
    count = len(job.event_ids)
    log.log(
        level,
        "webhook %s request %s (%d event%s): %s in %.1f ms -> %s",
        job.webhook_id,
        job.request_id,
        count,
        "" if count == 1 else "s",
        status if status is not None else response.error,
        response.latency_ms,
        outcome.verdict,
        # The same facts as fields, for handlers that print or ship them structured.
        extra={
            ATTEMPT_LOG_FIELD: {
                "webhookId": job.webhook_id,
                "requestId": job.request_id,
                "events": count,
                "status": status,
                "error": None if status is not None else response.error,
                "latencyMs": round(response.latency_ms, 1),
                "verdict": outcome.verdict,
            }
        },
    )
