"""The demo's listener: the listening core behind aiohttp, refusing its first request once.

It answers every request as the Flask listener and ``hookwire listen`` do,
except the very first authentic one, which it refuses with 503 and
``Retry-After`` so that the demo shows a retry with the same ``webhook-id``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from hookwire import Envelope, Receiver, WebhookError
from hookwire.listening import DEFAULT_MAX_BODY, BodyReader, ListeningCore

from ._aiohttp_adapter import read_body, to_response

__all__ = ["RETRY_AFTER", "DemoListener", "Seen", "start_listener"]

#: Seconds the refused first request asks the sender to wait.
RETRY_AFTER = 1


@dataclass
class Seen:
    """One request as the listener saw it."""

    at: float
    msg_id: str
    status: int
    event_ids: tuple[str, ...]
    note: str
    retry: bool


@dataclass
class DemoListener:
    """A verifying listener that refuses its first authentic request once (503, Retry-After).

    Every other request is answered by :class:`~hookwire.listening.ListeningCore`,
    exactly as the Flask listener and ``hookwire listen`` answer it. Until
    :meth:`verify_with` gives it a receiver it answers 503.
    """

    started: float
    refuse_first: bool = True
    max_body: int = DEFAULT_MAX_BODY
    core: ListeningCore | None = None
    requests: list[Seen] = field(default_factory=list)
    verified: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    on_request: list[Callable[[Seen], None]] = field(default_factory=list)

    def verify_with(self, receiver: Receiver) -> None:
        """Check requests with ``receiver`` from now on."""
        # No logger: the live view shows every request.
        self.core = ListeningCore(receiver, max_body=self.max_body, logger=None)

    async def handle(self, request: web.Request) -> web.Response:
        """Refuse the very first authentic request once; answer the rest as the core does."""
        msg_id = request.headers.get("webhook-id", "?")
        retry = any(seen.msg_id == msg_id for seen in self.requests)
        core = self.core
        if core is None:
            # Not set up yet: nothing is published before it is, so this is never a real event.
            return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER)})
        body = await read_body(core, request)
        if self.refuse_first and not self.requests:
            envelope = self._authentic(core, request, body)
            if envelope is not None:
                return self._refuse_once(msg_id, envelope)
        answer = core.handle(request.method, request.headers, body, path=request.path)
        ids = tuple(e.event_id for e in answer.envelope.events) if answer.envelope else ()
        if answer.status == 202:
            for event_id in ids:
                self.verified[event_id] = self.verified.get(event_id, 0) + 1
            self._seen(msg_id, 202, ids, "verified", retry)
        else:
            self.rejected += 1
            self._seen(msg_id, answer.status, ids, f"rejected: {answer.error}", retry)
        return to_response(answer)

    @staticmethod
    def _authentic(
        core: ListeningCore, request: web.Request, body: bytes | BodyReader
    ) -> Envelope | None:
        """The envelope of a request that passes every check, else None."""
        headers = request.headers
        if not (isinstance(body, bytes) and core.reads_body(request.method, headers)):
            return None
        if core.receiver is None or len(body) > core.max_body:
            return None
        try:
            return core.receiver.verify(body, headers)
        except WebhookError:
            return None

    def _refuse_once(self, msg_id: str, envelope: Envelope) -> web.Response:
        ids = tuple(event.event_id for event in envelope.events)
        self._seen(msg_id, 503, ids, "refused once on purpose (Retry-After: 1)", False)
        return web.json_response(
            {"error": "refused once on purpose, to show a retry"},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER)},
        )

    def _seen(self, msg_id: str, status: int, ids: tuple[str, ...], note: str, retry: bool) -> None:
        seen = Seen(time.monotonic() - self.started, msg_id, status, ids, note, retry)
        self.requests.append(seen)
        for callback in self.on_request:
            callback(seen)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def start_listener(listener: DemoListener) -> tuple[web.AppRunner, str]:
    """Serve ``listener`` at ``/webhooks`` on a free 127.0.0.1 port; the runner and the URL."""
    app = web.Application()
    # Every method: the core answers them all (405 for anything but POST), as the others do.
    app.router.add_route("*", "/webhooks", listener.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = _free_socket()
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhooks"
