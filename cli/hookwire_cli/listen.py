"""``hookwire listen``: a local capture server that verifies, prints, records and forwards.

Its answers come from :class:`hookwire.listening.ListeningCore`, exactly as the
Flask listener's do; :func:`respond` is the aiohttp adapter (the demo's listener
uses it too). It lives in :mod:`hookwire_cli._aiohttp_adapter`; this module
re-exports it with :func:`read_body` and :func:`to_response`. Forwarding
runs in :mod:`hookwire_cli._forwarder`, which also prints every request's
lines while it runs, so each forward's line follows its own request's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

import click
from aiohttp import web

from hookwire import Event, Receiver, RecordingError
from hookwire.files import open_private
from hookwire.listening import DEFAULT_MAX_BODY, ListeningCore
from hookwire.recording import RecordedRequest, Recorder

from ._aiohttp_adapter import read_body, respond, server_logger, to_response
from ._auth import RequestAuth, auth_options, build_receiver, build_request_auth, tolerance_option
from ._common import URL, json_option, one_line
from ._forwarder import Forward, Forwarder

__all__ = ["DEFAULT_PATH", "CaptureServer", "listen", "read_body", "respond", "to_response"]

DEFAULT_PATH: Final = "/webhooks"
_SHOWN_PATH_CHARS: Final = 200


class CaptureServer:
    """The aiohttp application behind ``hookwire listen``.

    Answers exactly as the Flask listener does (both are adapters over
    :class:`~hookwire.listening.ListeningCore`, which also de-duplicates by
    eventId), plus 404 for another path. Without a ``receiver`` nothing is
    checked. Every request is printed (one line per event, one line saying why
    for a refused request) and, when it reaches ``path``, recorded with a
    ``recorder``. Accepted requests are forwarded, in order, to
    ``forward_url``: re-signed with ``forward_auth`` when it has keys, else with
    their own authentication headers. Refused requests are never forwarded.
    """

    def __init__(
        self,
        *,
        receiver: Receiver | None,
        path: str = DEFAULT_PATH,
        max_body: int = DEFAULT_MAX_BODY,
        recorder: Recorder | None = None,
        forward_url: str | None = None,
        forward_auth: RequestAuth | None = None,
        echo: Callable[[str], None] = click.echo,
        as_json: bool = False,
    ) -> None:
        # No logger: every request is printed below, one line each.
        self.core = ListeningCore(receiver, max_body=max_body, logger=None)
        self.path = path
        self.recorder = recorder
        self.forward_url = forward_url
        self.forward_auth = forward_auth
        self.echo = echo
        self.as_json = as_json
        self.handled = 0
        self.forwarder = (
            Forwarder(forward_url, forward_auth, echo=echo, as_json=as_json)
            if forward_url is not None
            else None
        )

    def app(self) -> web.Application:
        """Build the aiohttp application (one catch-all route, plus the forwarder's lifetime)."""
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self.handle)
        if self.forwarder is not None:
            application.cleanup_ctx.append(self.forwarder.lifetime)
        return application

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one request, print it, record it and queue it for forwarding."""
        received_at = datetime.now(UTC)
        self.handled += 1
        if request.path != self.path:
            error = (
                f"{request.method} {_shown_path(request)}: no listener here; "
                f"this one listens on {self.path}"
            )
            self._report(self._lines(received_at, request.headers, status=404, error=error), None)
            return web.json_response({"error": error}, status=404)
        answer, response = await respond(self.core, request)
        if self.recorder is not None:
            self._record(
                RecordedRequest.from_request(
                    method=request.method,
                    path=request.path,
                    query=request.query_string,
                    headers=request.headers,
                    body=answer.request_body,
                    received_at=received_at,
                    verified=answer.verified,
                    error=answer.error,
                    status=answer.status,
                )
            )
        lines = self._lines(
            received_at,
            request.headers,
            status=answer.status,
            error=None if answer.error is None else one_line(answer.error),
            verified=answer.verified,
            events=answer.envelope.events if answer.envelope is not None else (),
        )
        accepted = answer.status == 202 and self.forwarder is not None
        self._report(lines, (answer.request_body, request.headers.copy()) if accepted else None)
        return response

    def refused_early(self, status: int, error: str) -> None:
        """Print the line for a request aiohttp refused before :meth:`handle` saw it."""
        self._report(self._lines(datetime.now(UTC), {}, status=status, error=error), None)

    def _record(self, record: RecordedRequest) -> None:
        assert self.recorder is not None
        try:
            self.recorder.record(record)
        except (RecordingError, OSError) as exc:
            # A full disk must not turn answers into 500s: the sender would retry forever.
            self.echo(f"warning: could not record the request: {one_line(str(exc))}")

    def _report(self, lines: list[str], forward: Forward | None) -> None:
        """Print ``lines`` now, or through the forwarder so each forward's line follows them."""
        if self.forwarder is not None and self.forwarder.running:
            self.forwarder.submit(lines, forward)
            return
        for line in lines:
            self.echo(line)

    def _lines(
        self,
        received_at: datetime,
        headers: Mapping[str, str],
        *,
        status: int,
        error: str | None,
        verified: bool | None = None,
        events: Sequence[Event] = (),
    ) -> list[str]:
        """The lines printed for one request: one per event, or one saying why it was refused."""
        msg_id = headers.get("webhook-id") or headers.get("svix-id") or "-"
        if self.as_json:
            report = {
                "receivedAt": received_at.isoformat().replace("+00:00", "Z"),
                "webhookId": None if msg_id == "-" else msg_id,
                "status": status,
                "verified": verified,
                "error": error,
                "events": [{"eventName": e.event_name, "eventId": e.event_id} for e in events],
            }
            return [json.dumps(report)]
        clock = received_at.strftime("%H:%M:%S")
        if status != 202:
            what = "not verified" if status == 401 else "rejected"
            return [f"{clock}  {'-':<42} {msg_id}  {status} {what}: {error}"]
        verdict = "verified" if verified else "not checked (no secret given)"
        if not events:
            return [f"{clock}  {'(no events)':<42} {msg_id}  {verdict}"]
        return [f"{clock}  {e.event_name:<42} {e.event_id}  {verdict}" for e in events]


