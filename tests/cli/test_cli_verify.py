"""hookwire verify: the verdict on a request from files, flags or a recording line."""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result

from hookwire import sign_headers
from hookwire_cli._common import header_lines

Cli = Callable[..., Result]


@pytest.fixture
def body(samples_dir: Path) -> Path:
    return samples_dir / "mixed-batch.json"


def headers_file(tmp_path: Path, secret: str, body: Path, timestamp: int | None = None) -> Path:
    path = tmp_path / "headers.txt"
    path.write_text(header_lines(sign_headers(secret, body.read_bytes(), timestamp=timestamp)))
    return path


def test_signed_request_is_verified_and_its_events_listed(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    headers = headers_file(tmp_path, secret, body)
    result = cli("verify", str(body), "--headers", str(headers), "--secret", secret)
    assert result.exit_code == 0
    assert result.stdout.startswith("verified (webhook-id msg_")
    assert "account 1234: 5 events" in result.stdout
    assert "ALTERNATE_COMPLETION_NOT_YET_NAMED" in result.stdout


def test_a_secret_shorter_than_hookwire_makes_verifies(
    cli: Cli, body: Path, tmp_path: Path
) -> None:
    # Another sender's 23-byte secret: hookwire signs only with 24 to 64, so sign here.
    raw = bytes(range(23))
    content = f"msg_short.{int(time.time())}.".encode() + body.read_bytes()
    signature = base64.b64encode(hmac.digest(raw, content, "sha256")).decode()
    timestamp = content.split(b".")[1].decode()
    headers = tmp_path / "headers.txt"
    headers.write_text(
        header_lines(
            {
                "webhook-id": "msg_short",
                "webhook-timestamp": timestamp,
                "webhook-signature": "v1," + signature,
            }
        )
    )
    secret = "whsec_" + base64.b64encode(raw).decode()
    result = cli("verify", str(body), "--headers", str(headers), "--secret", secret)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("verified (webhook-id msg_short")


def test_wrong_secret_is_not_verified_with_exit_1(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    headers = headers_file(tmp_path, secret, body)
    other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    result = cli("verify", str(body), "--headers", str(headers), "--secret", other)
    assert result.exit_code == 1
    assert result.stdout.startswith("not verified: no signature matches")


def test_old_timestamp_is_not_verified(cli: Cli, secret: str, body: Path, tmp_path: Path) -> None:
    headers = headers_file(tmp_path, secret, body, timestamp=int(time.time()) - 3600)
    result = cli("verify", str(body), "--headers", str(headers), "--secret", secret)
    assert result.exit_code == 1
    assert "too old" in result.stdout


def test_tolerance_option_widens_the_window(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    headers = headers_file(tmp_path, secret, body, timestamp=int(time.time()) - 3600)
    args = ("verify", str(body), "--headers", str(headers), "--secret", secret)
    assert cli(*args, "--tolerance", "7200").exit_code == 0


def test_headers_can_be_given_as_flags(cli: Cli, secret: str, body: Path) -> None:
    signed = sign_headers(secret, body.read_bytes())
    flags = [arg for name, value in signed.items() for arg in ("-H", f"{name}: {value}")]
    result = cli("verify", str(body), *flags, "--secret", secret)
    assert result.exit_code == 0


def test_headers_file_may_be_a_json_object(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    path = tmp_path / "headers.json"
    path.write_text(json.dumps(sign_headers(secret, body.read_bytes())))
    assert cli("verify", str(body), "--headers", str(path), "--secret", secret).exit_code == 0


def test_body_comes_from_stdin_when_left_out(cli: Cli, secret: str, body: Path) -> None:
    signed = sign_headers(secret, body.read_bytes())
    flags = [arg for name, value in signed.items() for arg in ("-H", f"{name}: {value}")]
    result = cli("verify", *flags, "--secret", secret, input=body.read_bytes())
    assert result.exit_code == 0


def test_json_report_carries_the_verdict_and_events(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    headers = headers_file(tmp_path, secret, body)
    result = cli("verify", str(body), "--headers", str(headers), "--secret", secret, "--json")
    report = json.loads(result.stdout)
    assert (report["verified"], report["valid"], report["error"]) == (True, True, None)
    assert [e["eventName"] for e in report["events"]][:2] == [
        "COURSE_COMPLETED",
        "LEARNER_PROGRESS",
    ]


def test_verified_but_malformed_body_exits_1(
    cli: Cli, secret: str, samples_dir: Path, tmp_path: Path
) -> None:
    bad = samples_dir / "bad-trailing-comma.json"
    headers = headers_file(tmp_path, secret, bad)
    result = cli("verify", str(bad), "--headers", str(headers), "--secret", secret, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert report["error"].startswith("the body is not a valid envelope: the body is not JSON")


def test_a_recording_line_verifies_at_the_time_it_was_received(
    cli: Cli, secret: str, make_recording: Callable[..., Path]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    path = make_recording(["CI_STATS", "COURSE_COMPLETED"], secret=secret, received_at=long_ago)
    result = cli("verify", "--recording", str(path), "--line", "2", "--secret", secret)
    assert result.exit_code == 0
    assert "COURSE_COMPLETED" in result.stdout


def test_a_recording_line_past_the_end_is_a_one_line_error(
    cli: Cli, secret: str, make_recording: Callable[..., Path]
) -> None:
    path = make_recording(["CI_STATS"], secret=secret)
    result = cli("verify", "--recording", str(path), "--line", "5", "--secret", secret)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path} has fewer than 5 lines\n"


def test_basic_auth_from_a_recording_explains_the_redaction(
    cli: Cli, secret: str, make_recording: Callable[..., Path]
) -> None:
    path = make_recording(["CI_STATS"], secret=secret)
    result = cli("verify", "--recording", str(path), "--basic-auth", "u:p")
    assert result.exit_code == 1
    assert "recordings redact the Authorization header" in result.stdout


def test_recording_with_a_body_argument_is_a_usage_error(
    cli: Cli, secret: str, body: Path, make_recording: Callable[..., Path]
) -> None:
    path = make_recording(["CI_STATS"], secret=secret)
    result = cli("verify", str(body), "--recording", str(path), "--secret", secret)
    assert result.exit_code == 2


def test_missing_body_file_is_a_one_line_error(cli: Cli, secret: str) -> None:
    result = cli("verify", "/nonexistent.json", "--secret", secret)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "No such file" in result.stderr


def test_bad_headers_line_is_a_one_line_error(
    cli: Cli, secret: str, body: Path, tmp_path: Path
) -> None:
    path = tmp_path / "headers.txt"
    path.write_text("webhook-id msg_1\n")
    result = cli("verify", str(body), "--headers", str(path), "--secret", secret)
    assert result.exit_code == 1
    assert result.stderr == "Error: line 1 of the headers is not 'name: value'\n"


def test_a_recording_line_nested_too_deeply_is_a_one_line_error(
    cli: Cli, secret: str, tmp_path: Path
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "\n")
    result = cli("verify", "--recording", str(path), "--secret", secret)
    assert result.exit_code == 1
    assert result.stderr == "Error: line 1: nested too deeply to read as JSON\n"


def test_a_recording_line_with_a_control_character_in_a_header_is_a_one_line_error(
    cli: Cli, secret: str, make_recording: Callable[..., Path]
) -> None:
    path = make_recording(["CI_STATS"], secret=secret)
    line = json.loads(path.read_text())
    line["headers"]["webhook-signature"] += "\r\nX-Evil: 1"
    path.write_text(json.dumps(line) + "\n")
    result = cli("verify", "--recording", str(path), "--secret", secret)
    assert result.exit_code == 1
    assert result.stdout == ""
    [error] = result.stderr.splitlines()
    assert error.startswith("Error: line 1: header 'webhook-signature' holds a control character")
    assert "v1," not in error
    assert "X-Evil" not in error
