"""Files holding secrets or recorded payloads are owner-only (0600), also when they existed before.

Every test runs under umask 022, the usual default, under which a plain ``open()``
creates a file everyone can read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookwire import generate_secret
from hookwire.files import open_private
from hookwire.recording import RecordedRequest, Recorder, read_recording
from hookwire.signature_file import SCHEME_HMAC, SignatureFile, read_signature_file
from hookwire_cli import listen as listen_module
from hookwire_cli.main import main


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """Run the test under umask 022; the previous umask comes back afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def readable_file(path: Path, content: str = "") -> Path:
    path.write_text(content)
    path.chmod(0o644)
    return path


def listen_once(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    """Run ``hookwire listen --record RECORD`` up to the point where it would serve."""

    async def no_serving(*_: object) -> None:
        return None

    monkeypatch.setattr(listen_module, "_serve", no_serving)
    monkeypatch.delenv("HOOKWIRE_SECRET", raising=False)
    result = CliRunner().invoke(main, ["listen", "--record", str(record)])
    assert result.exit_code == 0, result.output


def request() -> RecordedRequest:
    return RecordedRequest.from_request(
        method="POST",
        path="/webhooks",
        query="",
        headers={"content-type": "application/json"},
        body=b'{"accountId":1,"events":[]}',
        received_at=datetime.now(UTC),
        status=202,
    )


def test_listen_record_creates_an_owner_only_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record = tmp_path / "requests.jsonl"
    listen_once(monkeypatch, record)
    assert mode(record) == 0o600


def test_listen_record_narrows_an_existing_readable_file_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record = readable_file(tmp_path / "requests.jsonl", "earlier\n")
    listen_once(monkeypatch, record)
    assert mode(record) == 0o600
    assert record.read_text() == "earlier\n"


def test_signature_file_written_over_a_readable_file_is_owner_only(tmp_path: Path) -> None:
    path = readable_file(tmp_path / "signature.json", '{"old": true, "padding": "' + "x" * 200)
    original = SignatureFile("wh_1", SCHEME_HMAC, (generate_secret(),), datetime.now(UTC))
    original.write(path)
    assert mode(path) == 0o600
    assert read_signature_file(path).keys == original.keys


def test_recorder_appending_to_a_readable_recording_narrows_it(tmp_path: Path) -> None:
    path = readable_file(tmp_path / "requests.jsonl")
    with Recorder(path) as recorder:
        recorder.record(request())
    assert mode(path) == 0o600
    assert len(list(read_recording(path))) == 1


def test_recorder_file_started_after_rotation_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    with Recorder(path, max_bytes=1, backups=1) as recorder:
        recorder.record(request())
        recorder.record(request())
    assert mode(path) == 0o600
    assert mode(tmp_path / "requests.jsonl.1") == 0o600


def test_open_private_leaves_a_pipe_as_it_is(tmp_path: Path) -> None:
    # A --record target such as /dev/stdout is not the file's owner's to narrow.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o644)
    os.close(open_private(fifo, os.O_RDWR))
    assert mode(fifo) == 0o644
