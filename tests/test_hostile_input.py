"""Hostile input to the listening side: a real server fed malformed HTTP, and broken files.

The listener runs behind werkzeug's server on 127.0.0.1 and is spoken to over
raw sockets, so requests that ``http.client`` would refuse to build (bad
framing, non-UTF-8 header bytes, duplicate headers) reach it as sent. Every
answer must be the 2xx or 4xx that docs/listener.md promises, never a 500,
and nothing may be logged at ERROR or with a traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from hookwire import Receiver, sign_headers
from hookwire.dedupe import SqliteDedupe, dedupe_from_url
from hookwire.errors import ConfigurationError, RecordingError
from hookwire.flask import WebhookListener
from hookwire.recording import RecordedRequest, Recorder, read_recording

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The tables below are signed when the module is collected, which may be minutes before
# their tests run in a long suite; the listener allows that, since these tests are not
# about timestamps (those have tests of their own).
TABLE_TOLERANCE = 3600
CAP = 2**20  # the documented default: deep JSON must fit under it to reach the parser


def event(event_id: str = "e1") -> dict[str, Any]:
    data = {"userId": 7, "loId": "course:1", "loInstanceId": "course:1_1"}
    return {
        "eventId": event_id,
        "eventName": "COURSE_ENROLLMENT",
        "timestamp": 1764349200,
        "data": data,
    }


GOOD = json.dumps({"accountId": 1010, "events": [event()]}).encode()


@dataclass(frozen=True)
class Answer:
    """The parts of a raw HTTP answer the tests look at."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class RawServer:
    """The listener served on a free port of 127.0.0.1, spoken to over raw sockets."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def send(self, raw: bytes) -> Answer:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Answer(int(status_line.split()[1]), headers, body)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def request(
    body: bytes = b"",
    *,
    method: str = "POST",
    content_type: str | None = "application/json",
    content_length: str | None = "auto",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    """A raw HTTP/1.1 request, exactly as given (no header is checked or encoded)."""
    lines = [f"{method} /webhooks HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    if content_type is not None:
        lines.append(b"Content-Type: " + content_type.encode("latin-1"))
    if content_length == "auto":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    elif content_length is not None:
        lines.append(b"Content-Length: " + content_length.encode())
    lines += [name + b": " + value for name, value in headers or []]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def signed(body: bytes, **options: Any) -> bytes:
    extra = [(k.encode(), v.encode()) for k, v in sign_headers(SECRET, body).items()]
    return request(body, headers=extra + options.pop("headers", []), **options)


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


@pytest.fixture
def server() -> Iterator[RawServer]:
    app = Flask("hostile")
    receiver = Receiver(secret=SECRET, tolerance=TABLE_TOLERANCE)
    listener = WebhookListener(app, receiver=receiver, max_body=CAP)
    listener.on_any(lambda event: None)
    served = RawServer(app)
    yield served
    served.stop()


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Bad input leaves no ERROR line and no traceback in the log."""
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]


def with_data(replace: bytes, by: bytes) -> bytes:
    assert replace in GOOD
    return GOOD.replace(replace, by, 1)


DEEP = b"[" * 100_000 + b"]" * 100_000

