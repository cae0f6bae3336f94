"""hookwire demo --keep: the suggested command stays on one line, whatever the width.

The demo runs as a real process with its output piped and COLUMNS=40; TMPDIR
points into the test's own folder, so the kept store lands there and pytest
removes it with the folder. Nothing is deleted here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PREFIX = "The store is kept: hookwire deliveries list --db sqlite:///"


@pytest.mark.slow
def test_demo_keep_prints_its_suggested_command_on_one_line_in_a_narrow_pipe(
    tmp_path: Path,
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "COLUMNS": "40", "TMPDIR": str(temp)}
    done = subprocess.run(
        [sys.executable, "-m", "hookwire_cli", "demo", "--keep"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("The store is kept")]
    assert line.startswith(PREFIX)
    store = Path(line.removeprefix(PREFIX))
    assert store.name == "hookwire.db"
    assert store.parent.parent == temp
    assert store.parent.name.startswith("hookwire-demo-")
    assert store.is_file()
