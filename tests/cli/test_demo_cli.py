"""hookwire demo: the whole loop, for real, in well under 20 seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hookwire_cli.demo import DEMO_EVENTS
from hookwire_cli.main import main

Cli = Callable[..., Result]


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """One demo run's JSON summary, shared by the tests that read it."""
    result = CliRunner().invoke(main, ["demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_demo_delivers_and_verifies_every_event(summary: dict[str, Any]) -> None:
    assert summary["ok"] is True
    assert summary["eventsPublished"] == len(DEMO_EVENTS)
    assert summary["verified"] == len(DEMO_EVENTS)
    assert summary["deliveries"]["succeeded"] == len(DEMO_EVENTS)


def test_demo_publishes_real_time_and_batch_events(summary: dict[str, Any]) -> None:
    assert summary["realtime"] > 0
    assert summary["batch"] > 0


def test_demo_retries_the_refused_request_once(summary: dict[str, Any]) -> None:
    assert summary["retries"] == 1
    assert summary["duplicates"] == 0
    assert summary["rejected"] == 0


def test_demo_batches_events_into_fewer_requests(summary: dict[str, Any]) -> None:
    assert summary["requests"] - summary["retries"] < summary["eventsPublished"]


def test_demo_text_shows_the_retry_the_table_and_the_verdict(cli: Cli) -> None:
    result = cli("demo")
    assert result.exit_code == 0
    assert "refused once on purpose" in result.stdout
    assert "the retry, same webhook-id" in result.stdout
    assert "the batch flush" in result.stdout
    assert result.stdout.count("succeeded") >= len(DEMO_EVENTS)
    assert f"All {len(DEMO_EVENTS)} events delivered and verified" in result.stdout


def test_demo_keep_leaves_a_store_the_other_commands_can_read(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kept store lands in the test's own folder, which pytest removes.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    summary = json.loads(cli("demo", "--keep", "--json").stdout)
    assert summary["database"].startswith(f"sqlite:///{tmp_path}{os.sep}hookwire-demo-")
    listed = json.loads(cli("deliveries", "list", "--db", summary["database"], "--json").stdout)
    assert {d["status"] for d in listed} == {"succeeded"}
    assert len(listed) == len(DEMO_EVENTS)


def test_demo_help_has_an_example(cli: Cli) -> None:
    assert "hookwire demo --json" in cli("demo", "--help").stdout


@pytest.mark.slow
def test_demo_as_a_process_exits_0_in_under_20_seconds() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hookwire_cli", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert elapsed < 20
    assert f"All {len(DEMO_EVENTS)} events delivered and verified" in done.stdout
    assert done.stderr == ""
