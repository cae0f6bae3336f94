"""Building and sending one signed request; no database, no retry decisions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from .._version import USER_AGENT
from ..errors import TargetBlockedError
from ..outgoing import BASE_HEADERS, request_headers
from ..signing import Signer, basic_auth_header
from .guard import BlockedAddressOSError, check_literal_host
from .work import Job

__all__ = [
    "MAX_RESPONSE_BODY",
    "TIMEOUT_ERROR",
    "USER_AGENT",
    "Response",
    "build_headers",
    "send",
    "shown_url",
]

MAX_RESPONSE_BODY = 4096
TIMEOUT_ERROR = "timeout: no response in time"
_BLOCKED = (BlockedAddressOSError, TargetBlockedError)


@dataclass(frozen=True, slots=True)
class Response:
    """What one attempt produced: a status (or an error), its latency and body start."""

    started_at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    body: str
    retry_after: str | None = None


def build_headers(
    job: Job,
    *,
    timestamp: int,
    signer: Signer | None = None,
    trace: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one attempt: content type, user agent, ``webhook-*``, auth, trace.

    ``webhook-id`` is the request's id, so it stays the same on every retry;
    the timestamp and signatures are fresh. Every valid secret signs (during a
    rotation both the new and the old one). ``signer`` holds the job's secrets
    already parsed, so that a dispatcher keys each secret only once. The
    headers come from :func:`hookwire.outgoing.request_headers`, as the
    ``hookwire`` commands' do; ``trace`` holds the attempt span's ``traceparent``
    (and ``tracestate``).
    """
    if not job.secrets:
        signer = None
    elif signer is None:
        signer = Signer(job.secrets)
    return request_headers(
        job.request_id,
        timestamp,
        job.body,
        signer=signer,
        authorization=basic_auth_header(job.basic_username, job.basic_password or "")
        if job.auth == "basic" and job.basic_username is not None
        else None,
        base=BASE_HEADERS,
        trace=trace,
    )


def _storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL's text cannot hold.

    A target's answer is stored in the attempt log; a NUL in it made the whole
    dispatcher turn fail, over and over, on PostgreSQL.
    """
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _describe(exc: BaseException, url: str) -> str:
    """A one-line reason for a failed attempt, without the URL's query (it may hold a token)."""
    blocked: BaseException | None = exc
    while blocked is not None and not isinstance(blocked, _BLOCKED):
        blocked = blocked.__cause__ or blocked.__context__
    if blocked is not None:
        return f"blocked: {blocked}"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return TIMEOUT_ERROR
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error.strerror or exc.os_error}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        text = text.replace(url, shown_url(url))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def shown_url(url: str) -> str:
    """``url`` as logs and traces show it: without its query and fragment (a query may
    hold a token) or credentials."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


async def send(
    session: aiohttp.ClientSession,
    job: Job,
    *,
    clock: Callable[[], datetime],
    check_targets: bool,
    signer: Signer | None = None,
    limits: aiohttp.ClientTimeout | None = None,
    trace: Mapping[str, str] | None = None,
) -> Response:
    """POST the job's body to its target once and report what happened; never raises.

    Any exception while connecting, sending or reading the answer becomes the
    response's ``error``: a target controls what comes back, so nothing it sends
    may escape. ``limits`` replaces the session's timeouts for this request;
    ``trace`` holds the trace headers to send (see :func:`build_headers`).
    """
    started_at = clock()
    start = time.perf_counter()
    try:
        # Parsed once: the guard judges the very host the client then connects to.
        url = URL(job.target_url)
        if check_targets:
            check_literal_host(url.host or "")
        headers = build_headers(
            job, timestamp=int(started_at.timestamp()), signer=signer, trace=trace
        )
        async with session.post(
            url,
            data=job.body,
            headers=headers,
            allow_redirects=False,
            timeout=limits if limits is not None else session.timeout,
        ) as response:
            chunks = b""
            while len(chunks) < MAX_RESPONSE_BODY:
                chunk = await response.content.read(MAX_RESPONSE_BODY - len(chunks))
                if not chunk:
                    break
                chunks += chunk
            if not response.content.at_eof():
                # Do not drain a huge body: drop the connection instead.
                response.close()
            return Response(
                started_at=started_at,
                status_code=response.status,
                latency_ms=(time.perf_counter() - start) * 1000,
                error=None,
                body=_storable(chunks.decode("utf-8", "replace")),
                retry_after=response.headers.get("retry-after"),
            )
    except Exception as exc:
        return Response(
            started_at=started_at,
            status_code=None,
            latency_ms=(time.perf_counter() - start) * 1000,
            error=_storable(_describe(exc, job.target_url)),
            body="",
        )
