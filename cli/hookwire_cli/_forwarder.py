"""``hookwire listen --forward-to``: one worker that prints and forwards, in arrival order.

The capture server hands every request's printed lines to the
:class:`Forwarder`, with the request itself when it is to be forwarded. The
worker prints each request's lines, forwards it, and prints the forward's
line, so every forward's line sits right under its own request's lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Final

import aiohttp
from aiohttp import web

from ._auth import RequestAuth
from ._sending import DEFAULT_HEADERS, describe_client_error

__all__ = ["Forward", "Forwarder"]

_PASS_THROUGH: Final = ("webhook-id", "webhook-timestamp", "webhook-signature", "authorization")
_DRAIN_SECONDS: Final = 10.0

Forward = tuple[bytes, Mapping[str, str]]
"""A request to forward: its body and its headers."""

_Job = tuple[list[str], Forward | None]


class Forwarder:
    """Prints a listener's lines and forwards its accepted requests, one at a time, in order.

    Requests are re-signed with ``auth`` when it has keys, else sent with their
    own authentication headers. ``echo`` prints one line; ``as_json`` makes the
    forward's line a JSON object.
    """

    def __init__(
        self,
        url: str,
        auth: RequestAuth | None,
        *,
        echo: Callable[[str], None],
        as_json: bool = False,
    ) -> None:
        self.url = url
        self.auth = auth
        self.echo = echo
        self.as_json = as_json
        self._queue: asyncio.Queue[_Job] | None = None

    @property
    def running(self) -> bool:
        """True while the worker takes jobs (between the application's start and cleanup)."""
        return self._queue is not None

    def submit(self, lines: list[str], forward: Forward | None) -> None:
        """Queue ``lines`` to print and, unless None, ``forward`` to forward after them."""
        assert self._queue is not None
        self._queue.put_nowait((lines, forward))

    async def lifetime(self, _: web.Application) -> AsyncIterator[None]:
        """Run the worker for the application's lifetime; drain it (up to 10 s) at shutdown."""
        queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queue = queue
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            worker = asyncio.create_task(self._work(session, queue))
            yield
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.join(), _DRAIN_SECONDS)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._queue = None
        # Requests still queued after the drain are printed, though no longer forwarded.
        while not queue.empty():
            for line in queue.get_nowait()[0]:
                self.echo(line)

    async def _work(self, session: aiohttp.ClientSession, queue: asyncio.Queue[_Job]) -> None:
        # One worker, so the local app gets requests in the order they arrived.
        while True:
            lines, forward = await queue.get()
            try:
                for line in lines:
                    self.echo(line)
                if forward is not None:
                    await self._forward(session, *forward)
            finally:
                queue.task_done()

    async def _forward(
        self, session: aiohttp.ClientSession, body: bytes, original: Mapping[str, str]
    ) -> None:
        headers = {**DEFAULT_HEADERS}
        headers["content-type"] = original.get("content-type") or DEFAULT_HEADERS["content-type"]
        if self.auth is not None and self.auth.keys:
            msg_id = original.get("webhook-id")
            headers = self.auth.headers(body, msg_id=msg_id, base=headers)
        else:
            headers.update({k: original[k] for k in _PASS_THROUGH if k in original})
        status: int | None = None
        error: str | None = None
        try:
            async with session.post(
                self.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = describe_client_error(exc)
        if self.as_json:
            report = {
                "forwardedTo": self.url,
                "webhookId": headers.get("webhook-id"),
                "status": status,
                "error": error,
            }
            self.echo(json.dumps(report))
        elif error is not None:
            self.echo(f"          -> forward to {self.url} failed: {error}")
        else:
            self.echo(f"          -> forwarded to {self.url}: {status}")
