"""The JSONL recording format: what is written, what is read back, rotation, and bad lines."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask

from hookwire import ConfigurationError, Receiver, RecordingError, sign_headers
from hookwire.flask import WebhookListener
from hookwire.recording import (
    FileFormat,
    RecordedRequest,
    Recorder,
    detect_format,
    read_json_lines,
    read_lines,
    read_recording,
    read_recording_line,
)

WHEN = datetime(2026, 11, 28, 17, 0, 0, 123456, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def make(body: bytes = b'{"a": 1}', **headers: str) -> RecordedRequest:
    return RecordedRequest.from_request(
        method="post",
        path="/webhooks",
        query="x=1",
        headers={"Content-Type": "application/json", **headers},
        body=body,
        received_at=WHEN,
        verified=True,
        status=202,
    )


def test_line_has_the_contract_fields() -> None:
    line = json.loads(make().to_json_line())
    assert line == {
        "version": 1,
        "receivedAt": "2026-11-28T17:00:00.123456Z",
        "method": "POST",
        "path": "/webhooks",
        "query": "x=1",
        "headers": {"content-type": "application/json"},
        "body": '{"a": 1}',
        "bodyEncoding": "utf-8",
        "verified": True,
        "error": None,
        "status": 202,
    }


def test_line_has_no_trailing_newline() -> None:
    assert "\n" not in make(body=b"a\nb").to_json_line()


@pytest.mark.parametrize("name", ["Authorization", "Cookie", "Proxy-Authorization"])
def test_credential_headers_are_redacted(name: str) -> None:
    request = make(**{name: "Basic dXNlcjpwYXNz"})
    assert request.headers[name.lower()] == "<redacted>"
    assert "dXNlcjpwYXNz" not in request.to_json_line()


def test_non_utf8_body_is_written_as_base64() -> None:
    line = json.loads(make(body=b"\xff\xfe{}").to_json_line())
    assert line["bodyEncoding"] == "base64"
    assert base64.b64decode(line["body"]) == b"\xff\xfe{}"


@pytest.mark.parametrize("body", [b'{"name": "\xc3\xa9t\xc3\xa9"}', b"\xff\x00raw", b""])
def test_line_reads_back_to_the_same_request(body: bytes) -> None:
    request = make(body=body)
    assert RecordedRequest.from_json_line(request.to_json_line()) == request


def test_received_at_is_converted_to_utc() -> None:
    local = datetime(2026, 11, 28, 18, 0, tzinfo=timezone(timedelta(hours=1)))
    request = RecordedRequest.from_request(
        method="POST", path="/", query="", headers={}, body=b"", received_at=local
    )
    assert request.received_at == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)


def test_naive_received_at_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        RecordedRequest.from_request(
            method="POST",
            path="/",
            query="",
            headers={},
            body=b"",
            received_at=datetime(2026, 1, 1),
        )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{nope", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"version": 2}', "unsupported version"),
        ('{"version": 1, "receivedAt": "2026-11-28T17:00:00Z"}', "missing field"),
    ],
)
def test_bad_line_raises_recording_error_with_line_number(line: str, reason: str) -> None:
    with pytest.raises(RecordingError, match=reason) as caught:
        RecordedRequest.from_json_line(line, line_no=7)
    assert caught.value.line == 7


def test_read_recording_streams_lines_and_skips_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(make().to_json_line() + "\n\n" + make(body=b"2").to_json_line() + "\n")
    assert [r.body for r in read_recording(path)] == [b'{"a": 1}', b"2"]


def test_read_recording_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(make().to_json_line() + "\n{broken\n")
    with pytest.raises(RecordingError) as caught:
        list(read_recording(path))
    assert caught.value.line == 2


def test_read_recording_of_missing_file_is_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open"):
        list(read_recording(tmp_path / "absent.jsonl"))


def test_recorder_appends_one_line_per_request(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with Recorder(path) as recorder:
        recorder.record(make())
        recorder.record(make(body=b"2"))
    assert len(path.read_text().splitlines()) == 2


def test_recorder_rotates_past_max_bytes_keeping_backups(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    line_size = len(make().to_json_line()) + 1
    with Recorder(path, max_bytes=line_size * 2, backups=2) as recorder:
        for _ in range(7):
            recorder.record(make())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.jsonl", "rec.jsonl.1", "rec.jsonl.2"]
    assert all(len(list(read_recording(p))) <= 2 for p in tmp_path.iterdir())


def test_recorder_lines_stay_whole_under_threads(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    big = make(body=b"x" * 100_000)
    with Recorder(path) as recorder:
        threads = [threading.Thread(target=recorder.record, args=(big,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [r.body for r in read_recording(path)] == [big.body] * 8


def test_two_recorders_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with Recorder(path) as first, Recorder(path) as second:
        first.record(make(body=b"1"))
        second.record(make(body=b"2"))
        first.record(make(body=b"3"))
    assert [r.body for r in read_recording(path)] == [b"1", b"2", b"3"]


def test_listener_records_accepted_and_rejected_requests(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    app = Flask("rec")
    WebhookListener(app, receiver=Receiver(secret=SECRET), recorder=Recorder(path))
    body = json.dumps({"accountId": 1, "events": []}).encode()
    client = app.test_client()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer topsecret"}
    client.post("/webhooks?x=1", data=body, headers={**headers, **sign_headers(SECRET, body)})
    client.post("/webhooks", data=body, headers=headers)
    good, bad = read_recording(path)
    assert (good.status, good.verified, good.error, good.body, good.query) == (
        202,
        True,
        None,
        body,
        "x=1",
    )
    assert good.headers["authorization"] == "<redacted>"
    assert good.headers["webhook-id"].startswith("msg_")
    assert (bad.status, bad.verified) == (401, False)
    assert bad.error is not None
    assert "topsecret" not in path.read_text()


# --- reading with a bound on each line ---------------------------------------------------


def test_a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    line = make().to_json_line()
    path = tmp_path / "rec.jsonl"
    path.write_text(f"{line}\n{line}")
    limit = len(line.encode())
    assert len(list(read_recording(path, max_line_bytes=limit))) == 2
    with pytest.raises(RecordingError, match=f"^line 1: longer than {limit - 1} bytes,") as caught:
        list(read_recording(path, max_line_bytes=limit - 1))
    assert caught.value.line == 1


def test_a_line_over_the_limit_is_refused_naming_it_and_the_limit(tmp_path: Path) -> None:
    good = make().to_json_line()
    path = tmp_path / "rec.jsonl"
    path.write_text(f"{good}\n{'x' * (3 * 2**20)}\n{good}\n")
    with pytest.raises(RecordingError) as caught:
        list(read_recording(path, max_line_bytes=2**20))
    assert str(caught.value) == "line 2: longer than 1 MiB, the most a line may hold"
    assert caught.value.line == 2


def peak_while(read: Callable[[], object]) -> int:
    """The most memory Python held while ``read`` ran, in bytes."""
    tracemalloc.start()
    try:
        with contextlib.suppress(RecordingError):
            read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_line_over_the_limit_is_never_held_whole(tmp_path: Path) -> None:
    limit = 4 * 2**20
    path = tmp_path / "rec.jsonl"
    with path.open("w") as handle:
        handle.write("x" * (10 * limit) + "\n" + make().to_json_line() + "\n")
    # Reading it holds at most about the limit; skipping it to reach line 2, far less.
    assert peak_while(lambda: list(read_lines(path, max_line_bytes=limit))) < 1.5 * limit
    assert peak_while(lambda: read_recording_line(path, 1, max_line_bytes=limit)) < 1.5 * limit
    assert peak_while(lambda: read_recording_line(path, 2, max_line_bytes=limit)) < limit / 4
    assert read_recording_line(path, 2, max_line_bytes=limit).body == b'{"a": 1}'


def test_read_recording_line_reads_one_line_and_names_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(make(body=b"1").to_json_line() + "\n\n" + make(body=b"3").to_json_line())
    assert read_recording_line(path, 3).body == b"3"
    with pytest.raises(RecordingError, match=r"line 2 of .* is blank"):
        read_recording_line(path, 2)
    with pytest.raises(RecordingError, match="has fewer than 4 lines"):
        read_recording_line(path, 4)


def test_read_json_lines_names_a_deeply_nested_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text('{"a": 1}\n' + "[" * 100_000 + "\n")
    with pytest.raises(RecordingError, match=r"^line 2: nested too deeply to read as JSON$"):
        list(read_json_lines(path))


@pytest.mark.parametrize("bad", ["\r\n", "\r", "\n", "\x00", "\x01", "\x1b", "\x7f"])
def test_a_recorded_header_value_with_a_control_character_is_refused_by_name(
    tmp_path: Path, bad: str
) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(
        make().to_json_line() + "\n" + make(**{"X-Sig": f"v1,s3cr3t{bad}X"}).to_json_line()
    )
    with pytest.raises(RecordingError) as caught:
        list(read_recording(path))
    assert caught.value.line == 2
    assert str(caught.value).startswith("line 2: header 'x-sig' holds a control character")
    assert "s3cr3t" not in str(caught.value)


def test_a_recorded_header_name_with_a_control_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(make(**{"x-a\r\nx-b": "1"}).to_json_line())
    with pytest.raises(RecordingError, match=r"^line 1: header name 'x-a\\r\\nx-b' holds a"):
        list(read_recording(path))


def test_a_tab_in_a_recorded_header_value_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(make(**{"user-agent": "a\tb"}).to_json_line())
    assert [r.headers["user-agent"] for r in read_recording(path)] == ["a\tb"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", FileFormat.EMPTY),
        ("\n  \n", FileFormat.EMPTY),
        (make().to_json_line() + "\n", FileFormat.RECORDING),
        (
            '\n{"accountId": 1, "events": []}\n{"accountId": 2, "events": []}\n',
            FileFormat.ENVELOPE_LINES,
        ),
        ('[{"accountId": 1, "events": []}]', FileFormat.DOCUMENT),
        ('{\n  "accountId": 1,\n  "events": []\n}\n', FileFormat.DOCUMENT),
        ("not json at all\n", FileFormat.DOCUMENT),
    ],
    ids=["empty", "blank", "recording", "envelope-lines", "array", "pretty-envelope", "not-json"],
)
def test_detect_format_tells_the_forms_apart(
    tmp_path: Path, text: str, expected: FileFormat
) -> None:
    path = tmp_path / "input.jsonl"
    path.write_text(text)
    assert detect_format(path) is expected


def test_detect_format_reads_only_the_first_line(tmp_path: Path) -> None:
    # The second line is over the limit: reading it would raise.
    path = tmp_path / "input.jsonl"
    path.write_bytes(make().to_json_line().encode() + b"\n" + b"x" * 1000 + b"\n")
    assert detect_format(path, max_line_bytes=500) is FileFormat.RECORDING


def test_detect_format_names_a_first_line_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "input.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(RecordingError, match="line 1: nested too deeply") as caught:
        detect_format(path)
    assert caught.value.line == 1


def test_detect_format_of_a_missing_file_is_a_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open recording"):
        detect_format(tmp_path / "missing.jsonl")
