"""hookwire listen: the default path, and one printed line for every refused request.

A real ``hookwire listen`` runs in a subprocess on 127.0.0.1; each test sends
real HTTP requests and reads what the listener printed between its start-up
line and its "Stopped after" line.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import pytest
from live_process import LiveProcess, listener_url

from hookwire import sign_headers
from hookwire.samples import sample_envelope

Live = Callable[..., LiveProcess]
OTHER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def send(
    url: str, body: bytes = b"", headers: Mapping[str, str] | None = None, method: str = "POST"
) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, parts.path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def envelope_body() -> tuple[bytes, str]:
    envelope = sample_envelope(["COURSE_COMPLETED"], 1010, random.Random(3))
    return json.dumps(envelope).encode(), envelope["events"][0]["eventId"]


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", **sign_headers(secret, body)}


def printed_for_requests(process: LiveProcess) -> list[str]:
    """Stop the listener; the lines it printed for requests (after start-up, before the end)."""
    assert process.stop() == 0
    start = next(i for i, line in enumerate(process.lines) if "Listening on " in line)
    assert process.lines[-1].startswith("Stopped after ")
    return process.lines[start + 1 : -1]


def test_listen_listens_on_webhooks_by_default(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    assert urlsplit(url).path == "/webhooks"
    body, event_id = envelope_body()
    assert send(url, body, signed(secret, body)) == 202
    (line,) = printed_for_requests(process)
    assert event_id in line
    assert line.endswith("verified")


def test_listen_still_takes_the_root_path_when_asked(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--path", "/")
    url = listener_url(process)
    assert urlsplit(url).path == "/"
    body, _ = envelope_body()
    assert send(url, body, signed(secret, body)) == 202


def test_a_request_off_the_path_gets_404_and_one_line_naming_the_path(
    live: Live, secret: str
) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    other = url.removesuffix("/webhooks") + "/foo"
    assert send(other, b"{}", {"content-type": "application/json"}) == 404
    (line,) = printed_for_requests(process)
    assert line.endswith("404 rejected: POST /foo: no listener here; this one listens on /webhooks")
    assert process.lines[-1] == "Stopped after 1 request."


def test_json_reports_a_request_off_the_path_as_one_object(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--json")
    url = json.loads(process.wait_for('"listening"'))["listening"]
    assert send(url.removesuffix("/webhooks") + "/", b"{}") == 404
    report = json.loads(process.wait_for('"status"'))
    assert report["status"] == 404
    assert report["error"] == "POST /: no listener here; this one listens on /webhooks"


def test_a_long_path_is_shown_cut_to_200_characters(live: Live, secret: str) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    url = listener_url(process)
    assert send(url.removesuffix("/webhooks") + "/" + "x" * 300, method="PUT") == 404
    (line,) = printed_for_requests(process)
    shown = "/" + "x" * 199 + "..."
    assert f"404 rejected: PUT {shown}: no listener here; this one listens on /webhooks" in line


def test_a_request_line_that_cannot_be_parsed_prints_one_line_not_a_traceback(
    live: Live, secret: str
) -> None:
    process = live("listen", "--port", "0", "--secret", secret)
    parts = urlsplit(listener_url(process))
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10) as raw:
        raw.sendall(b"POST /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.0 400 ")
    (line,) = printed_for_requests(process)
    assert line.endswith("400 rejected: the request could not be parsed: Invalid char in url path")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong method", "405 rejected: webhooks are delivered with POST"),
        ("wrong signature", "401 not verified: no signature matches"),
        ("bad payload", "400 rejected: the body is not JSON"),
        ("too large", "413 rejected: the body is over 100 bytes"),
        ("not json", "415 rejected: the content type must be application/json"),
    ],
)
def test_each_refused_request_prints_one_line_saying_why(
    live: Live, secret: str, case: str, expected: str
) -> None:
    process = live("listen", "--port", "0", "--secret", secret, "--max-body", "100")
    url = listener_url(process)
    small = b'{"accountId": 1, "events": [}'
    status = {
        "wrong method": lambda: send(url, method="GET"),
        "wrong signature": lambda: send(url, small, signed(OTHER_SECRET, small)),
        "bad payload": lambda: send(url, small, signed(secret, small)),
        "too large": lambda: send(url, envelope_body()[0], signed(secret, envelope_body()[0])),
        "not json": lambda: send(
            url, small, {**signed(secret, small), "content-type": "text/plain"}
        ),
    }[case]()
    assert status == int(expected[:3])
    (line,) = printed_for_requests(process)
    assert expected in line
    assert secret not in line
    assert OTHER_SECRET not in line
