"""The scaffold's documented gunicorn deployment keeps answering while clients trickle requests.

Each test scaffolds a project with ``hookwire init``, starts gunicorn in it with the
command its README gives (bound to a free port of 127.0.0.1) and plays slow clients
against it with raw sockets.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookwire import generate_secret, sign_headers
from hookwire.samples import sample_envelope
from hookwire_cli.init import TEMPLATE_PACKAGE
from hookwire_cli.main import main

# A README line that runs gunicorn, after any VAR=value assignments.
GUNICORN_LINE = re.compile(r"^(?:[A-Z_]+=\S*\s+)*(gunicorn\s.*)$")
# The sender gives up on an answer after this many seconds.
SENDER_READ_TIMEOUT = 5.0
TRICKLE_SECONDS = 0.5
# Under the listener's default 1 MiB limit, so the app waits for the whole body.
TRICKLED_LENGTH = 100_000
SLOW_HEADERS = (
    b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(TRICKLED_LENGTH).encode() + b"\r\n\r\n{"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh scaffold made by ``hookwire init``."""
    target = tmp_path / "listener"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def documented_command(project: Path, port: int) -> list[str]:
    """The README's gunicorn command, bound to 127.0.0.1:PORT instead of its public address."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    lines = [m.group(1) for line in readme.splitlines() if (m := GUNICORN_LINE.match(line))]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0])
    words[words.index("-b") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", *words]


@contextlib.contextmanager
def gunicorn(project: Path, command: list[str], secret: str) -> Iterator[int]:
    """Run ``command`` in ``project`` until it accepts connections; yields its port."""
    port = int(command[command.index("-b") + 1].rpartition(":")[2])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKWIRE_", "LISTENER_"))}
    # gunicorn's control socket goes under XDG_RUNTIME_DIR: keep it in the test's own folder.
    env.update(HOOKWIRE_SECRET=secret, XDG_RUNTIME_DIR=str(project))
    log_path = project / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
                    time.sleep(0.05)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


class Tricklers:
    """Clients that send their headers, then one body byte every TRICKLE_SECONDS (30 s at most)."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(SLOW_HEADERS)
            self.sockets.append(client)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        for _ in range(int(30 / TRICKLE_SECONDS)):
            if self._stop.wait(TRICKLE_SECONDS):
                return
            for client in self.sockets:
                with contextlib.suppress(OSError):
                    client.sendall(b" ")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for client in self.sockets:
            client.close()


def deliver(port: int, secret: str) -> tuple[int, float]:
    """Send one signed delivery as the sender does; its status and seconds to the answer."""
    envelope = sample_envelope(["COURSE_ENROLLMENT"], 1010, random.Random(3))
    body = json.dumps(envelope).encode()
    headers = {"Content-Type": "application/json", **sign_headers(secret, body)}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SENDER_READ_TIMEOUT)
    start = time.monotonic()
    try:
        conn.request("POST", "/webhooks", body=body, headers=headers)
        status = conn.getresponse().status
    except TimeoutError:
        pytest.fail(f"no answer within the sender's {SENDER_READ_TIMEOUT:g} s")
    finally:
        conn.close()
    return status, time.monotonic() - start


def test_init_copies_the_gunicorn_settings(project: Path) -> None:
    template = files(TEMPLATE_PACKAGE).joinpath("gunicorn.conf.py").read_text(encoding="utf-8")
    assert (project / "gunicorn.conf.py").read_text(encoding="utf-8") == template
    assert 'worker_class = "gthread"' in template


@pytest.mark.slow
def test_delivery_is_answered_at_once_while_three_clients_trickle_bodies(project: Path) -> None:
    secret = generate_secret()
    with gunicorn(project, documented_command(project, free_port()), secret) as port:
        tricklers = Tricklers(port, count=3)
        try:
            # Let the server take up every slow client before the delivery arrives.
            time.sleep(2 * TRICKLE_SECONDS)
            status, seconds = deliver(port, secret)
        finally:
            tricklers.close()
    assert status == 202
    assert seconds < 1.0


@pytest.mark.slow
def test_body_still_trickling_after_the_body_deadline_is_refused(project: Path) -> None:
    # The scaffold's own settings with a 1-second body deadline, so the test stays short.
    (project / "short.conf.py").write_text(
        'exec(open("gunicorn.conf.py").read())\nBODY_SECONDS = 1.0\n', encoding="utf-8"
    )
    command = documented_command(project, free_port())
    command[command.index("-c") + 1] = "short.conf.py"
    with gunicorn(project, command, generate_secret()) as port:
        client = socket.create_connection(("127.0.0.1", port), timeout=TRICKLE_SECONDS)
        try:
            client.sendall(SLOW_HEADERS)
            start, answer = time.monotonic(), b""
            for _ in range(int(5 / TRICKLE_SECONDS)):
                with contextlib.suppress(OSError):
                    client.sendall(b" ")
                with contextlib.suppress(TimeoutError):
                    answer = client.recv(4096)
                if answer:
                    break
            seconds = time.monotonic() - start
        finally:
            client.close()
    assert answer.startswith(b"HTTP/1.1 400")
    assert seconds < 3.0
