"""The SQLite store holds secrets and passwords: hookwire creates it, and its -wal and
-shm files, readable by their owner only, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sender_support import COMPLETED

from hookwire.sender import BasicAuth, Sender


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_sqlite_store_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "hookwire.db"
    with Sender(f"sqlite:///{path}", allow_private_targets=True) as sender:
        sender.webhooks.create(
            name="x",
            target_url="http://127.0.0.1:9/hook",
            events=["COURSE_COMPLETED"],
            account_id=1,
            auth=BasicAuth("user", "pw-secret"),
        )
        sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1)
        files = {p.name: _mode(p) for p in tmp_path.iterdir()}
    assert files == {"hookwire.db": 0o600, "hookwire.db-wal": 0o600, "hookwire.db-shm": 0o600}


@pytest.mark.usefixtures("open_umask")
def test_an_existing_world_readable_store_is_kept_but_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "app.db"
    path.touch(mode=0o644)
    with caplog.at_level(logging.WARNING, logger="hookwire.sender"), Sender(f"sqlite:///{path}"):
        pass
    assert _mode(path) == 0o644
    assert f"the sender's database {path} can be read by other users (mode 0o644)" in caplog.text


def test_an_owner_only_store_opens_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "app.db"
    path.touch(mode=0o600)
    with caplog.at_level(logging.WARNING, logger="hookwire.sender"), Sender(f"sqlite:///{path}"):
        pass
    assert caplog.text == ""
