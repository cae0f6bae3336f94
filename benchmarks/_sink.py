"""A webhook sink for the benchmarks: an aiohttp server on 127.0.0.1, run as its own process.

Run ``python benchmarks/_sink.py`` (``--port``, default a free one); it prints
``PORT <n>`` on its first line of output once it listens, then serves:

- ``POST /<any path>``: answers 202 with an empty body and counts the request
  and its events (the occurrences of ``"eventId":`` in the body, so no JSON is
  parsed on the hot path);
- ``GET /stats``: ``{"requests", "events", "first", "last"}``, the counts since
  the last reset and the receipt times of the first and the last request;
- ``POST /reset`` (``?record=1`` to record): zeroes the counts; when recording,
  the first receipt time of every event id is kept;
- ``GET /receipts``: ``{eventId: time}`` of the recorded first receipts.

Times are ``time.monotonic()`` seconds. On Linux that is ``CLOCK_MONOTONIC``,
one clock for the whole machine, so a benchmark process may compare its own
``time.monotonic()`` readings (a publish) with the sink's (the receipt).

``import _sink`` and :func:`start_sink` start it from another benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web

_EVENT_KEY = b'"eventId":'


class Counts:
    """What the sink saw since the last reset."""

    def __init__(self) -> None:
        self.requests = 0
        self.events = 0
        self.first = 0.0
        self.last = 0.0
        self.record = False
        self.receipts: dict[str, float] = {}

    def reset(self, *, record: bool) -> None:
        """Forget everything; keep receipt times from now on if ``record``."""
        self.__init__()  # type: ignore[misc]
        self.record = record


def make_app() -> web.Application:
    """The sink's aiohttp application."""
    counts = Counts()

    async def receive(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        now = time.monotonic()
        if not counts.requests:
            counts.first = now
        counts.requests += 1
        counts.last = now
        counts.events += body.count(_EVENT_KEY)
        if counts.record:
            for event in json.loads(body).get("events", ()):
                counts.receipts.setdefault(event["eventId"], now)
        return web.Response(status=202)

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": counts.requests,
                "events": counts.events,
                "first": counts.first,
                "last": counts.last,
            }
        )

    async def reset(request: web.Request) -> web.Response:
        counts.reset(record=request.query.get("record") == "1")
        return web.json_response({"ok": True})

    async def receipts(_request: web.Request) -> web.Response:
        return web.json_response(counts.receipts)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_get("/stats", stats)
    app.router.add_get("/receipts", receipts)
    app.router.add_post("/reset", reset)
    app.router.add_post("/{tail:.*}", receive)
    return app


def start_sink(port: int = 0) -> tuple[subprocess.Popen[str], str]:
    """Start the sink as a child process; return it and its base URL (``http://127.0.0.1:n``)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the sink did not start (it printed {line!r})")
    return process, f"http://127.0.0.1:{int(line.split()[1])}"


async def _serve(port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {bound}", flush=True)
    await asyncio.Event().wait()  # serve until the process is terminated


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))
