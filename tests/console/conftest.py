"""Fixtures for the console: a sender on a real database and a Flask app mounting the console.

``console`` runs on a SQLite file; ``console_on`` (parametrised) runs each test on
SQLite and on the real PostgreSQL. ``console.as_(principal)`` makes the host's
``authorize`` hook answer with that principal, so a test chooses who asks
(``console_support.admin(1010)``, ``console_support.operator()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import ConsoleHarness, build_harness


@pytest.fixture
def console(tmp_path: Path) -> Iterator[ConsoleHarness]:
    """The console on a SQLite file."""
    harness = build_harness(f"sqlite:///{tmp_path / 'hookwire.db'}")
    yield harness
    harness.sender.close()


@pytest.fixture(params=["sqlite", "postgres"])
def console_on(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConsoleHarness]:
    """The console on a SQLite file, then on the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hookwire.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    harness = build_harness(url)
    yield harness
    harness.sender.close()
