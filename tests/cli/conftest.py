"""Fixtures for the command line tests: a CLI runner, live subprocesses, recordings."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from live_process import LiveProcess

from hookwire import generate_secret, sign_headers
from hookwire.recording import RecordedRequest, Recorder
from hookwire.samples import sample_envelope
from hookwire_cli.main import main


@pytest.fixture
def secret() -> str:
    """A fresh whsec_ secret."""
    return generate_secret()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``hookwire ARGS...`` in-process with click's CliRunner; stdout and stderr apart."""
    for name in ("HOOKWIRE_SECRET", "HOOKWIRE_SIGNATURE_FILE", "HOOKWIRE_BASIC_AUTH"):
        monkeypatch.delenv(name, raising=False)

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def live() -> Iterator[Callable[..., LiveProcess]]:
    """Start ``hookwire`` subprocesses; any still running at the end are killed."""
    started: list[LiveProcess] = []

    def start(*args: str) -> LiveProcess:
        process = LiveProcess(args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture
def make_recording(tmp_path: Path) -> Callable[..., Path]:
    """Write a recording of signed sample requests; returns its path.

    ``names`` gives one request per name; ``extra`` adds ready RecordedRequests.
    """

    def make(
        names: Sequence[str],
        *,
        secret: str,
        received_at: datetime | None = None,
        extra: Sequence[RecordedRequest] = (),
        filename: str = "recording.jsonl",
    ) -> Path:
        path = tmp_path / filename
        rng = random.Random(5)
        moment = received_at or datetime.now(UTC)
        with Recorder(path) as recorder:
            for name in names:
                body = json.dumps(sample_envelope([name], 1010, rng, timestamp=moment)).encode()
                headers = {
                    "content-type": "application/json",
                    "authorization": "Basic c2VjcmV0OnNlY3JldA==",
                    **sign_headers(secret, body, timestamp=int(moment.timestamp())),
                }
                recorder.record(
                    RecordedRequest.from_request(
                        method="POST",
                        path="/webhooks",
                        query="",
                        headers=headers,
                        body=body,
                        received_at=moment,
                        verified=True,
                        status=202,
                    )
                )
            for request in extra:
                recorder.record(request)
        return path

    return make


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite store URL in the test's own folder (created on first use)."""
    return f"sqlite:///{tmp_path / 'hookwire.db'}"


@pytest.fixture
def hw(
    cli: Callable[..., Result], db: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``hookwire ARGS...`` against the test's own store (``db``).

    HOOKWIRE_ALLOW_PRIVATE_TARGETS is cleared so that only --allow-private allows loopback targets.
    """
    monkeypatch.delenv("HOOKWIRE_ALLOW_PRIVATE_TARGETS", raising=False)

    def run(*args: str, input: str | None = None) -> Result:
        return cli(*args, input=input, env={"HOOKWIRE_DATABASE_URL": db})

    return run