def _shown_path(request: web.Request) -> str:
    """The request's path as sent, printable: other characters become "?", at most 200 shown."""
    raw = request.rel_url.raw_path
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in raw)
    if len(shown) > _SHOWN_PATH_CHARS:
        return shown[:_SHOWN_PATH_CHARS] + "..."
    return shown


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _serve(server: CaptureServer, host: str, port: int) -> None:
    # Signal handlers first: a SIGTERM right after the start-up line must still stop cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        server.app(),
        handle_signals=False,
        access_log=None,
        # A request aiohttp cannot parse prints one line, as a refused request does.
        logger=server_logger(server.refused_early),
    )
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except socket.gaierror as exc:
            # An unknown --host fails in getaddrinfo with a reason that does not name the host.
            raise click.ClickException(f"cannot listen on {host!r}: {exc.strerror}") from exc
        url = f"http://{_display_host(host)}:{runner.addresses[0][1]}{server.path}"
        if server.as_json:
            server.echo(json.dumps({"listening": url}))
        else:
            server.echo(f"Listening on {url}  (Ctrl-C to stop)")
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def _describe_setup(
    receiver: Receiver | None, record: str | None, forward_to: str | None
) -> list[str]:
    lines = []
    if receiver is None:
        lines.append("No --secret, --signature-file or --basic-auth: requests are not checked.")
    if record is not None:
        lines.append(f"Recording every request to {record}")
    if forward_to is not None:
        lines.append(f"Forwarding accepted requests to {forward_to}")
    return lines


def _check_options(*, path: str, forward_to: str | None, forward_secret: str | None) -> None:
    """Refuse, as usage errors, the option combinations ``listen`` cannot serve."""
    if not path.startswith("/"):
        raise click.UsageError(f"--path must start with '/', like /webhooks (got {path!r})")
    if forward_secret is not None and forward_to is None:
        raise click.UsageError("--forward-secret needs --forward-to")


