"""A ``hookwire`` subprocess whose output can be waited for line by line."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence


class LiveProcess:
    """A ``hookwire`` subprocess whose output lines are collected as they come."""

    def __init__(self, args: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hookwire_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 10) -> str:
        """Return the first line (seen or coming) containing ``needle``."""
        for line in self.lines:
            if needle in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {needle!r} in {self.lines!r}")
            try:
                got = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if got is None:
                raise AssertionError(f"the process ended without {needle!r}: {self.lines!r}")
            self.lines.append(got)
            if needle in got:
                return got

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM the process and return its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.finish(timeout)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end by itself; collect its last lines; return its status."""
        code = self.process.wait(timeout)
        self._pump_thread.join(5)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code

    def close(self) -> None:
        """Kill the process if it still runs and release its pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._pump_thread.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()


def listener_url(process: LiveProcess) -> str:
    """The URL a ``hookwire listen`` process printed at start."""
    line = process.wait_for("Listening on ")
    return line.split("Listening on ", 1)[1].split()[0]
