"""The three listeners answer alike: the Flask extension, ``hookwire listen`` and the demo's.

Each case sends the same requests, over real HTTP on 127.0.0.1, to a fresh server of each
adapter; the answers (status, JSON body, WWW-Authenticate) must be identical, and the one
the documented table gives.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from flask import Flask
from werkzeug.serving import make_server

from hookwire import Receiver, sign_headers
from hookwire.flask import WebhookListener
from hookwire.signing import basic_auth_header
from hookwire_cli._demo_listener import DemoListener, start_listener
from hookwire_cli.listen import CaptureServer

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The tables below are signed when the module is collected, which may be minutes before
# their tests run in a long suite; the listener allows that, since these tests are not
# about timestamps (those have tests of their own).
TABLE_TOLERANCE = 3600
BASIC = ("hooks", "s3cret-pass")
MAX_BODY = 4096
PATH = "/webhooks"


def receiver() -> Receiver:
    return Receiver(secret=SECRET, basic_auth=BASIC, tolerance=TABLE_TOLERANCE)


def envelope(event_id: str = "e1", user_id: object = 7) -> bytes:
    data = {"userId": user_id, "loId": "course:1", "loInstanceId": "course:1_1"}
    event = {"eventId": event_id, "eventName": "COURSE_ENROLLMENT", "timestamp": 1764349200}
    return json.dumps({"accountId": 1010, "events": [{**event, "data": data}]}).encode()


@dataclass(frozen=True)
class Request:
    """One request exactly as sent; ``send_body=False`` sends only the headers."""

    method: str
    body: bytes
    headers: dict[str, str]
    send_body: bool = True


def authentic(body: bytes, **extra: str) -> Request:
    headers = {
        "Content-Type": "application/json",
        "Authorization": basic_auth_header(*BASIC),
        **sign_headers(SECRET, body),
        **extra,
    }
    return Request("POST", body, headers)


GOOD = authentic(envelope())
OVERSIZED = authentic(b" " * (MAX_BODY + 1))

# (case, the requests in order, the expected status of the last one's answer)
CASES: list[tuple[str, list[Request], int]] = [
    ("good request", [GOOD], 202),
    ("duplicate event", [GOOD, GOOD], 202),
    ("wrong method", [Request("GET", b"", GOOD.headers)], 405),
    ("put", [Request("PUT", GOOD.body, GOOD.headers)], 405),
    ("non-JSON content type", [authentic(envelope(), **{"Content-Type": "text/plain"})], 415),
    ("no content type", [Request("POST", GOOD.body, {"Authorization": "x"})], 415),
    ("oversized body", [Request("POST", OVERSIZED.body, OVERSIZED.headers, send_body=False)], 413),
    ("bad signature", [authentic(envelope(), **sign_headers("whsec_" + "A" * 32, GOOD.body))], 401),
    ("wrong password", [authentic(envelope(), Authorization=basic_auth_header("hooks", "x"))], 401),
    ("no credentials", [Request("POST", GOOD.body, {"Content-Type": "application/json"})], 401),
    ("malformed envelope", [authentic(envelope(user_id="x"))], 400),
    ("not JSON", [authentic(b"{nope")], 400),
    ("vendor JSON type", [authentic(envelope(), **{"Content-Type": "application/x+json"})], 202),
]


@dataclass(frozen=True)
class Reply:
    """What the test compares: status, JSON body and the basic auth challenge."""

    status: int
    body: Any
    challenge: str | None


def send(port: int, request: Request) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if request.send_body:
            conn.request(request.method, PATH, body=request.body, headers=request.headers)
        else:
            conn.putrequest(request.method, PATH)
            for name, value in request.headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(request.body)))
            conn.endheaders()
        response = conn.getresponse()
        assert response.getheader("Content-Type", "").startswith("application/json")
        return Reply(
            response.status, json.loads(response.read()), response.getheader("WWW-Authenticate")
        )
    finally:
        conn.close()


@contextmanager
def flask_server() -> Iterator[int]:
    app = Flask("adapters")
    WebhookListener(app, receiver=receiver(), path=PATH, max_body=MAX_BODY)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def _cancel_the_rest() -> None:
    """End the tasks aiohttp leaves behind (idle connections), so none is destroyed pending."""
    rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


@contextmanager
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        yield loop
    finally:
        run(loop, _cancel_the_rest())
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def run(loop: asyncio.AbstractEventLoop, coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(10)


@contextmanager
def listen_server() -> Iterator[int]:
    server = CaptureServer(receiver=receiver(), path=PATH, max_body=MAX_BODY, echo=lambda _: None)

    async def start() -> web.AppRunner:
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner

    with event_loop() as loop:
        runner = run(loop, start())
        try:
            yield runner.addresses[0][1]
        finally:
            run(loop, runner.cleanup())


@contextmanager
def demo_server() -> Iterator[int]:
    listener = DemoListener(started=time.monotonic(), refuse_first=False, max_body=MAX_BODY)
    listener.verify_with(receiver())
    with event_loop() as loop:
        runner, url = run(loop, start_listener(listener))
        try:
            yield int(url.rsplit(":", 1)[1].split("/", 1)[0])
        finally:
            run(loop, runner.cleanup())


ADAPTERS: dict[str, Callable[[], Any]] = {
    "flask": flask_server,
    "listen": listen_server,
    "demo": demo_server,
}


@pytest.mark.parametrize(
    ("requests", "status"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_every_adapter_answers_the_same_requests_alike(
    requests: list[Request], status: int
) -> None:
    replies: dict[str, list[Reply]] = {}
    for name, serve in ADAPTERS.items():
        with serve() as port:
            replies[name] = [send(port, request) for request in requests]
    assert replies["listen"] == replies["flask"]
    assert replies["demo"] == replies["flask"]
    last = replies["flask"][-1]
    assert last.status == status
    if status == 202:
        duplicate = len(requests) > 1
        assert last.body == {"accepted": int(not duplicate), "duplicates": int(duplicate)}
    else:
        assert last.body["error"]
    expected = 'Basic realm="webhooks", charset="UTF-8"' if status == 401 else None
    assert last.challenge == expected