def _capture_server(
    *,
    receiver: Receiver | None,
    path: str,
    max_body: int,
    record: str | None,
    forward_to: str | None,
    forward_secret: str | None,
    as_json: bool,
) -> CaptureServer:
    """The server ``listen`` runs: forwarding credentials first, then the record file."""
    forward_auth = (
        build_request_auth(secret=forward_secret, signature_file=None, basic_auth=None)
        if forward_secret is not None
        else None
    )
    if record is not None:
        # Fail now, in one line, rather than on the first request; the file is owner-only.
        os.close(open_private(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT))
    recorder = Recorder(record) if record is not None else None
    return CaptureServer(
        receiver=receiver,
        path=path,
        max_body=max_body,
        recorder=recorder,
        forward_url=forward_to,
        forward_auth=forward_auth,
        as_json=as_json,
    )


def _run(server: CaptureServer, host: str, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the server's recorder."""
    try:
        asyncio.run(_serve(server, host, port))
    finally:
        if server.recorder is not None:
            server.recorder.close()


@click.command(short_help="Receive webhooks locally: verify, print, record, forward.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port (0: any free port; the start-up line says which).",
)
@click.option(
    "--path",
    default=DEFAULT_PATH,
    show_default=True,
    help="The path webhooks are posted to (others get 404, with a line saying so).",
)
@auth_options
@tolerance_option
@click.option("--record", type=click.Path(dir_okay=False), help="Append every request to FILE.")
@click.option("--forward-to", type=URL, help="Forward each accepted request to URL.")
@click.option(
    "--forward-secret",
    envvar="HOOKWIRE_FORWARD_SECRET",
    show_envvar=True,
    metavar="SECRET",
    help="Re-sign forwarded requests with this secret (fresh timestamp).",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BODY,
    show_default=True,
    help="The largest body accepted, in bytes (larger: 413).",
)
@json_option
def listen(
    *,
    host: str,
    port: int,
    path: str,
    secret: str | None,
    signature_file: str | None,
    basic_auth: tuple[str, str] | None,
    tolerance: float,
    record: str | None,
    forward_to: str | None,
    forward_secret: str | None,
    max_body: int,
    as_json: bool,
) -> None:
    """Receive webhooks locally: verify, print one line per event, record, forward.

    Answers exactly as the Flask listener does: 202 to authentic, well-formed
    envelopes (an event seen before counts as a duplicate), 401 when
    authentication fails, 400 for a malformed body, 413 for one that is too
    large, 415 for a content type other than JSON and 405 for anything but
    POST; any other path than --path (default /webhooks) gets 404. Every
    refused request prints one line saying why. --json prints one JSON object
    per request instead.
    Ctrl-C (or SIGTERM) stops it cleanly.

    \b
    Examples:
      hookwire listen --port 8000 --path /webhooks --secret "$S" --record requests.jsonl
      hookwire listen --signature-file signature.json \\
          --forward-to http://127.0.0.1:5000/webhooks --forward-secret "$APP_SECRET"
      hookwire trigger COURSE_COMPLETED --to http://127.0.0.1:8000/webhooks --secret "$S"
    """
    _check_options(path=path, forward_to=forward_to, forward_secret=forward_secret)
    receiver = build_receiver(
        secret=secret,
        signature_file=signature_file,
        basic_auth=basic_auth,
        tolerance=tolerance,
        required=False,
    )
    server = _capture_server(
        receiver=receiver,
        path=path,
        max_body=max_body,
        record=record,
        forward_to=forward_to,
        forward_secret=forward_secret,
        as_json=as_json,
    )
    if not as_json:
        for line in _describe_setup(receiver, record, forward_to):
            click.echo(line)
    _run(server, host, port)
    if not as_json:
        noun = "request" if server.handled == 1 else "requests"
        click.echo(f"Stopped after {server.handled} {noun}.")
