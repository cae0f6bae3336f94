"""``hookwire verify --recording`` refuses a line that is not a POST, saying what it is.

A listener records every request it gets, health checks and probes too; those
are not webhook deliveries and carry no signature, so there is nothing to
verify. The recordings are real files in the test's folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from click.testing import Result

from hookwire.recording import RecordedRequest

Cli = Callable[..., Result]
MakeRecording = Callable[..., Path]


def probe(method: str) -> RecordedRequest:
    return RecordedRequest.from_request(
        method=method, path="/webhooks", query="", headers={"accept": "*/*"}, body=b"",
        received_at=datetime.now(UTC), status=405,
    )  # fmt: skip


def test_verify_of_a_recorded_get_says_it_is_not_a_webhook_delivery(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(["COURSE_COMPLETED"], secret=secret, extra=[probe("GET")])
    result = cli("verify", "--recording", str(path), "--line", "2", "--secret", secret)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: line 2 of {path} is a GET request, not a webhook delivery "
        "(deliveries are POSTs): there is no signature to verify\n"
    )


def test_verify_of_a_recorded_get_is_refused_with_json_too(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording([], secret=secret, extra=[probe("HEAD")])
    result = cli("verify", "--recording", str(path), "--secret", secret, "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "is a HEAD request, not a webhook delivery" in result.stderr
    assert "webhook-id" not in result.stderr


def test_verify_of_a_recorded_method_that_is_no_word_shows_it_quoted(
    cli: Cli, secret: str, tmp_path: Path
) -> None:
    line = {
        "version": 1, "receivedAt": "2026-11-28T17:00:00Z", "method": "GET\x1b[2J",
        "path": "/", "query": "", "headers": {}, "body": "",
    }  # fmt: skip
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(line) + "\n")
    result = cli("verify", "--recording", str(path), "--secret", secret)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert "is a 'GET\\x1b[2J' request" in result.stderr


def test_verify_of_the_recorded_post_next_to_a_get_still_verifies(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(["COURSE_COMPLETED"], secret=secret, extra=[probe("GET")])
    result = cli("verify", "--recording", str(path), "--line", "1", "--secret", secret)
    assert result.exit_code == 0, result.output
    assert "COURSE_COMPLETED" in result.stdout
