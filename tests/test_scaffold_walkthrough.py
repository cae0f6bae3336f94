"""The scaffold README's walkthrough works as written, across two terminals.

``hookwire init`` makes a project. The README's first terminal creates a fresh
virtual environment, installs hookwire into it with the command init printed
(this hookwire is an editable install, so that command installs this checkout),
installs the rest, runs the project's tests and starts the app. The README's
second terminal sends it a signed event. The two terminals share no environment
variable (no ``HOOKWIRE_*`` at all): only the files init wrote, the secret among
them. tests/test_init.py checks that init prints these same lines.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
# Creating the virtual environment and installing into it takes most of the time.
INSTALL_TIMEOUT = 480


def terminal_env() -> dict[str, str]:
    """A fresh terminal's environment: no HOOKWIRE_* or LISTENER_* setting, no active venv."""
    dev_bin = str(Path(sys.prefix) / "bin")
    path = [str(Path(sys.base_prefix) / "bin")] + [
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != dev_bin
    ]
    return {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("HOOKWIRE_", "LISTENER_")) and name != "VIRTUAL_ENV"
        },
        "PATH": os.pathsep.join(path),
    }


def readme_terminals(project: Path) -> tuple[list[str], list[str]]:
    """The command lines of the two ```sh blocks of the scaffold README's walkthrough."""
    text = (project / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Try it: two terminals\n", 1)[1].split("\n## ", 1)[0]
    first, second = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    return first.splitlines(), second.splitlines()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def bash(script: str, *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as one terminal session would, stopping at the first failing line."""
    return subprocess.run(
        ["bash", "-c", "set -e\n" + script],
        cwd=cwd,
        env=terminal_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def serving(command: str, *, cwd: Path, port: int, log: Path) -> Iterator[None]:
    """Run ``command`` in its own process group until it accepts connections on ``port``."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=terminal_env(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        pytest.fail(f"the app did not start:\n{log.read_text()}")
                    time.sleep(0.1)
            yield
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


@pytest.mark.timeout(INSTALL_TIMEOUT + 120)
def test_the_readme_walkthrough_delivers_an_event_across_two_terminals(tmp_path: Path) -> None:
    project = tmp_path / "my-listener"
    init = subprocess.run(
        [sys.executable, "-m", "hookwire_cli", "init", str(project)],
        cwd=tmp_path,
        env=terminal_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (install,) = [line.strip() for line in init.stdout.splitlines() if "pip install -e" in line]
    first, second = readme_terminals(project)
    (start,) = [line for line in first if line.startswith("flask ")]
    # The printed install line goes right after the virtual environment is activated.
    setup = [first[0], install, *first[1 : first.index(start)]]
    installed = bash("\n".join(setup), cwd=project, timeout=INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert " passed" in installed.stdout

    port = free_port()
    log = tmp_path / "app.log"
    run_app = f". .venv/bin/activate\nexec {start}".replace("8000", str(port))
    with serving(run_app, cwd=project, port=port, log=log):
        sent = bash("\n".join(second).replace("8000", str(port)), cwd=project, timeout=60)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        (line,) = sent.stdout.splitlines()
        status, event_name, event_id = line.split()[:3]
        assert (status, event_name) == ("202", "COURSE_ENROLLMENT")
        deadline = time.monotonic() + 10
        while f"event {event_id} COURSE_ENROLLMENT" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    with closing(sqlite3.connect(project / "listener.db")) as db:
        rows = db.execute("SELECT status FROM learner_records").fetchall()
    assert rows == [("enrolled",)]
