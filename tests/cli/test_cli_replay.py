"""hookwire replay: reading recordings and exports, filtering, re-signing, sending."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from live_process import LiveProcess, listener_url
from pytest_httpserver import HTTPServer

from hookwire import Receiver, RecordingError
from hookwire.recording import RecordedRequest, read_recording
from hookwire_cli.replay import ReplayFilter, load_requests

Cli = Callable[..., Result]
MakeRecording = Callable[..., Path]

NAMES = ["COURSE_ENROLLMENT", "COURSE_COMPLETED", "LEARNER_PROGRESS"]


def accept(httpserver: HTTPServer, status: int = 202) -> str:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=status)
    return httpserver.url_for("/hook")


def rejected_request(received_at: datetime) -> RecordedRequest:
    return RecordedRequest.from_request(
        method="POST", path="/webhooks", query="", headers={}, body=b'{"accountId":1,"events":[]}',
        received_at=received_at, verified=False, error="no signature", status=401,
    )  # fmt: skip


def probe_request(received_at: datetime) -> RecordedRequest:
    return RecordedRequest.from_request(
        method="GET", path="/webhooks", query="", headers={}, body=b"",
        received_at=received_at, status=405,
    )  # fmt: skip


def events_of(body: bytes) -> list[str]:
    return [event["eventName"] for event in json.loads(body)["events"]]


# --- reading and filtering -------------------------------------------------------------


def test_load_keeps_recorded_bodies_byte_for_byte(
    secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    loaded = load_requests(path)
    assert [r.body for r in loaded.requests] == [r.body for r in read_recording(path)]


def test_load_skips_requests_that_failed_authentication(
    secret: str, make_recording: MakeRecording
) -> None:
    now = datetime.now(UTC)
    path = make_recording(NAMES, secret=secret, extra=[rejected_request(now)])
    loaded = load_requests(path)
    assert (len(loaded.requests), loaded.skipped) == (3, 1)


def test_load_includes_rejected_requests_when_asked(
    secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret, extra=[rejected_request(datetime.now(UTC))])
    assert len(load_requests(path, ReplayFilter(include_rejected=True)).requests) == 4


def test_load_skips_requests_that_are_not_posts(secret: str, make_recording: MakeRecording) -> None:
    path = make_recording(NAMES, secret=secret, extra=[probe_request(datetime.now(UTC))])
    assert len(load_requests(path, ReplayFilter(include_rejected=True)).requests) == 3


def test_event_filter_keeps_requests_with_a_matching_event(
    secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    flt = ReplayFilter(event_names=frozenset({"LEARNER_PROGRESS", "COURSE_ENROLLMENT"}))
    loaded = load_requests(path, flt)
    assert [events_of(r.body) for r in loaded.requests] == [
        ["COURSE_ENROLLMENT"],
        ["LEARNER_PROGRESS"],
    ]


def test_id_filter_matches_an_event_id_or_a_webhook_id(
    secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    recorded = list(read_recording(path))
    event_id = json.loads(recorded[0].body)["events"][0]["eventId"]
    ids = frozenset({event_id, recorded[2].headers["webhook-id"]})
    loaded = load_requests(path, ReplayFilter(ids=ids))
    assert [r.body for r in loaded.requests] == [recorded[0].body, recorded[2].body]


def test_since_and_until_bound_the_receive_time(secret: str, make_recording: MakeRecording) -> None:
    old = datetime(2026, 11, 1, tzinfo=UTC)
    path = make_recording(["CI_STATS"], secret=secret, extra=[rejected_request(old)])
    flt = ReplayFilter(
        since=old - timedelta(hours=1), until=old + timedelta(hours=1), include_rejected=True
    )
    loaded = load_requests(path, flt)
    assert (len(loaded.requests), loaded.skipped) == (1, 1)
    assert events_of(loaded.requests[0].body) == []


def test_new_ids_give_every_event_a_fresh_event_id(
    secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    before = [json.loads(r.body)["events"][0] for r in read_recording(path)]
    after = [json.loads(r.body)["events"][0] for r in load_requests(path, new_ids=True).requests]
    assert all(a["eventId"] != b["eventId"] for a, b in zip(after, before, strict=True))
    assert [a["data"] for a in after] == [b["data"] for b in before]


def test_load_reads_json_lines_of_envelopes(tmp_path: Path, samples_dir: Path) -> None:
    envelopes = [
        json.loads((samples_dir / n).read_text())
        for n in ("enrollment-iso.json", "mixed-batch.json")
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in envelopes) + "\n")
    loaded = load_requests(path)
    assert [json.loads(r.body) for r in loaded.requests] == envelopes


def test_load_reads_a_json_array_of_envelopes(tmp_path: Path, samples_dir: Path) -> None:
    envelope = json.loads((samples_dir / "mixed-batch.json").read_text())
    path = tmp_path / "export.json"
    path.write_text(json.dumps([envelope, envelope], indent=2))
    assert len(load_requests(path).requests) == 2


def test_load_reads_one_pretty_printed_envelope(samples_dir: Path) -> None:
    loaded = load_requests(samples_dir / "usergroup-callback.json")
    assert events_of(loaded.requests[0].body) == ["RESPONSE:ASYNCAPI_USERGROUP_USER_ADDED"]


def test_load_refuses_a_file_that_is_none_of_the_forms(samples_dir: Path) -> None:
    with pytest.raises(RecordingError, match="not a recording"):
        load_requests(samples_dir / "bad-trailing-comma.json")


def test_load_names_the_bad_line_of_a_recording(secret: str, make_recording: MakeRecording) -> None:
    path = make_recording(NAMES, secret=secret)
    with path.open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(RecordingError) as caught:
        load_requests(path)
    assert caught.value.line == 4


def test_since_on_an_envelope_export_is_refused(samples_dir: Path) -> None:
    flt = ReplayFilter(since=datetime.now(UTC))
    with pytest.raises(RecordingError, match="--since and --until need a recording"):
        load_requests(samples_dir / "mixed-batch.json", flt)


# --- the command -----------------------------------------------------------------------


def test_replay_re_signs_with_fresh_ids_and_timestamps(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    path = make_recording(NAMES, secret=secret, received_at=long_ago)
    recorded_ids = {r.headers["webhook-id"] for r in read_recording(path)}
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret)
    assert result.exit_code == 0
    receiver = Receiver(secret=secret)
    sent = [request for request, _ in httpserver.log]
    for request in sent:
        receiver.authenticate(request.get_data(), request.headers)
    assert not recorded_ids & {request.headers["webhook-id"] for request in sent}
    assert sorted(events_of(r.get_data())[0] for r in sent) == sorted(NAMES)


def test_replay_prints_a_summary_table(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret)
    lines = result.stdout.splitlines()
    assert lines[1].startswith("Replayed 3 requests to ")
    assert [line.split() for line in lines[2:]] == [["sent", "3"], ["2xx", "3"], ["failures", "0"]]


def test_replay_exits_1_and_counts_other_statuses(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", accept(httpserver, 500), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["sent"], summary["ok"], summary["statuses"]) == (3, 0, {"500": 3})


def test_replay_exits_1_when_the_target_is_down(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", "http://127.0.0.1:9/", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == {
        "cannot connect to 127.0.0.1:9: connection refused": 3
    }


def test_dry_run_sends_nothing_and_lists_the_requests(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli(
        "replay", str(path), "--to", accept(httpserver), "--dry-run", "--event", "CI_STATS"
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("Dry run: would send 0 requests")
    assert httpserver.log == []


def test_dry_run_json_describes_each_request(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", "http://127.0.0.1:9/", "--dry-run", "--json")
    report = json.loads(result.stdout)
    assert report["count"] == 3
    assert [r["events"][0]["eventName"] for r in report["requests"]] == NAMES


def test_concurrency_1_keeps_the_recorded_order(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES * 3, secret=secret)
    cli("replay", str(path), "--to", accept(httpserver), "--concurrency", "1")
    assert [events_of(r.get_data())[0] for r, _ in httpserver.log] == NAMES * 3


def test_rate_spaces_the_requests(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES * 2, secret=secret)
    started = time.monotonic()
    cli("replay", str(path), "--to", accept(httpserver), "--rate", "20")
    assert time.monotonic() - started >= 5 / 20


def test_verbose_prints_one_line_per_request(
    cli: Cli, secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", accept(httpserver), "-v", "--concurrency", "1")
    assert [line.split()[0] for line in result.stdout.splitlines()[1:4]] == ["202"] * 3


def test_missing_recording_is_a_one_line_error(cli: Cli) -> None:
    result = cli("replay", "/nonexistent.jsonl", "--to", "http://127.0.0.1:9/")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1


def test_bad_since_is_a_one_line_usage_error(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    result = cli("replay", str(path), "--to", "http://127.0.0.1:9/", "--since", "tuesday")
    assert result.exit_code == 2
    assert "ISO-8601" in result.stderr


def test_record_with_listen_then_replay_to_another_listener(
    live: Callable[..., LiveProcess], secret: str, tmp_path: Path
) -> None:
    record = tmp_path / "requests.jsonl"
    first = live("listen", "--port", "0", "--secret", secret, "--record", str(record))
    url = listener_url(first)
    triggered = live("trigger", "COURSE_COMPLETED", "--to", url, "--secret", secret, "--count", "3")
    assert triggered.finish() == 0
    assert first.stop() == 0
    target_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    second = live("listen", "--port", "0", "--secret", target_secret, "--json")
    target = json.loads(second.wait_for('"listening"'))["listening"]
    replayed = live("replay", str(record), "--to", target, "--secret", target_secret, "--json")
    assert replayed.finish() == 0
    summary = json.loads("\n".join(replayed.lines))
    assert (summary["sent"], summary["ok"]) == (3, 3)
    assert second.stop() == 0
    reports = [json.loads(line) for line in second.lines[1:]]
    assert [(r["status"], r["verified"]) for r in reports] == [(202, True)] * 3


def test_replay_subprocess_exits_1_when_a_request_fails(
    live: Callable[..., LiveProcess], secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    listener = live("listen", "--port", "0", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    replayed = live("replay", str(path), "--to", listener_url(listener), "--secret", secret)
    assert replayed.finish() == 1
    assert any(line.split() == ["status", "401", "3"] for line in replayed.lines)


def test_replay_shows_a_progress_bar_on_a_terminal(
    secret: str, make_recording: MakeRecording, httpserver: HTTPServer
) -> None:
    path = make_recording(NAMES, secret=secret)
    controller, terminal = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "hookwire_cli", "replay", str(path), "--to", accept(httpserver)],
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=30,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while chunk := _read_available(controller):
            shown += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert completed.returncode == 0
    assert b"Replaying  [####################################]  100%" in shown


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:
        # Linux reports EIO once the terminal's other end is closed and drained.
        return b""


def test_an_empty_recording_replays_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    assert load_requests(path).requests == []


def test_a_bad_byte_in_an_envelope_export_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'{"accountId": 1, "events": []}\n{"accountId": 1, "events": ["\xff"]}\n')
    with pytest.raises(RecordingError) as caught:
        load_requests(path)
    assert caught.value.line == 2


# --- hostile recordings ----------------------------------------------------------------


def with_header(name: str, value: str) -> RecordedRequest:
    return RecordedRequest.from_request(
        method="POST", path="/webhooks", query="", headers={name: value},
        body=b'{"accountId":1,"events":[]}', received_at=datetime.now(UTC), verified=True,
        status=202,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("content-type", "application/json\r\nX-Evil: 1"),
        ("content-type", "application/json\nX-Evil: 1"),
        ("content-type", "application/json\x00X-Evil"),
        ("x-forwarded-for", "10.0.0.1\rX-Evil: 1"),
        ("x-evil\r\nx-more", "1"),
    ],
)
def test_replay_refuses_a_recorded_header_with_a_control_character_and_sends_nothing(
    name: str,
    value: str,
    cli: Cli,
    secret: str,
    make_recording: MakeRecording,
    httpserver: HTTPServer,
) -> None:
    path = make_recording(NAMES, secret=secret, extra=[with_header(name, value)])
    result = cli("replay", str(path), "--to", accept(httpserver), "--secret", secret)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: line 4: ")
    assert repr(name) in line
    assert "X-Evil" not in line
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("[" * 100_000, "line 1: nested too deeply to read as JSON"),
        ('{"accountId": 1, "events": ' + "[" * 100_000, "line 1: nested too deeply"),
        ('{"accountId": 1, "events": []}\n' + "[" * 100_000, "line 2: nested too deeply"),
    ],
)
def test_replay_of_a_deeply_nested_line_is_one_error_line(
    content: str, error: str, cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(content + "\n")
    result = cli("replay", str(path), "--to", "http://127.0.0.1:9/", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {error}")
    assert len(result.stderr.splitlines()) == 1


def test_replay_of_a_deeply_nested_recording_line_names_it(
    cli: Cli, secret: str, make_recording: MakeRecording
) -> None:
    path = make_recording(NAMES, secret=secret)
    with path.open("a") as handle:
        handle.write("[" * 100_000 + "\n")
    result = cli("replay", str(path), "--to", "http://127.0.0.1:9/", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr == "Error: line 4: nested too deeply to read as JSON\n"


def test_replay_of_a_json_array_over_the_limit_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hookwire_cli._replay_load.MAX_DOCUMENT_BYTES", 2**20)
    path = tmp_path / "export.json"
    envelope = {"accountId": 1, "events": [], "padding": "x" * 2**20}
    path.write_text(json.dumps([envelope], indent=2))
    with pytest.raises(RecordingError, match="is over 1 MiB, the most read as one JSON document"):
        load_requests(path)
