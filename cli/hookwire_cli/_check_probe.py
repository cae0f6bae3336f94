"""Sending ``hookwire check``'s requests: one at a time, paced, each within a timeout.

A :class:`Probe` is one request still to build: its ``build`` runs right
before it is sent, so a signed timestamp is always fresh. :func:`send_probes`
POSTs the probes in order over one aiohttp session, never more than ``rate``
a second and never more than ``cap`` in all, and gives each one ``per_request``
seconds to be answered: a listener that sleeps is reported, not waited on.
Redirects are never followed (the sender does not follow them either).

It stops early, leaving the rest unanswered with :data:`NOT_SENT`, once
``max_late`` requests timed out or were answered later than ``late`` seconds,
or once the first one timed out (a valid request: when that gets no answer,
none will). It raises :class:`Unreachable` when the very first request cannot
connect at all.

Example::

    answers = asyncio.run(send_probes(url, probes, rate=10, per_request=6, cap=40))
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

import aiohttp

from ._sending import describe_client_error

__all__ = ["NOT_SENT", "Answer", "Probe", "Unreachable", "WireRequest", "send_probes"]

#: Stop after this many requests got no answer in time, or a late one.
MAX_LATE: Final = 3


class WireRequest(Protocol):
    """What a probe builds: the bytes and headers to POST."""

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of the battery, built (and so signed) only when it is sent."""

    label: str
    build: Callable[[], WireRequest]


@dataclass(frozen=True, slots=True)
class Answer:
    """What one probe got: a status, or why there was none (``error``), and how long it took."""

    status: int | None
    elapsed: float
    error: str | None = None
    timed_out: bool = False
    sent: bool = True
    label: str = ""

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """The status and time (``202 in 4 ms``), or why there was no answer."""
        if self.status is not None:
            return f"{self.status} in {self.elapsed * 1000:.0f} ms"
        return self.error or "no answer"


#: The answer of a probe the battery stopped before.
NOT_SENT: Final = Answer(None, 0.0, "not sent: the listener stopped answering", sent=False)


class Unreachable(Exception):
    """The first request could not connect: there is no listener to check."""


async def send_probes(
    url: str,
    probes: Sequence[Probe],
    *,
    rate: float,
    per_request: float,
    cap: int,
    late: float | None = None,
    max_late: int = MAX_LATE,
) -> list[Answer]:
    """POST each probe to ``url`` in order and return one :class:`Answer` per probe.

    Probes past ``cap`` are not sent; ``late`` defaults to ``per_request``.
    Raises :class:`Unreachable` (with a one-line reason) when the first probe
    cannot connect.
    """
    answers: list[Answer] = []
    late_after = per_request if late is None else late
    late_answers = 0
    interval = 1.0 / rate
    next_start = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for index, probe in enumerate(probes):
            if index >= cap or late_answers >= max_late:
                answers.append(replace(NOT_SENT, label=probe.label))
                continue
            await asyncio.sleep(max(0.0, next_start - time.monotonic()))
            next_start = time.monotonic() + interval
            answer = replace(
                await _send(session, url, probe.build(), per_request), label=probe.label
            )
            if index == 0 and answer.error is not None and not answer.timed_out:
                raise Unreachable(answer.error)
            if answer.timed_out or answer.elapsed > late_after:
                late_answers = max_late if index == 0 and answer.timed_out else late_answers + 1
            answers.append(answer)
    return answers


async def _send(
    session: aiohttp.ClientSession, url: str, request: WireRequest, per_request: float
) -> Answer:
    begin = time.perf_counter()
    try:
        # A file-like body: aiohttp warns that a large bytes body could block the loop.
        body = io.BytesIO(request.body)
        # asyncio's timeout is exact; aiohttp's rounds one over 5 s up to a whole second.
        async with (
            asyncio.timeout(per_request),
            session.post(
                url, data=body, headers=request.headers, allow_redirects=False
            ) as response,
        ):
            await response.read()
            return Answer(response.status, time.perf_counter() - begin)
    except TimeoutError:
        error = f"no answer within {per_request:g} s"
        return Answer(None, time.perf_counter() - begin, error, timed_out=True)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        # ValueError: aiohttp refuses a header value with CR, LF or NUL.
        return Answer(None, time.perf_counter() - begin, describe_client_error(exc))