# (id, raw request, expected status): each a request a careless or hostile client sends.
# Each request is built when its test runs, so its signature is fresh however long the
# run takes to reach it.
CASES: list[tuple[str, Callable[[], bytes], int]] = [
    ("content_length_not_a_number", partial(request, GOOD, content_length="abc"), 400),
    ("content_length_negative", partial(request, GOOD, content_length="-5"), 400),
    ("content_length_with_plus_sign", partial(request, GOOD, content_length=f"+{len(GOOD)}"), 400),
    ("content_length_huge", partial(request, GOOD, content_length="9" * 40), 413),
    (
        "content_length_longer_than_body",
        partial(request, GOOD[:10], content_length=str(len(GOOD))),
        400,
    ),
    (
        "chunked_body_over_the_cap",
        partial(
            request,
            chunked(*[b"x" * 65536] * 17),
            content_length=None,
            headers=[(b"Transfer-Encoding", b"chunked")],
        ),
        413,
    ),
    (
        "chunked_body_with_a_broken_chunk_header",
        partial(
            request,
            b"zz\r\nxx\r\n0\r\n\r\n",
            content_length=None,
            headers=[(b"Transfer-Encoding", b"chunked")],
        ),
        400,
    ),
    (
        "non_utf8_webhook_headers",
        partial(
            request,
            GOOD,
            headers=[
                (b"webhook-id", b"\xff\xfe"),
                (b"webhook-timestamp", b"\xe9"),
                (b"webhook-signature", b"v1,\xff"),
            ],
        ),
        401,
    ),
    ("duplicate_webhook_id", partial(signed, GOOD, headers=[(b"webhook-id", b"msg_other")]), 401),
    (
        "duplicate_webhook_signature",
        partial(signed, GOOD, headers=[(b"webhook-signature", b"v1,AAAA")]),
        401,
    ),
    (
        "duplicate_webhook_timestamp",
        partial(signed, GOOD, headers=[(b"webhook-timestamp", b"1")]),
        401,
    ),
    (
        "timestamp_of_5000_digits",
        partial(
            request,
            GOOD,
            headers=[
                (b"webhook-id", b"m"),
                (b"webhook-timestamp", b"9" * 5000),
                (b"webhook-signature", b"v1,AAAA"),
            ],
        ),
        401,
    ),
    (
        "signature_of_10000_padding_chars",
        partial(
            request,
            GOOD,
            headers=[
                (b"webhook-id", b"m"),
                (b"webhook-timestamp", str(int(time.time())).encode()),
                (b"webhook-signature", b"v1," + b"=" * 10000),
            ],
        ),
        401,
    ),
    (
        "basic_auth_header_of_non_utf8_bytes",
        partial(request, GOOD, headers=[(b"Authorization", b"Basic \xff\xff")]),
        401,
    ),
    ("empty_body_signed", partial(signed, b""), 400),
    ("empty_body_unsigned", partial(request, b""), 401),
    ("json_array", partial(signed, b"[1,2]"), 400),
    ("json_number", partial(signed, b"42"), 400),
    ("json_null", partial(signed, b"null"), 400),
    ("json_nested_100000_levels", partial(signed, DEEP), 400),
    (
        "json_nested_100000_levels_inside_data",
        partial(signed, with_data(b'"userId": 7', b'"userId": 7, "x": ' + DEEP)),
        400,
    ),
    (
        "number_of_6000_digits",
        partial(signed, with_data(b'"userId": 7', b'"userId": 7' + b"0" * 6000)),
        400,
    ),
    ("number_1e999", partial(signed, with_data(b'"userId": 7', b'"userId": 1e999')), 400),
    ("nan_for_a_typed_field", partial(signed, with_data(b'"userId": 7', b'"userId": NaN')), 400),
    (
        "infinity_timestamp",
        partial(signed, with_data(b'"timestamp": 1764349200', b'"timestamp": Infinity')),
        400,
    ),
    (
        "duplicate_keys_last_one_wrong",
        partial(signed, b'{"accountId": 1, "accountId": "x", "events": []}'),
        400,
    ),
    (
        "invalid_utf8_in_a_string",
        partial(signed, with_data(b'"course:1"', b'"course:\xff\xfe"')),
        400,
    ),
    ("lone_surrogate_escape_in_event_id", partial(signed, with_data(b'"e1"', b'"e\\udc00"')), 400),
    ("event_id_not_a_string", partial(signed, with_data(b'"e1"', b"5")), 400),
    ("utf8_bom_before_the_json", partial(signed, b"\xef\xbb\xbf" + GOOD), 400),
    ("utf16_body", partial(signed, GOOD.decode().encode("utf-16")), 400),
    ("content_type_missing", partial(signed, GOOD, content_type=None), 415),
    ("content_type_text_plain", partial(signed, GOOD, content_type="text/plain"), 415),
    ("content_type_empty", partial(signed, GOOD, content_type=""), 415),
    ("content_type_only_semicolons", partial(signed, GOOD, content_type=";;;"), 415),
    (
        "content_type_non_utf8_bytes",
        partial(signed, GOOD, content_type="application/\xffjson"),
        415,
    ),
    ("head", partial(request, method="HEAD"), 405),
    ("options", partial(request, method="OPTIONS"), 405),
    ("put", partial(request, GOOD, method="PUT"), 405),
    ("get", partial(request, method="GET"), 405),
]


