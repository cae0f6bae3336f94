"""Fixtures for the sender tests: a real HTTP sink on 127.0.0.1, a clock, and senders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sender_support import TEST_RETRY, FakeClock, Sink

from hookwire.sender import Sender
from hookwire.sender.store import Store


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/hook", sink.handle)
    app.router.add_post("/elsewhere", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink.url = f"http://127.0.0.1:{port}/hook"
    yield sink
    await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hookwire.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store-level test runs on a SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hookwire.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_sender(clock: FakeClock, sqlite_url: str) -> Iterator[Callable[..., Sender]]:
    """Build senders on the test's database (SQLite unless url= is given), allowing 127.0.0.1."""
    made: list[Sender] = []

    def make(url: str | None = None, **options: Any) -> Sender:
        options.setdefault("clock", clock)
        options.setdefault("retry", TEST_RETRY)
        options.setdefault("allow_private_targets", True)
        options.setdefault("connect_timeout", 2)
        options.setdefault("read_timeout", 2)
        options.setdefault("lease_seconds", 30)
        sender = Sender(url or sqlite_url, **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()


@pytest.fixture
def sender(make_sender: Callable[..., Sender]) -> Sender:
    return make_sender()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A store of its own on the test's database: what a second dispatcher sees."""
    opened = Store(store_url)
    yield opened
    opened.close()
