"""``hookwire replay`` says why each request it leaves out is skipped, counted by reason.

The recordings are real files in the test's folder, and the replays go to a
real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import Result
from pytest_httpserver import HTTPServer

from hookwire.recording import RecordedRequest

Cli = Callable[..., Result]
MakeRecording = Callable[..., Path]

NOT_POST = "not a POST (only POSTs are webhook deliveries)"
REJECTED = "rejected when recorded (--include-rejected sends them)"


def rejected(received_at: datetime) -> RecordedRequest:
    return RecordedRequest.from_request(
        method="POST", path="/webhooks", query="", headers={}, body=b'{"accountId":1,"events":[]}',
        received_at=received_at, verified=False, error="no signature", status=401,
    )  # fmt: skip


def probe(received_at: datetime, method: str = "GET") -> RecordedRequest:
    return RecordedRequest.from_request(
        method=method, path="/webhooks", query="", headers={}, body=b"",
        received_at=received_at, status=405,
    )  # fmt: skip


def accept(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=202)
    return httpserver.url_for("/hook")


def mixed_recording(make_recording: MakeRecording, secret: str) -> Path:
    """Two deliveries, plus a GET, a HEAD and a request rejected when recorded."""
    now = datetime.now(UTC)
    return make_recording(
        ["COURSE_COMPLETED", "LEARNER_PROGRESS"],
        secret=secret,
        extra=[probe(now), rejected(now), probe(now, "HEAD")],
    )


def test_replay_counts_the_skipped_requests_by_reason(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = mixed_recording(make_recording, secret)
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret)
    assert result.exit_code == 0, result.output
    assert f"; 3 skipped: 2 {NOT_POST}, 1 {REJECTED}\n" in result.stdout
    assert len(httpserver.log) == 2


def test_dry_run_says_why_requests_are_skipped(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = mixed_recording(make_recording, secret)
    result = cli(
        "replay", str(path), "--to", "http://127.0.0.1:9/", "--dry-run", "--secret", secret
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(f"3 skipped: 2 {NOT_POST}, 1 {REJECTED}")


def test_replay_names_the_filters_that_left_requests_out(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    old = make_recording(["CI_STATS"], secret=secret, received_at=long_ago, filename="old.jsonl")
    recent = make_recording(["COURSE_COMPLETED", "LEARNER_PROGRESS"], secret=secret)
    nowhere = "http://127.0.0.1:9/"
    by_time = cli(
        "replay", str(old), "--to", nowhere, "--since", "1h", "--dry-run", "--secret", secret
    )
    by_event = cli(
        "replay", str(recent), "--to", nowhere, "--event", "COURSE_COMPLETED",
        "--dry-run", "--secret", secret,
    )  # fmt: skip
    assert by_time.stdout.splitlines()[-1].endswith("1 skipped: 1 received outside --since/--until")
    assert by_event.stdout.splitlines()[-1].endswith("1 skipped: 1 matching no --event/--id")


def test_replay_json_gives_the_skipped_count_by_reason(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = mixed_recording(make_recording, secret)
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret, "--json")
    report = json.loads(result.stdout)
    assert report["skipped"] == 3
    assert report["skippedBy"] == {"notPost": 2, "rejected": 1}


def test_replay_with_nothing_skipped_says_0_skipped(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(["COURSE_COMPLETED"], secret=secret)
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret)
    assert result.exit_code == 0, result.output
    assert "; 0 skipped\n" in result.stdout