@pytest.mark.parametrize(("build", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_request_gets_its_4xx_and_no_error_log(
    server: RawServer, caplog: pytest.LogCaptureFixture, build: Callable[[], bytes], status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = server.send(build())
    assert answer.status == status
    if answer.body:  # HEAD answers carry no body
        assert "error" in answer.json()
    assert_quiet(caplog)


ACCEPTED: list[tuple[str, bytes]] = [
    ("content_type_with_charset", signed(GOOD, content_type="application/json; charset=utf-8")),
    ("content_type_upper_case", signed(GOOD, content_type="APPLICATION/JSON")),
    ("content_type_vendor_json", signed(GOOD, content_type="application/vnd.x+json")),
    ("envelope_with_no_events", signed(b'{"accountId": 1010, "events": []}')),
    ("nul_escape_in_a_string", signed(with_data(b'"course:1"', b'"course:\\u0000"'))),
    ("event_id_of_60000_chars", signed(with_data(b'"e1"', b'"' + b"e" * 60000 + b'"'))),
    (
        "chunked_body_under_the_cap",
        request(
            chunked(GOOD[:20], GOOD[20:]),
            content_length=None,
            headers=[(b"Transfer-Encoding", b"chunked")]
            + [(k.encode(), v.encode()) for k, v in sign_headers(SECRET, GOOD).items()],
        ),
    ),
]


@pytest.mark.parametrize("raw", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_odd_but_valid_request_is_accepted(
    server: RawServer, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    assert server.send(raw).status == 202
    assert_quiet(caplog)


def test_rejection_is_one_warning_line(server: RawServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hookwire.flask")
    server.send(request(GOOD, content_length="-5"))
    warnings = [r for r in caplog.records if r.name == "hookwire.flask"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "\n" not in warnings[0].getMessage()


def test_broken_chunk_answer_says_the_body_could_not_be_read(server: RawServer) -> None:
    raw = request(
        b"zz\r\nxx\r\n0\r\n\r\n", content_length=None, headers=[(b"Transfer-Encoding", b"chunked")]
    )
    assert "could not be read" in server.send(raw).json()["error"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_method_other_than_post_is_told_to_use_post_in_json(server: RawServer, method: str) -> None:
    answer = server.send(request(GOOD, method=method))
    assert answer.headers["allow"] == "POST"
    assert answer.json() == {"error": "webhooks are delivered with POST"}


def test_unknown_method_is_still_405(server: RawServer) -> None:
    # Methods outside HTTP's standard set are refused by werkzeug's routing itself.
    assert server.send(request(method="PROPFIND")).status == 405


# Files: recordings and de-duplication databases that are damaged or not files at all.


def good_line() -> str:
    return RecordedRequest.from_request(
        method="POST",
        path="/webhooks",
        query="",
        headers={"content-type": "application/json"},
        body=GOOD,
        received_at=datetime.now(UTC),
        status=202,
    ).to_json_line()


def test_recording_with_a_truncated_last_line_names_that_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(good_line() + "\n" + good_line()[:40])
    with pytest.raises(RecordingError) as caught:
        list(read_recording(path))
    assert caught.value.line == 2


def test_recording_line_of_invalid_utf8_is_recording_error(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_bytes(b"\xff\xfe" + good_line().encode())
    with pytest.raises(RecordingError, match="not UTF-8"):
        list(read_recording(path))


def test_recording_line_nested_100000_levels_is_recording_error(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_bytes(DEEP + b"\n")
    with pytest.raises(RecordingError, match="nested too deeply"):
        list(read_recording(path))


def test_recording_line_of_20_mib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    huge = good_line()[:-1] + ',"extra":"' + "a" * (20 * 2**20) + '"}'
    path.write_text(huge + "\n")
    assert [r.body for r in read_recording(path)] == [GOOD]


def test_reading_a_directory_as_a_recording_is_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open recording"):
        list(read_recording(tmp_path))


def test_recording_to_a_directory_is_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open"):
        Recorder(tmp_path).record(RecordedRequest.from_json_line(good_line()))


def test_header_with_a_lone_surrogate_is_recorded_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    made = RecordedRequest.from_request(
        method="POST",
        path="/webhooks",
        query="",
        headers={"x-odd": "a\udcffb"},
        body=b"{}",
        received_at=datetime.now(UTC),
    )
    with Recorder(path) as recorder:
        recorder.record(made)
    assert [r.headers["x-odd"] for r in read_recording(path)] == ["a\udcffb"]


def test_sqlite_dedupe_on_a_corrupt_file_is_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "seen.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    with pytest.raises(ConfigurationError, match="cannot open the dedupe database"):
        SqliteDedupe(path)


def test_sqlite_dedupe_on_a_directory_is_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open the dedupe database"):
        SqliteDedupe(tmp_path)


def test_dedupe_url_that_is_not_a_string_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        dedupe_from_url(5)  # type: ignore[arg-type]


def test_redis_dedupe_url_with_a_bad_port_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot use the Redis URL"):
        dedupe_from_url("redis://127.0.0.1:notaport/0")


def test_every_hostile_request_is_recorded_as_a_readable_line(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    app = Flask("recorded")
    WebhookListener(app, receiver=Receiver(secret=SECRET), max_body=CAP, recorder=Recorder(path))
    served = RawServer(app)
    try:
        statuses = [served.send(build()).status for _, build, _ in CASES]
    finally:
        served.stop()
    assert [r.status for r in read_recording(path)] == statuses
