"""The Flask listener behind a real HTTP server on 127.0.0.1, fed by hookwire, svix and Redis."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from served_app import Served
from svix.webhooks import Webhook

from hookwire import Event, Receiver, sign_headers
from hookwire.dedupe import RedisDedupe
from hookwire.flask import WebhookListener

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def envelope(*event_ids: str) -> bytes:
    events = [
        {
            "eventId": event_id,
            "eventName": "COURSE_ENROLLMENT",
            "timestamp": 1764349200,
            "data": {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"},
        }
        for event_id in event_ids
    ]
    return json.dumps({"accountId": 1010, "events": events}).encode()


@pytest.fixture
def handled() -> list[str]:
    return []


def make_app(handled: list[str], **options: Any) -> Flask:
    app = Flask("served")
    listener = WebhookListener(app, receiver=Receiver(secret=SECRET), max_body=64 * 1024, **options)
    listener.on("COURSE_ENROLLMENT")(lambda event: handled.append(event.event_id))
    return app


@pytest.fixture
def served(handled: list[str]) -> Iterator[Served]:
    server = Served(make_app(handled))
    yield server
    server.stop()


def test_request_signed_by_hookwire_is_handled(served: Served, handled: list[str]) -> None:
    body = envelope("e1")
    headers = {"Content-Type": "application/json", **sign_headers(SECRET, body)}
    assert served.post(body, headers) == (202, {"accepted": 1, "duplicates": 0})
    assert handled == ["e1"]


def test_request_signed_by_svix_is_handled(served: Served, handled: list[str]) -> None:
    body = envelope("e1")
    now = datetime.now(UTC)
    signature = Webhook(SECRET).sign("msg_svix1", now, body.decode())
    headers = {
        "Content-Type": "application/json",
        "svix-id": "msg_svix1",
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }
    assert served.post(body, headers)[0] == 202
    assert handled == ["e1"]


def test_content_length_over_the_cap_answers_413_before_the_body_is_sent(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        conn.putrequest("POST", "/webhooks")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(50 * 2**20))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
    finally:
        conn.close()


def test_chunked_body_over_the_cap_answers_413(served: Served) -> None:
    chunks = (b"x" * 8192 for _ in range(16))
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/webhooks",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def test_chunked_body_under_the_cap_is_accepted(served: Served) -> None:
    body = envelope("e1")
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", **sign_headers(SECRET, body)}
        conn.request("POST", "/webhooks", body=iter([body]), headers=headers, encode_chunked=True)
        assert conn.getresponse().status == 202
    finally:
        conn.close()


@pytest.mark.redis
def test_redis_dedupe_is_shared_by_two_app_instances(redis_url: str, handled: list[str]) -> None:
    first = Served(make_app(handled, dedupe=RedisDedupe(redis_url)))
    second = Served(make_app(handled, dedupe=RedisDedupe(redis_url)))
    try:
        body = envelope("e1")
        assert first.post(body, {"Content-Type": "application/json", **sign_headers(SECRET, body)})[
            1
        ] == {"accepted": 1, "duplicates": 0}
        again = second.post(
            body, {"Content-Type": "application/json", **sign_headers(SECRET, body)}
        )
        assert again[1] == {"accepted": 0, "duplicates": 1}
        assert handled == ["e1"]
    finally:
        first.stop()
        second.stop()


@pytest.mark.redis
def test_concurrent_duplicate_deliveries_are_handled_once(redis_url: str) -> None:
    handled: list[str] = []

    def slow_app() -> Flask:
        app = Flask("slow")
        listener = WebhookListener(
            app, receiver=Receiver(secret=SECRET), dedupe=RedisDedupe(redis_url)
        )

        @listener.on_any
        def slow(event: Event) -> None:
            time.sleep(0.3)
            handled.append(event.event_id)

        return app

    servers = [Served(slow_app()), Served(slow_app())]
    body = envelope("e1")
    headers = {"Content-Type": "application/json", **sign_headers(SECRET, body)}
    statuses: list[int] = []
    try:
        threads = [
            threading.Thread(target=lambda s=s: statuses.append(s.post(body, headers)[0]))
            for s in servers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for server in servers:
            server.stop()
    assert sorted(statuses) == [202, 503]
    assert handled == ["e1"]


def test_body_shorter_than_content_length_answers_400(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{}"
        )
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")


def gunicorn_app() -> Flask:
    """The app the gunicorn test serves (gunicorn imports this module to find it)."""
    return make_app([])


@pytest.fixture
def gunicorn_port(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
        "--chdir", str(Path(__file__).parent), "--log-level", "warning",
        "test_flask_server:gunicorn_app()",
    ]  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(command, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text())
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_under_gunicorn_signed_request_is_accepted_and_oversized_one_refused_unread(
    gunicorn_port: int,
) -> None:
    body = envelope("e1")
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", **sign_headers(SECRET, body)}
        conn.request("POST", "/webhooks", body=body, headers=headers)
        assert conn.getresponse().status == 202
    finally:
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=10)
    try:
        conn.putrequest("POST", "/webhooks")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(50 * 2**20))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
