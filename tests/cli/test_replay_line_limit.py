"""The per-line limit on reading recordings, as replay and verify meet it: a 100 MiB line.

Each command runs as a child process that reports its own peak memory (VmHWM
from /proc); a run over a small recording gives the baseline.
Without the limit, reading the 100 MiB line took several hundred MiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookwire import sign_headers
from hookwire.recording import MAX_LINE_BYTES, RecordedRequest

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HUGE_BYTES = 100 * 2**20
#: How far above the baseline a run may go: well under the 100 MiB line itself.
BOUND_KIB = 100 * 2**10
BODY = b'{"accountId": 1, "events": []}'


def recorded_line(body: bytes = BODY) -> str:
    """One recording line of a signed request, as the listener writes it."""
    moment = datetime.now(UTC)
    headers = sign_headers(SECRET, body, timestamp=int(moment.timestamp()))
    return RecordedRequest.from_request(
        method="POST", path="/webhooks", query="", headers=headers, body=body,
        received_at=moment, verified=True, status=202,
    ).to_json_line()  # fmt: skip


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording whose line 1 is a valid request with a 100 MiB body; line 2 is small."""
    path = tmp_path_factory.mktemp("huge") / "requests.jsonl"
    head, tail = recorded_line(b"BODY").split("BODY")
    with path.open("w") as handle:
        handle.write(head)
        for _ in range(HUGE_BYTES // 2**20):
            handle.write("a" * 2**20)
        handle.write(tail + "\n" + recorded_line() + "\n")
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> int:
    """The peak RSS in KiB of reading a small recording: the cost of starting hookwire."""
    path = tmp_path_factory.mktemp("small") / "requests.jsonl"
    path.write_text(recorded_line() + "\n" + recorded_line() + "\n")
    code, stderr, peak = run_measured("verify", "--recording", str(path), "--secret", SECRET)
    assert (code, stderr) == (0, "")
    return peak


# The child reports its own peak RSS (VmHWM) as it exits: a child's ru_maxrss can carry
# the parent's peak across fork and exec, which would measure the test process instead.
PROGRAM = """
import atexit, sys
def report():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(sys.argv[1], "w") as out:
        out.write(peak)
atexit.register(report)
from hookwire_cli.main import main
main(sys.argv[2:])
"""


def run_measured(*args: str) -> tuple[int, str, int]:
    """Run ``hookwire ARGS...`` as a child: (exit status, stderr, peak RSS in KiB)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read a process's peak memory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWIRE_")}
    with tempfile.NamedTemporaryFile("r") as peak:
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM, peak.name, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            timeout=60,
            check=False,
        )
        return done.returncode, done.stderr, int(peak.read())


def test_the_limit_is_under_the_line_and_over_the_listeners_body_limit() -> None:
    assert 8 * 2**20 <= MAX_LINE_BYTES < HUGE_BYTES


def test_replay_of_a_line_over_the_limit_is_one_error_line_in_bounded_memory(
    huge: Path, baseline: int
) -> None:
    code, stderr, peak = run_measured(
        "replay", str(huge), "--to", "http://127.0.0.1:9/", "--dry-run"
    )
    assert code == 1
    assert stderr == "Error: line 1: longer than 32 MiB, the most a line may hold\n"
    assert peak - baseline < BOUND_KIB


def test_verify_of_a_line_over_the_limit_is_one_error_line_in_bounded_memory(
    huge: Path, baseline: int
) -> None:
    code, stderr, peak = run_measured("verify", "--recording", str(huge), "--secret", SECRET)
    assert code == 1
    assert stderr == "Error: line 1: longer than 32 MiB, the most a line may hold\n"
    assert peak - baseline < BOUND_KIB


def test_verify_skips_a_line_over_the_limit_to_reach_the_next_in_bounded_memory(
    huge: Path, baseline: int
) -> None:
    code, stderr, peak = run_measured(
        "verify", "--recording", str(huge), "--line", "2", "--secret", SECRET
    )
    assert (code, stderr) == (0, "")
    assert peak - baseline < BOUND_KIB
