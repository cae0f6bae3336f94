"""WebhookTarget: a real HTTP server that verifies, records and asserts on what a sender sends.

It runs pytest-httpserver's server on 127.0.0.1, checks each request as a
listener would (a :class:`~hookwire.Receiver` with the credentials given),
answers as scripted, and keeps what arrived: the accepted ``envelopes`` and
``events``, every authentic request with its answer, and the ``rejected``
ones with the reason. Its assertions say what went wrong in words.

Example::

    with WebhookTarget(secret="whsec_...") as target:
        target.respond(500, times=2)           # then 202, the default
        run_the_sender_against(target.url)
        target.wait_for(3, timeout=10)
        target.assert_received(["evt-1", "evt-2", "evt-3"])
        target.assert_ordered()
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ..errors import PayloadError, VerificationError
from ..events import Envelope, Event
from ..extras import MissingExtraError, install_hint, is_missing
from ..receiver import Receiver, parse_unverified
from ..signature_file import SignatureFile
from ._arrivals import order_problem, received_problems, repeated

try:
    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response
except ModuleNotFoundError as exc:
    if not is_missing(exc, ("pytest_httpserver", "werkzeug")):
        raise
    hint = install_hint("hookwire.testing.WebhookTarget", "testing")
    raise MissingExtraError(hint, name=exc.name) from exc

__all__ = ["ReceivedRequest", "RejectedRequest", "WebhookTarget"]

_ACCEPTED = 202


class _Server(HTTPServer):
    """pytest-httpserver's server, checking for shutdown every 0.05 s (not 0.5 s) to stop fast."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)


@dataclass(frozen=True)
class ReceivedRequest:
    """One authentic request: its envelope, raw body and headers (lower case), and the answer."""

    envelope: Envelope
    body: bytes
    headers: dict[str, str] = field(repr=False)
    status: int


@dataclass(frozen=True)
class RejectedRequest:
    """A request the target refused: the answer (401, 400, 404), why, and the request."""

    status: int
    reason: str
    error: Exception | None
    method: str
    path: str
    body: bytes
    headers: dict[str, str] = field(repr=False)


@dataclass
class _Answer:
    status: int
    times: int | None
    delay: float
    body: bytes
    headers: dict[str, str]


def _default_body(envelope: Envelope) -> bytes:
    return json.dumps({"accepted": len(envelope.events), "duplicates": 0}).encode()


