"""hookwire listen --forward-to: each forward's line sits right under its own request's line.

A real ``hookwire listen`` forwards to a local app that answers slowly, so
that several requests arrive while the first is still being forwarded.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from live_process import LiveProcess, listener_url
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from hookwire import sign_headers
from hookwire.samples import sample_envelope

Live = Callable[..., LiveProcess]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def slow_app(_: Request) -> Response:
    time.sleep(0.3)
    return Response("", status=202)


def test_each_forwarded_line_follows_its_own_received_line(
    live: Live, secret: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/app", method="POST").respond_with_handler(slow_app)
    forward_url = httpserver.url_for("/app")
    process = live("listen", "--port", "0", "--secret", secret, "--forward-to", forward_url)
    url = listener_url(process)
    event_ids = []
    for seed in range(3):
        envelope = sample_envelope(["COURSE_COMPLETED"], 1010, random.Random(seed))
        body = json.dumps(envelope).encode()
        headers = {"content-type": "application/json", **sign_headers(secret, body)}
        assert post(url, body, headers) == 202
        event_ids.append(envelope["events"][0]["eventId"])
        if seed == 0:
            # A refused request between accepted ones: its line, and no forward line.
            assert post(url, b"{}", {"content-type": "application/json"}) == 401
    # SIGTERM lets the forwarder finish its queue before the listener stops.
    assert process.stop() == 0
    start = next(i for i, line in enumerate(process.lines) if "Listening on " in line)
    printed = process.lines[start + 1 : -1]
    assert len(printed) == 7
    first, refused, second, third = printed[0:2], printed[2], printed[3:5], printed[5:7]
    assert "401 not verified" in refused
    for (received, forwarded), event_id in zip([first, second, third], event_ids, strict=True):
        assert event_id in received
        assert forwarded == f"          -> forwarded to {forward_url}: 202"
