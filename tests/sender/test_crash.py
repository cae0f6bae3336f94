"""Crash tests: dispatchers in subprocesses, SIGKILL mid-run, takeover after the lease.

The dispatchers run ``dispatcher_proc.py`` (a 2 s lease, batches of 10, fast retries); the
events are published by this process into the same store; the sink is an
aiohttp server on 127.0.0.1 in this process that answers slowly (so a kill
lands mid-run), fails the first attempt of every seventh request with a 500,
and watches every (webhook, event) pair: when it first arrived with a 2xx, and
whether two requests carried it at the same time.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sender_support import COMPLETED

from hookwire.sender import Sender

PROC = Path(__file__).resolve().parent / "dispatcher_proc.py"
LEASE = 2.0
EVENTS = 300


@dataclass
class CrashSink:
    """Accepts requests slowly; records first receipts in order and concurrent duplicates."""

    delay: float = 0.02
    fail_every: int = 7
    url: str = ""
    first_receipts: dict[str, list[str]] = field(default_factory=dict)
    delivered: set[tuple[str, str]] = field(default_factory=set)
    in_flight: Counter[tuple[str, str]] = field(default_factory=Counter)
    overlaps: list[tuple[str, str]] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        """Note every (webhook, event) pair in flight, wait, then answer 500 or 202."""
        hook = request.match_info["hook"]
        pairs = [(hook, e["eventId"]) for e in json.loads(await request.read())["events"]]
        for pair in pairs:
            if self.in_flight[pair]:
                self.overlaps.append(pair)
            self.in_flight[pair] += 1
        try:
            await asyncio.sleep(self.delay)
            request_id = request.headers["webhook-id"]
            if request_id not in self.request_ids:
                self.request_ids.add(request_id)
                if len(self.request_ids) % self.fail_every == 0:
                    return web.Response(status=500, text="first attempts of some requests fail")
            for pair in pairs:
                if pair not in self.delivered:
                    self.delivered.add(pair)
                    self.first_receipts.setdefault(hook, []).append(pair[1])
            return web.Response(status=202)
        finally:
            for pair in pairs:
                self.in_flight[pair] -= 1


@dataclass
class CrashRun:
    """What one scenario left behind, for the tests to judge."""

    published: list[str]
    hooks: list[str]
    sink: CrashSink
    counts: dict[str, int]
    sent_by: list[int]
    sent_after_kill: int


class Dispatchers:
    """Dispatcher subprocesses on one store, each logging its attempts to a file of its own."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *, concurrency: int = 64) -> subprocess.Popen[bytes]:
        """Start one more dispatcher with at most ``concurrency`` requests in flight."""
        log = self.workdir / f"dispatcher-{len(self.processes)}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                str(PROC),
                self.url,
                "--log",
                str(log),
                "--lease",
                str(LEASE),
                "--concurrency",
                str(concurrency),
            ]
        )
        self.processes.append(process)
        return process

    def succeeded(self, index: int) -> int:
        """How many requests the ``index``-th dispatcher logged as succeeded."""
        log = self.workdir / f"dispatcher-{index}.log"
        if not log.exists():
            return 0
        # Only whole lines: a SIGKILL may cut the last one short.
        attempts = [json.loads(line) for line in log.read_text().split("\n")[:-1]]
        return sum(attempt["verdict"] == "succeeded" for attempt in attempts)

    def stop_all(self) -> None:
        """SIGTERM every live dispatcher and wait for it (SIGKILL after 10 s)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Poll ``condition`` (serving the sink meanwhile); fail the test after ``within`` s."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.02)


async def start_sink(sink: CrashSink) -> web.AppRunner:
    """Serve ``sink`` on a free port of 127.0.0.1 and set its URL."""
    app = web.Application()
    app.router.add_post("/hook/{hook}", sink.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink.url = f"http://127.0.0.1:{port}"
    return runner


async def crash_scenario(
    url: str, workdir: Path, *, webhooks: int, together: int, kill: bool
) -> CrashRun:
    """Publish, run ``together`` dispatchers, SIGKILL the first mid-run if ``kill`` (then
    start a fresh one when it ran alone), and wait until every pair arrived."""
    sink = CrashSink()
    runner = await start_sink(sink)
    sender = Sender(url, allow_private_targets=True, max_webhooks_per_account=webhooks)
    dispatchers = Dispatchers(url, workdir)
    try:
        hooks = [str(n) for n in range(webhooks)]
        for hook in hooks:
            sender.webhooks.create(
                name=f"crash {hook}",
                target_url=f"{sink.url}/hook/{hook}",
                events=["COURSE_COMPLETED"],
                auth="signature",
                account_id=1,
            )
        published = [
            sender.publish("COURSE_COMPLETED", data=COMPLETED, account_id=1).event_id
            for _ in range(EVENTS)
        ]
        total = EVENTS * webhooks
        # Split the webhooks between the dispatchers so that each one gets work.
        for _ in range(together):
            dispatchers.start(concurrency=max(1, webhooks // together))
        sent_before_kill = 0
        if kill:
            await wait_until(
                lambda: len(sink.delivered) >= total // 3, within=20, what="a third delivered"
            )
            victim = dispatchers.processes[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            assert len(sink.delivered) < total, "the kill came too late to prove anything"
            if together == 1:
                dispatchers.start()
            sent_before_kill = dispatchers.succeeded(1) if together > 1 else 0
        await wait_until(
            lambda: len(sink.delivered) == total, within=25, what="every delivery to arrive"
        )
        await wait_until(
            lambda: sender.deliveries.counts()["succeeded"] == total,
            within=10,
            what="the store to record every delivery",
        )
        dispatchers.stop_all()
        counts = sender.deliveries.counts()
        sent_by = [dispatchers.succeeded(n) for n in range(len(dispatchers.processes))]
    finally:
        dispatchers.stop_all()
        sender.close()
        await runner.cleanup()
    return CrashRun(
        published=published,
        hooks=hooks,
        sink=sink,
        counts=counts,
        sent_by=sent_by,
        sent_after_kill=sent_by[-1] - sent_before_kill,
    )


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def sqlite_crash(tmp_path_factory: pytest.TempPathFactory) -> CrashRun:
    """One dispatcher SIGKILLed mid-run on a SQLite file, then a fresh one takes over."""
    workdir = tmp_path_factory.mktemp("sqlite-crash")
    url = f"sqlite:///{workdir / 'hookwire.db'}"
    return asyncio.run(crash_scenario(url, workdir, webhooks=3, together=1, kill=True))


def test_sqlite_every_event_reaches_every_webhook_after_a_sigkill(sqlite_crash: CrashRun) -> None:
    for hook in sqlite_crash.hooks:
        assert sorted(sqlite_crash.sink.first_receipts[hook]) == sorted(sqlite_crash.published)


def test_sqlite_first_receipts_keep_publish_order_after_a_sigkill(sqlite_crash: CrashRun) -> None:
    for hook in sqlite_crash.hooks:
        assert sqlite_crash.sink.first_receipts[hook] == sqlite_crash.published


def test_sqlite_store_records_every_delivery_succeeded_after_takeover(
    sqlite_crash: CrashRun,
) -> None:
    total = EVENTS * len(sqlite_crash.hooks)
    assert sqlite_crash.counts == {"pending": 0, "succeeded": total, "failed": 0, "dead": 0}


def test_sqlite_new_dispatcher_delivers_what_the_killed_one_left(sqlite_crash: CrashRun) -> None:
    assert sqlite_crash.sent_after_kill > 0


# ----------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
async def test_postgres_two_dispatchers_together_deliver_every_event(
    postgres_url: str, tmp_path: Path
) -> None:
    run = await crash_scenario(postgres_url, tmp_path, webhooks=6, together=2, kill=False)
    assert all(n > 0 for n in run.sent_by), f"one dispatcher did nothing: {run.sent_by}"
    for hook in run.hooks:
        assert sorted(run.sink.first_receipts[hook]) == sorted(run.published)


@pytest.mark.postgres
async def test_postgres_two_dispatchers_never_send_one_delivery_at_once(
    postgres_url: str, tmp_path: Path
) -> None:
    run = await crash_scenario(postgres_url, tmp_path, webhooks=6, together=2, kill=False)
    assert run.sink.overlaps == []


@pytest.mark.postgres
async def test_postgres_survivor_delivers_every_event_after_the_other_is_sigkilled(
    postgres_url: str, tmp_path: Path
) -> None:
    run = await crash_scenario(postgres_url, tmp_path, webhooks=6, together=2, kill=True)
    assert run.sent_after_kill > 0
    for hook in run.hooks:
        assert sorted(run.sink.first_receipts[hook]) == sorted(run.published)


@pytest.mark.postgres
async def test_postgres_takeover_after_a_sigkill_never_overlaps_a_send(
    postgres_url: str, tmp_path: Path
) -> None:
    run = await crash_scenario(postgres_url, tmp_path, webhooks=6, together=2, kill=True)
    assert run.sink.overlaps == []