class WebhookTarget:
    """A verifying webhook receiver on a real port, for testing code that sends webhooks.

    Credentials mean what they mean to :class:`~hookwire.Receiver`; give a
    ready ``receiver`` instead, or nothing to take unauthenticated requests
    (:meth:`verify_with` sets them later, once the sender has made its key).
    Requests go to :attr:`url` (``path`` on the server); others are refused
    with 404. An authentic request with a valid envelope is answered as
    scripted by :meth:`respond`, else 202; an answer in the 2xx range makes
    its events *accepted*: :attr:`envelopes` and :attr:`events` hold what a
    listener would have handled, in arrival order, redeliveries included.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
        public_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        tolerance: float = 300,
        receiver: Receiver | None = None,
        path: str = "/webhooks",
        host: str = "127.0.0.1",
    ) -> None:
        self.path = path
        self._receiver: Receiver | None = None
        self._lock = threading.Condition()
        self._script: deque[_Answer] = deque()
        self._default = _Answer(_ACCEPTED, None, 0.0, b"", {})
        self.requests: list[ReceivedRequest] = []
        """Every authentic request with a valid envelope, in arrival order, with its answer."""
        self.rejected: list[RejectedRequest] = []
        """Every request refused before its events counted, with the reason."""
        self._server = _Server(host=host, port=0, threaded=True)
        self._server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        self.verify_with(
            receiver,
            secret=secret,
            signature_file=signature_file,
            public_key=public_key,
            basic_auth=basic_auth,
            tolerance=tolerance,
        )

    def __repr__(self) -> str:
        state = "running" if self._server.is_running() else "stopped"
        return f"WebhookTarget({self.url if self._server.is_running() else self.path!r}, {state})"

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> WebhookTarget:
        """Start serving on a free port of 127.0.0.1; returns the target."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving (requests in flight finish first)."""
        if self._server.is_running():
            self._server.stop()

    def __enter__(self) -> WebhookTarget:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The URL to send webhooks to, ``http://127.0.0.1:<port>/webhooks``."""
        return self._server.url_for(self.path)

    # --- configuration ----------------------------------------------------------------

    def verify_with(
        self,
        receiver: Receiver | None = None,
        *,
        secret: str | None = None,
        signature_file: str | os.PathLike[str] | Mapping[str, Any] | SignatureFile | None = None,
        public_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        tolerance: float = 300,
    ) -> None:
        """Verify later requests with ``receiver``, or one built from these credentials.

        With neither, later requests need no authentication (their envelopes
        are still parsed).

        Example::

            hook = sender.webhooks.create(..., target_url=target.url, auth="signature")
            target.verify_with(signature_file=sender.webhooks.signature_file(hook.id))
        """
        if receiver is None and (secret or signature_file or public_key or basic_auth):
            receiver = Receiver(
                secret,
                signature_file=signature_file,
                public_key=public_key,
                basic_auth=basic_auth,
                tolerance=tolerance,
            )
        with self._lock:
            self._receiver = receiver

    def respond(
        self,
        status: int,
        *,
        times: int | None = 1,
        delay: float = 0.0,
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` authentic requests with ``status`` (after ``delay`` seconds).

        Scripted answers queue up in call order; once they are used up the
        target answers 202. ``times=None`` answers every later request so
        (``respond(410, times=None)``: the target is gone). ``body`` is sent
        as given (a mapping as JSON); by default a 202 carries
        ``{"accepted": n, "duplicates": 0}`` and other statuses nothing.
        ``headers`` are added to the answer (``{"Retry-After": "1"}``).
        """
        if times is not None and times < 1:
            raise ValueError("times must be 1 or more, or None for every later request")
        if isinstance(body, Mapping):
            raw = json.dumps(dict(body)).encode()
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = body or b""
        answer = _Answer(status, times, delay, raw, dict(headers or {}))
        with self._lock:
            self._script.append(answer)

    # --- what arrived -----------------------------------------------------------------

    @property
    def envelopes(self) -> list[Envelope]:
        """The envelopes answered with a 2xx, in arrival order."""
        with self._lock:
            return [r.envelope for r in self.requests if 200 <= r.status < 300]

    @property
    def events(self) -> list[Event]:
        """The events of :attr:`envelopes`, in arrival order (a redelivered one twice)."""
        return [event for envelope in self.envelopes for event in envelope.events]

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Event]:
        """Wait until ``count`` events are accepted; return :attr:`events`.

        Raises :class:`AssertionError` after ``timeout`` seconds, saying what
        did arrive and what was refused.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._accepted_events()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"waited {timeout:g} s for {count} events at {self.url}; " + self.summary()
                    )
                self._lock.wait(left)
        return self.events

    def summary(self) -> str:
        """One paragraph of what arrived: accepted eventIds, other answers, refusals."""
        with self._lock:
            ids = [event.event_id for event in self._accepted_events()]
            others = [r.status for r in self.requests if not 200 <= r.status < 300]
            rejected = [f"{r.status} ({r.reason})" for r in self.rejected]
        parts = [f"{len(ids)} accepted" + (f": {', '.join(ids)}" if ids else "")]
        if others:
            parts.append(f"{len(others)} answered {', '.join(map(str, others))} as scripted")
        if rejected:
            parts.append(f"{len(rejected)} refused: {'; '.join(rejected)}")
        return "; ".join(parts)

    # --- assertions -------------------------------------------------------------------

    def assert_received(self, event_ids: Iterable[str]) -> None:
        """Assert that exactly these eventIds were accepted, each once.

        The message names the missing ids, those that arrived more than once
        and those not expected.
        """
        expected = list(event_ids)
        problems = received_problems(expected, self.events)
        if problems:
            raise AssertionError(
                f"the target did not receive the {len(expected)} expected events once each; "
                f"{problems} (refused requests: {len(self.rejected)})"
            )

    def assert_no_duplicates(self) -> None:
        """Assert that no eventId was accepted twice; the message names those that were."""
        twice = repeated(self.events)
        if twice:
            raise AssertionError(f"events arrived more than once: {twice}")

    def assert_ordered(self, event_ids: Iterable[str] | None = None) -> None:
        """Assert that each account's events arrived in order.

        With ``event_ids``, in that order (ids of one account keep their
        relative order; ids that did not arrive are left to
        :meth:`assert_received`); without, in the order of their
        ``timestamp``. Only an event's first arrival counts. The message
        names the account and the first event out of place.
        """
        problem = order_problem(self.envelopes, None if event_ids is None else list(event_ids))
        if problem:
            raise AssertionError(problem)

    # --- serving ----------------------------------------------------------------------

    def _accepted_events(self) -> list[Event]:
        return [e for r in self.requests if 200 <= r.status < 300 for e in r.envelope.events]

    def _reject(
        self, request: Request, body: bytes, status: int, reason: str, error: Exception | None
    ) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        refused = RejectedRequest(
            status, reason, error, request.method, request.path, body, headers
        )
        with self._lock:
            self.rejected.append(refused)
            self._lock.notify_all()
        return Response(json.dumps({"error": reason}), status, content_type="application/json")

    def _next_answer(self) -> _Answer:
        with self._lock:
            if not self._script:
                return self._default
            answer = self._script[0]
            if answer.times is not None:
                answer.times -= 1
                if answer.times == 0:
                    self._script.popleft()
            return answer

    def _handle(self, request: Request) -> Response:
        body = request.get_data()
        if request.path != self.path:
            return self._reject(request, body, 404, f"no webhook URL at {request.path}", None)
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            receiver = self._receiver
        try:
            envelope = (
                receiver.verify(body, headers) if receiver is not None else parse_unverified(body)
            )
        except VerificationError as exc:
            return self._reject(request, body, 401, f"{type(exc).__name__}: {exc}", exc)
        except PayloadError as exc:
            return self._reject(request, body, 400, f"PayloadError: {exc}", exc)
        answer = self._next_answer()
        if answer.delay:
            time.sleep(answer.delay)
        raw = answer.body
        if not raw and answer.status == _ACCEPTED:
            raw = _default_body(envelope)
        received = ReceivedRequest(envelope, body, headers, answer.status)
        with self._lock:
            self.requests.append(received)
            self._lock.notify_all()
        return Response(
            raw,
            answer.status,
            headers=answer.headers,
            content_type="application/json" if raw else None,
        )
