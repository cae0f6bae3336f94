"""The aiohttp adapter over :class:`hookwire.listening.ListeningCore`.

:func:`respond` reads a request as the core wants it and turns the core's
answer into an aiohttp response. ``hookwire listen`` and the demo's listener
both answer through it; :mod:`hookwire_cli.listen` re-exports all three names.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from hookwire.listening import Answer, BodyReader, ListeningCore

from ._common import one_line

__all__ = ["read_body", "respond", "to_response"]


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
