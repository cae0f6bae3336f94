"""The aiohttp adapter over :class:`hookwire.listening.ListeningCore`.

:func:`respond` reads a request as the core wants it and turns the core's
answer into an aiohttp response. ``hookwire listen`` and the demo's listener
both answer through it; :mod:`hookwire_cli.listen` re-exports all three names.
:func:`server_logger` turns what aiohttp refuses before any handler runs (a
request line it cannot parse) into one printed line instead of a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from hookwire.listening import Answer, BodyReader, ListeningCore

from ._common import one_line

__all__ = ["read_body", "respond", "server_logger", "to_response"]


async def read_body(core: ListeningCore, request: web.Request) -> bytes | BodyReader:
    """The request's body as ``core.handle`` takes it, read only if the core would read it.

    At most ``max_body + 1`` bytes are read: enough for the core to tell that a
    body is too large. A body that cannot be read becomes a reader that says why.
    """
    if not core.reads_body(request.method, request.headers):
        return b""
    wanted = core.max_body + 1
    parts: list[bytes] = []
    size = 0
    try:
        while size < wanted and (chunk := await request.content.read(wanted - size)):
            parts.append(chunk)
            size += len(chunk)
    except (OSError, ValueError, HttpProcessingError) as exc:
        reason = one_line(str(exc)) or type(exc).__name__

        def unreadable(_limit: int, _declared: int | None) -> bytes:
            raise OSError(reason)

        return unreadable
    return b"".join(parts)


def to_response(answer: Answer) -> web.Response:
    """The core's answer as an aiohttp response."""
    response = web.Response(
        body=answer.content,
        status=answer.status,
        headers=answer.headers,
        content_type="application/json",
    )
    if answer.close_connection:
        response.force_close()
    return response


async def respond(core: ListeningCore, request: web.Request) -> tuple[Answer, web.Response]:
    """Answer ``request`` through ``core``: the core's answer, and the response to send."""
    body = await read_body(core, request)
    answer = core.handle(
        request.method, request.headers, body, path=request.path, query=request.query_string
    )
    return answer, to_response(answer)


Refused = Callable[[int, str], None]
"""Reports a request refused before any handler ran: its status and the one-line reason."""


class _OneLineHandler(logging.Handler):
    """Passes each of aiohttp's server errors on as one status and one-line reason."""

    def __init__(self, refused: Refused) -> None:
        super().__init__()
        self.refused = refused

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            lines = [line for line in str(exc.message).splitlines() if line.strip()]
            reason = lines[0].strip().rstrip(":") if lines else type(exc).__name__
            self.refused(exc.code, f"the request could not be parsed: {one_line(reason)}")
            return
        reason = one_line(str(exc)) if exc is not None else ""
        message = one_line(record.getMessage()).rstrip(".")
        self.refused(500, f"{message}: {reason}" if reason else message)


def server_logger(refused: Refused) -> logging.Logger:
    """A logger for aiohttp's server that reports each error once, through ``refused``."""
    logger = logging.getLogger(f"{__name__}.server.{id(refused)}")
    logger.propagate = False
    logger.handlers = [_OneLineHandler(refused)]
    logger.setLevel(logging.WARNING)
    return logger
