"""Sending many prepared webhook requests fast: the engine behind ``trigger`` and ``replay``.

Requests are built before sending starts (body bytes and fixed headers); at
send time each one only gets its ``webhook-*`` headers, signed with the
current timestamp, so even a slow rate-limited run never sends a stale
timestamp. One aiohttp session, ``concurrency`` workers pulling from one
iterator, an optional rate limit, redirects never followed (a 3xx is a failure,
as for the sender).

Example::

    requests = [OutgoingRequest(body=b'{"accountId": 1, "events": []}')]
    summary = asyncio.run(send_requests("http://127.0.0.1:8000/", requests, auth=auth))
    print(summary.ok, summary.statuses)
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from hookwire.outgoing import BASE_HEADERS, RequestAuth

__all__ = [
    "DEFAULT_HEADERS",
    "OutgoingRequest",
    "SendResult",
    "SendSummary",
    "describe_client_error",
    "send_requests",
]

#: Headers every request carries unless the request sets its own (as the sender's do).
DEFAULT_HEADERS: Final[Mapping[str, str]] = BASE_HEADERS
#: 10 s to connect, as the sender; then the whole request must be answered within 15 s.
CONNECT_TIMEOUT: Final = 10.0
TOTAL_TIMEOUT: Final = 15.0


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One request ready to send.

    ``headers`` are the fixed ones (content type, user agent); the
    authentication headers are added at send time. ``msg_id`` is the
    ``webhook-id`` to use (a fresh one when None). ``label`` and ``info``
    describe the request for printing and are never sent.
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: DEFAULT_HEADERS)
    msg_id: str | None = None
    label: str = ""
    info: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened to one request: its status, or the error that stopped it."""

    request: OutgoingRequest
    msg_id: str
    status: int | None
    error: str | None
    elapsed: float

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SendSummary:
    """Counts over a run: requests sent, 2xx answers, other statuses, failures."""

    sent: int = 0
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    def add(self, result: SendResult) -> None:
        """Count one result."""
        self.sent += 1
        if result.status is None:
            self.errors[result.error or "unknown error"] += 1
            return
        self.statuses[result.status] += 1
        if result.ok:
            self.ok += 1

    @property
    def failures(self) -> int:
        """Requests that got no answer at all (connection errors, timeouts)."""
        return sum(self.errors.values())

    @property
    def failed(self) -> int:
        """Requests that did not get a 2xx answer, for whatever reason."""
        return self.sent - self.ok

    @property
    def rate(self) -> float:
        """Requests per second over the run."""
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "failures": self.failures,
            "errors": dict(self.errors.most_common()),
            "elapsedSeconds": round(self.elapsed, 3),
            "requestsPerSecond": round(self.rate, 1),
        }


def describe_client_error(exc: BaseException) -> str:
    """A short, one-line reason for a failed request (no secrets: only host and cause)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        # Its errno is the TLS library's code, not an OS error: name the certificate instead.
        reason = getattr(exc.certificate_error, "verify_message", "") or "not trusted"
        return f"cannot connect to {exc.host}:{exc.port}: TLS certificate: {reason}"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        # getaddrinfo's codes are not errno values: its own message names the failure.
        reason = exc.os_error.strerror or "the name does not resolve"
        return f"cannot connect to {exc.host}:{exc.port}: {reason.lower()}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno else str(exc.os_error) or "connection failed"
        return f"cannot connect to {exc.host}:{exc.port}: {reason.lower()}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out (no answer within {TOTAL_TIMEOUT:g} s)"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Pacer:
    """Spaces request starts ``1 / rate`` seconds apart across all workers."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


async def send_requests(
    url: str,
    requests: Iterable[OutgoingRequest],
    *,
    auth: RequestAuth,
    concurrency: int = 8,
    rate: float | None = None,
    on_result: Callable[[SendResult], None] | None = None,
) -> SendSummary:
    """POST every request to ``url`` and return the counts.

    At most ``concurrency`` requests are in flight; with ``rate`` (requests per
    second) their starts are spaced evenly. ``on_result`` is called once per
    request as it finishes (in finishing order; with ``concurrency=1`` that is
    the given order). Network failures are counted, never raised.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    summary = SendSummary()
    pending = iter(requests)
    pacer = _Pacer(rate) if rate else None
    # One timer a request: a per-read timeout costs a timer reschedule per chunk received.
    timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, sock_connect=CONNECT_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.perf_counter()

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            # Workers share one iterator: next() never awaits, so each request goes out once.
            for request in pending:
                if pacer is not None:
                    await pacer.wait()
                msg_id = request.msg_id
                headers = auth.headers(request.body, msg_id=msg_id, base=request.headers)
                begin = time.perf_counter()
                status: int | None = None
                error: str | None = None
                try:
                    async with session.post(
                        url, data=request.body, headers=headers, allow_redirects=False
                    ) as response:
                        await response.read()
                        status = response.status
                except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                    # ValueError: aiohttp refuses a header value with CR, LF or NUL.
                    error = describe_client_error(exc)
                result = SendResult(
                    request, headers["webhook-id"], status, error, time.perf_counter() - begin
                )
                summary.add(result)
                if on_result is not None:
                    on_result(result)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    summary.elapsed = time.perf_counter() - started
    return summary
